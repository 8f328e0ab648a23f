"""Find a SEARCH text in a file: exactly, then up to whitespace, then fuzzily when unique.

Each stage works on whole lines. A stage that finds the text in two places does not fall
through to a looser one: the answer is ambiguous, and the error says where it matched.
When nothing matches, the error shows the file's lines most like the SEARCH text.
"""

from __future__ import annotations

from dataclasses import dataclass
from difflib import SequenceMatcher

from lspilot.edits.style import indent_of, space_unit
from lspilot.edits.task import EditError

FUZZY_THRESHOLD = 0.9
"""Least similarity (difflib ratio, whitespace collapsed) of a fuzzy match."""
SHOWN_LINES = 8
"""Most lines of the file a "did you mean" message shows."""


@dataclass(frozen=True)
class Match:
    """Where the SEARCH lines are: file lines `[start, end)`, and how they were found."""

    start: int
    end: int
    stage: str
    """`exact`, `whitespace` or `fuzzy`."""


def _key(line: str) -> str:
    return " ".join(line.split())


def find(lines: list[str], search: list[str], label: str) -> Match:
    """Where `search` (lines, no terminators) is in `lines`; raises EditError naming `label`."""
    n = len(search)
    exact = [i for i in range(len(lines) - n + 1) if lines[i:i + n] == search]
    if len(exact) == 1:
        return Match(exact[0], exact[0] + n, "exact")
    if exact:
        raise _ambiguous(label, [(i, i + n) for i in exact], "")

    # Whitespace: compare non-blank lines with whitespace collapsed, blank lines ignored.
    wanted = [_key(line) for line in search if line.strip()]
    if not wanted:
        raise EditError(f"{label}: the SEARCH part has only blank lines")
    nonblank = [i for i, line in enumerate(lines) if line.strip()]
    keys = [_key(lines[i]) for i in nonblank]
    k = len(wanted)
    spans = [(nonblank[i], nonblank[i + k - 1] + 1) for i in range(len(keys) - k + 1)
             if keys[i:i + k] == wanted]
    if len(spans) == 1:
        return Match(spans[0][0], spans[0][1], "whitespace")
    if spans:
        raise _ambiguous(label, spans, " (ignoring whitespace)")

    # Fuzzy: windows of as many lines as the SEARCH part, one more or one fewer.
    target = "\n".join(wanted)
    scored: list[tuple[float, int, int]] = []
    top = -1.0
    for size in sorted({max(1, k - 1), k, k + 1}):
        for i in range(len(keys) - size + 1):
            matcher = SequenceMatcher(None, "\n".join(keys[i:i + size]), target, autojunk=False)
            # Skip what can be neither a match nor the closest text: bounds first, as
            # difflib's ratio is quadratic.
            if any(bound < FUZZY_THRESHOLD and bound <= top
                   for bound in (matcher.real_quick_ratio(), matcher.quick_ratio())):
                continue
            ratio = matcher.ratio()
            top = max(top, ratio)
            scored.append((ratio, nonblank[i], nonblank[i + size - 1] + 1))
    scored.sort(key=lambda s: (-s[0], s[1], s[2]))
    best = scored[0] if scored else None
    if best is not None and best[0] >= FUZZY_THRESHOLD:
        # Windows overlapping the best one are the same place, shifted; any other is a rival.
        rivals = [s for s in scored if s[0] >= FUZZY_THRESHOLD and
                  (s[2] <= best[1] or s[1] >= best[2])]
        if not rivals:
            return Match(best[1], best[2], "fuzzy")
        raise _ambiguous(label, [(best[1], best[2]), *[(s[1], s[2]) for s in rivals]],
                         " (approximately)")
    closest = ""
    if best is not None:
        start, end = best[1], min(best[2], best[1] + SHOWN_LINES)
        shown = "\n".join(f"{i + 1:>5}| {lines[i]}" for i in range(start, end))
        where = f"line {start + 1}" if best[2] == start + 1 else f"lines {start + 1}-{best[2]}"
        closest = f"; did you mean {where} ({best[0]:.0%} alike):\n{shown}"
    raise EditError(f"{label}: the SEARCH text is not in the file{closest}")


def _ambiguous(label: str, spans: list[tuple[int, int]], how: str) -> EditError:
    places = ", ".join(f"{a + 1}" if b == a + 1 else f"{a + 1}-{b}" for a, b in spans[:5])
    return EditError(f"{label}: the SEARCH text matches {len(spans)} places{how} "
                     f"(lines {places}); include more lines to pick one")


def reindent(replace: list[str], search: list[str], found: list[str]) -> list[str]:
    """REPLACE lines moved to the indentation of the lines found, when SEARCH had another."""
    first_search = next((line for line in search if line.strip()), None)
    first_found = next((line for line in found if line.strip()), None)
    if first_search is None or first_found is None:
        return replace
    tabsize = space_unit(search + replace)
    base_search = len(indent_of(first_search).expandtabs(tabsize))
    base_found = indent_of(first_found)
    if len(base_found.expandtabs(tabsize)) == base_search and \
            indent_of(first_search) == base_found:
        return replace
    out = []
    for line in replace:
        if not line.strip():
            out.append(line)
            continue
        extra = max(0, len(indent_of(line).expandtabs(tabsize)) - base_search)
        tabs, spaces = divmod(extra, tabsize) if "\t" in base_found else (0, extra)
        out.append(base_found + "\t" * tabs + " " * spaces + line.lstrip(" \t"))
    return out
