"""LSP positions <-> offsets in a Python string, for utf-8, utf-16 and utf-32 encodings.

LSP lines end at "\n", "\r\n" or "\r"; a `character` past the end of its line means the
line's end (the spec's rule), and a line past the end of the text means the text's end.
Positions are never mutated and never raise: a bad position lands on the nearest valid one.
A position inside a character (between the bytes of "é" in utf-8, between the halves of
"😀" in utf-16) lands on the character's start; `locate` says when that happened.

Every operation here costs time linear in the line it touches, in C (encode, slice,
regex), never a Python loop over a long line or over every line of a document.
"""

from __future__ import annotations

import re

import numpy as np
import numpy.typing as npt

_EOL = re.compile(r"\r\n|\r|\n")
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


class LineStarts:
    """The offset of each line's first character, kept in a numpy array: a keystroke in a
    file of 400,000 lines shifts the starts after it in one vectorised add, not a Python loop.
    """

    def __init__(self, starts: npt.NDArray[np.int64]) -> None:
        self._starts = starts

    @classmethod
    def of(cls, text: str) -> LineStarts:
        """The line starts of `text`."""
        if text.isascii():
            codes = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
        else:
            codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        lf = codes == 10
        cr = codes == 13
        cr[:-1] &= ~lf[1:]  # "\r\n" ends its line at the "\n"
        ends = np.flatnonzero(lf | cr) + 1
        return cls(np.concatenate((np.zeros(1, dtype=np.int64), ends.astype(np.int64))))

    def __len__(self) -> int:
        return len(self._starts)

    def __getitem__(self, line: int) -> int:
        return int(self._starts[line])

    def tolist(self) -> list[int]:
        """The starts as a list."""
        return [int(start) for start in self._starts]

    def line_of(self, offset: int) -> int:
        """The line an offset is on."""
        return int(np.searchsorted(self._starts, offset, side="right")) - 1

    def edited(self, text: str, start: int, end: int, inserted: int) -> LineStarts:
        """The line starts of `text`, which is the text these starts were of with `start:end`
        replaced by `inserted` characters: only the lines around the edit are scanned again
        (one line either side as well, where a "\r" and a "\n" can join or part)."""
        delta = inserted - (end - start)
        first = max(self.line_of(start) - 1, 0)
        last = self.line_of(end) + 2
        scan_from = self[first]
        if last < len(self):
            scan_to = self[last] + delta
            tail = self._starts[last + 1:] + delta
        else:
            scan_to, tail = len(text), self._starts[:0]
        middle = np.fromiter((m.end() for m in _EOL.finditer(text, scan_from, scan_to)),
                             dtype=np.int64)
        return LineStarts(np.concatenate((self._starts[:first + 1], middle, tail)))


def line_starts(text: str) -> LineStarts:
    """Offset of the first character of each line."""
    return LineStarts.of(text)


def _line_bounds(text: str, starts: LineStarts, line: int) -> tuple[int, int]:
    start = starts[line]
    end = starts[line + 1] if line + 1 < len(starts) else len(text)
    while end > start and text[end - 1] in "\r\n":
        end -= 1
    return start, end


def _encoded(text: str, encoding: str) -> bytes:
    codec = "utf-8" if encoding == "utf-8" else "utf-16-le"
    return text.encode(codec, "surrogatepass")


def locate(text: str, line: int, character: int, encoding: str = "utf-16",
           starts: LineStarts | None = None) -> tuple[int, bool]:
    """The code-point offset of an LSP position, and whether it fell inside a character
    (then the offset is that character's start)."""
    starts = starts if starts is not None else line_starts(text)
    if line < 0:
        return 0, False
    if line >= len(starts):
        return len(text), False
    start, end = _line_bounds(text, starts, line)
    character = max(character, 0)
    if character >= end - start and encoding == "utf-32":
        return end, False
    segment = text[start:end]
    if encoding == "utf-32" or segment.isascii() or \
            (encoding == "utf-16" and _ASTRAL.search(segment) is None):
        return start + min(character, end - start), False
    data = _encoded(segment, encoding)
    size = 1 if encoding == "utf-8" else 2
    if character * size >= len(data):
        return end, False
    codec = "utf-8" if encoding == "utf-8" else "utf-16-le"
    head = data[:character * size].decode(codec, "ignore")  # a cut character is dropped
    inside = len(_encoded(head, encoding)) != character * size
    return start + len(head), inside


def offset_at(text: str, line: int, character: int, encoding: str = "utf-16",
              starts: LineStarts | None = None) -> int:
    """The code-point offset of an LSP position."""
    return locate(text, line, character, encoding, starts)[0]


def position_at(text: str, offset: int, encoding: str = "utf-16",
                starts: LineStarts | None = None) -> tuple[int, int]:
    """The LSP (line, character) of a code-point offset."""
    starts = starts if starts is not None else line_starts(text)
    offset = max(0, min(offset, len(text)))
    line = starts.line_of(offset)
    return line, units(text[starts[line]:offset], encoding)


def units(text: str, encoding: str) -> int:
    """Length of `text` in the encoding's code units."""
    if encoding == "utf-32" or text.isascii():
        return len(text)
    return len(_encoded(text, encoding)) // (1 if encoding == "utf-8" else 2)


def span_offsets(text: str, start: tuple[int, int], end: tuple[int, int],
                 encoding: str = "utf-16", starts: LineStarts | None = None) -> tuple[int, int]:
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
