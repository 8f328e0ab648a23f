"""The cursor's view of a document, computed once per request.

Its properties cost time in the cursor's line, never in the document: post-processing reads
them for every streamed piece.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CursorContext:
    """The text around the cursor, split the ways later stages need it."""

    prefix: str
    suffix: str

    @property
    def line_prefix(self) -> str:
        """Text of the cursor's line before the cursor."""
        return self.prefix[self.prefix.rfind("\n") + 1:]

    @property
    def line_suffix(self) -> str:
        """Text of the cursor's line after the cursor (no line break)."""
        end = self.suffix.find("\n")
        return (self.suffix if end < 0 else self.suffix[:end]).rstrip("\r")

    @property
    def mid_line(self) -> bool:
        """True when there is text right of the cursor on its line."""
        return bool(self.line_suffix.strip())

    @property
    def indent(self) -> str:
        """The leading whitespace of the cursor's line."""
        line = self.line_prefix
        return line[: len(line) - len(line.lstrip())]


def cursor_at(text: str, offset: int) -> CursorContext:
    """Split `text` at `offset` (a code-point index, clamped into the text)."""
    offset = max(0, min(offset, len(text)))
    return CursorContext(prefix=text[:offset], suffix=text[offset:])
