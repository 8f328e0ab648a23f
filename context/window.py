"""The cursor's own file, cut to a token budget: whole lines nearest the cursor win."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

CountTokens = Callable[[str], int]

MAX_CHARS_PER_TOKEN = 8
"""A text longer than its token budget times this is taken as over budget, not tokenized
whole: code tokenizers average 2-4 characters a token (a long run of one letter reaches 8),
and tokenizing a huge file or line on every request costs seconds. The cursor's own line
is clipped to this length before it is cut to fit; text that averages more characters a
token only gets a shorter window."""


@dataclass(frozen=True)
class Window:
    """The part of the file that goes into the prompt."""

    prefix: str
    suffix: str
    prefix_tokens: int
    suffix_tokens: int
    start_line: int = 0
    """Line of the file where the prefix part starts: pass it back as the next `anchor`."""


def fit_window(prefix: str, suffix: str, budget: int, suffix_share: float,
               count_tokens: CountTokens, anchor: int | None = None,
               refill: float = 0.85, typing_suffix: int | None = None) -> Window:
    """Keep the lines nearest the cursor: the suffix up to its share, the prefix with the rest.

    Cuts fall on line boundaries except inside the cursor's own line, which is cut by
    characters only when it alone is over budget. The result never exceeds `budget`
    tokens as counted by `count_tokens` on each part.

    For the KV cache, the prefix should start where it started on the last keystroke:
    `anchor` (that start line) is kept while the text from it still fits; a new start fills
    only `refill` of the prefix budget, leaving room to type before it must move again.
    Requests typed on from this one keep at most `typing_suffix` tokens of suffix, and their
    prefix gets the rest: where that leaves the room, a new start fills the whole prefix
    budget, as a plain client's prompt does.
    """
    budget = max(0, budget)
    suffix_text, suffix_tokens = _fit(suffix.split("\n"), int(budget * suffix_share),
                                      count_tokens, from_end=False)
    prefix_budget = budget - suffix_tokens
    lines = prefix.split("\n")
    if anchor is not None and 0 <= anchor < len(lines):
        kept = "\n".join(lines[anchor:])
        tokens = _count_within(kept, prefix_budget, count_tokens)
        if prefix_budget * refill / 2 <= tokens <= prefix_budget or \
                (anchor == 0 and tokens <= prefix_budget):
            return Window(kept, suffix_text, tokens, suffix_tokens, anchor)
    whole = _count_within(prefix, prefix_budget, count_tokens)
    # The prefix budget of a request typed on from this one: never less than this one's.
    typed_on = prefix_budget if typing_suffix is None else \
        budget - min(suffix_tokens, max(0, typing_suffix))
    target = prefix_budget if whole <= prefix_budget else \
        min(prefix_budget, int(typed_on * refill))
    prefix_text, prefix_tokens = _fit(lines, target, count_tokens, from_end=True)
    start = len(lines) - prefix_text.count("\n") - 1
    return Window(prefix_text, suffix_text, prefix_tokens, suffix_tokens, start)


def _fit(lines: list[str], budget: int, count_tokens: CountTokens, *,
         from_end: bool) -> tuple[str, int]:
    """Join the lines nearest the cursor that fit, checked with an exact count."""
    kept = _take_lines(lines, budget, count_tokens, from_end=from_end)
    text = "\n".join(kept)
    tokens = count_tokens(text)
    # Per-line counts can undercount where lines join; drop the farthest line until it fits.
    while tokens > budget:
        if len(kept) > 1:
            kept = kept[1:] if from_end else kept[:-1]
        else:
            kept = [cut_chars(text, budget, count_tokens, keep_end=from_end)]
        text = "\n".join(kept)
        tokens = count_tokens(text)
    return text, tokens


def _take_lines(lines: list[str], budget: int, count_tokens: CountTokens, *,
                from_end: bool) -> list[str]:
    """Lines nearest the cursor that fit `budget`; the cursor's line may be cut by chars."""
    ordered = list(reversed(lines)) if from_end else lines
    kept: list[str] = []
    used = 0
    for index, line in enumerate(ordered):
        if index == 0 and len(line) > budget * MAX_CHARS_PER_TOKEN:
            line = _clip(line, budget * MAX_CHARS_PER_TOKEN, keep_end=from_end)
        cost = _count_within(line if index == 0 else line + "\n", budget, count_tokens)
        if used + cost > budget:
            if index == 0:
                kept.append(cut_chars(line, budget, count_tokens, keep_end=from_end))
            break
        kept.append(line)
        used += cost
    return list(reversed(kept)) if from_end else kept


def _count_within(text: str, budget: int, count_tokens: CountTokens) -> int:
    """The tokens of `text`; more than `budget`, uncounted, when it is too long to fit."""
    if len(text) > budget * MAX_CHARS_PER_TOKEN:
        return budget + 1
    return count_tokens(text)


def _clip(line: str, size: int, *, keep_end: bool) -> str:
    return line[len(line) - size:] if keep_end else line[:size]


def cut_chars(line: str, budget: int, count_tokens: CountTokens, *, keep_end: bool) -> str:
    """The longest end (or start) of `line` that fits `budget`, by binary search."""
    low, high = 0, len(line)
    while low < high:
        mid = (low + high + 1) // 2
        piece = line[len(line) - mid:] if keep_end else line[:mid]
        if count_tokens(piece) <= budget:
            low = mid
        else:
            high = mid - 1
    return line[len(line) - low:] if keep_end else line[:low]
