"""LSP positions <-> offsets in a Python string, for utf-8, utf-16 and utf-32 encodings.

LSP lines end at "\n", "\r\n" or "\r"; a `character` past the end of its line means the
line's end (the spec's rule), and a line past the end of the text means the text's end.
Positions are never mutated and never raise: a bad position lands on the nearest valid one.
"""

from __future__ import annotations

import re
from bisect import bisect_right

_EOL = re.compile(r"\r\n|\r|\n")


def line_starts(text: str) -> list[int]:
    """Offset of the first character of each line."""
    return [0, *(m.end() for m in _EOL.finditer(text))]


def _line_bounds(text: str, starts: list[int], line: int) -> tuple[int, int]:
    start = starts[line]
    end = starts[line + 1] if line + 1 < len(starts) else len(text)
    while end > start and text[end - 1] in "\r\n":
        end -= 1
    return start, end


def _units(char: str, encoding: str) -> int:
    code = ord(char)
    if encoding == "utf-8":
        return 1 if code < 0x80 else 2 if code < 0x800 else 3 if code < 0x10000 else 4
    if encoding == "utf-16":
        return 2 if code > 0xFFFF else 1
    return 1


def offset_at(text: str, line: int, character: int, encoding: str = "utf-16",
              starts: list[int] | None = None) -> int:
    """The code-point offset of an LSP position."""
    starts = starts if starts is not None else line_starts(text)
    if line < 0:
        return 0
    if line >= len(starts):
        return len(text)
    start, end = _line_bounds(text, starts, line)
    if encoding == "utf-32":
        return min(start + max(character, 0), end)
    used = 0
    for index in range(start, end):
        used += _units(text[index], encoding)
        if used > character:
            return index
    return end


def position_at(text: str, offset: int, encoding: str = "utf-16",
                starts: list[int] | None = None) -> tuple[int, int]:
    """The LSP (line, character) of a code-point offset."""
    starts = starts if starts is not None else line_starts(text)
    offset = max(0, min(offset, len(text)))
    line = bisect_right(starts, offset) - 1
    start = starts[line]
    if encoding == "utf-32":
        return line, offset - start
    return line, sum(_units(c, encoding) for c in text[start:offset])


def units(text: str, encoding: str) -> int:
    """Length of `text` in the encoding's code units."""
    if encoding == "utf-32":
        return len(text)
    return sum(_units(c, encoding) for c in text)


def span_offsets(text: str, start: tuple[int, int], end: tuple[int, int],
                 encoding: str = "utf-16", starts: list[int] | None = None) -> tuple[int, int]:
    """The code-point offsets of an LSP range, in order."""
    starts = starts if starts is not None else line_starts(text)
    a = offset_at(text, *start, encoding, starts)
    b = offset_at(text, *end, encoding, starts)
    return min(a, b), max(a, b)


def apply_change(text: str, start: tuple[int, int], end: tuple[int, int], new_text: str,
                 encoding: str = "utf-16") -> str:
    """`text` with the range from `start` to `end` (LSP positions) replaced by `new_text`."""
    a, b = span_offsets(text, start, end, encoding)
    return text[:a] + new_text + text[b:]
