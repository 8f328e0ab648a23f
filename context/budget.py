"""Fit scored snippets into a token budget: one pure, deterministic function."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from lspilot.context.snippet import VOLATILITY, Snippet

CountTokens = Callable[[str], int]

MAX_CHARS_PER_TOKEN = 24
"""Code tokenizes at 3-4 characters a token, and even runs of spaces or `=` rarely pack more
than this into one, so `len(text) // 24` bounds a count from below: a snippet over budget
even by that bound is skipped without calling the tokenizer. Where the bound is wrong, a
snippet that would have fit is skipped; the budget holds either way."""


def fit(snippets: Iterable[Snippet], budget: int, count_tokens: CountTokens) -> list[Snippet]:
    """The most valuable snippets that fit `budget` tokens, in prompt order.

    Value decides what goes in: score (highest first), then path and line, so that ties are
    broken the same way every time; a snippet that does not fit is skipped and smaller ones
    after it may still go in. A snippet inside another from the same file that went in
    first is dropped. Prompt order then puts stable sources before volatile ones (see
    `VOLATILITY`), and within a source orders by path and line, never by score, so that a
    score that moves a little does not reorder the prompt. A snippet holding others already
    chosen from the same file (a whole definition, after its header) takes their place when
    the difference fits. The same code (file, line, text) found twice counts once, at its
    most valuable.

    Each snippet costs `count_tokens` of its path and text on their own lines, which is what
    a repo-level prompt spends on it.
    """
    # Every field is in the key, so that the order, and which of two snippets with the same
    # code is kept (the more valuable), never depends on the order they came in.
    ranked = _unique(sorted(snippets, key=lambda s: (-s.score, s.path, s.start_line,
                                                     s.source, s.text, s.reason)))
    chosen: list[tuple[Snippet, int]] = []
    used = 0
    for snippet in ranked:
        if not snippet.text.strip() or any(_covers(kept, snippet) for kept, _ in chosen):
            continue
        inside = [(kept, c) for kept, c in chosen if _covers(snippet, kept)]
        freed = sum(c for _, c in inside)
        head = f"{snippet.path}\n{snippet.text}\n"
        if used - freed + len(head) // MAX_CHARS_PER_TOKEN > budget:
            continue  # cannot fit whatever its exact count: skip the tokenizer
        cost = count_tokens(head)
        # A wider snippet (a whole definition) replaces the narrower ones it holds (its
        # header) when the difference fits.
        if used - freed + cost <= budget:
            chosen = [(kept, c) for kept, c in chosen if (kept, c) not in inside]
            chosen.append((snippet, cost))
            used += cost - freed
    return sorted((s for s, _ in chosen),
                  key=lambda s: (VOLATILITY[s.source], s.path, s.start_line))


def _unique(snippets: Iterable[Snippet]) -> list[Snippet]:
    seen: set[tuple[str, int, str]] = set()
    unique = []
    for snippet in snippets:
        key = (snippet.path, snippet.start_line, snippet.text)
        if key not in seen:
            seen.add(key)
            unique.append(snippet)
    return unique


def _covers(outer: Snippet, inner: Snippet) -> bool:
    """Whether `outer` already shows all the lines of `inner`."""
    return (outer.path == inner.path and outer.start_line <= inner.start_line
            and inner.end_line <= outer.end_line)
