"""Fit scored snippets into a token budget: one pure, deterministic function."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from lspilot.context.snippet import VOLATILITY, Snippet

CountTokens = Callable[[str], int]


def fit(snippets: Iterable[Snippet], budget: int, count_tokens: CountTokens) -> list[Snippet]:
    """The most valuable snippets that fit `budget` tokens, in prompt order.

    Value decides what goes in: score (highest first), then path and line, so that ties are
    broken the same way every time; a snippet that does not fit is skipped and smaller ones
    after it may still go in. A snippet inside another from the same file that went in
    first is dropped. Prompt order then puts stable sources before volatile ones (see
    `VOLATILITY`), and within a source orders by path and line, never by score, so that a
    score that moves a little does not reorder the prompt. A snippet holding others already
    chosen from the same file (a whole definition, after its header) takes their place when
    the difference fits.

    Each snippet costs `count_tokens` of its path and text on their own lines, which is what
    a repo-level prompt spends on it.
    """
    ranked = sorted(_unique(snippets), key=lambda s: (-s.score, s.path, s.start_line,
                                                      s.source, s.text))
    chosen: list[tuple[Snippet, int]] = []
    used = 0
    for snippet in ranked:
        if not snippet.text.strip() or any(_covers(kept, snippet) for kept, _ in chosen):
            continue
        cost = count_tokens(f"{snippet.path}\n{snippet.text}\n")
        # A wider snippet (a whole definition) replaces the narrower ones it holds (its
        # header) when the difference fits.
        inside = [(kept, c) for kept, c in chosen if _covers(snippet, kept)]
        freed = sum(c for _, c in inside)
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
