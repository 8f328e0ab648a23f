"""One syntax tree per open document, edited in place on every change, never reparsed whole.

tree-sitter reuses the unchanged parts of the old tree when it is told where the text
changed (`Tree.edit`) before parsing again, which keeps a keystroke's parse in the
microseconds even in long files.
"""

from __future__ import annotations

from tree_sitter import Parser, Point, Tree

from lspilot.context.languages import parser


class DocumentTree:
    """A document's text and its syntax tree, kept in step by `replace`."""

    def __init__(self, language_id: str, text: str) -> None:
        self.language_id = language_id
        self.text = text
        self._parser: Parser | None = parser(language_id)
        self._source = text.encode("utf-8")
        self.tree: Tree | None = (self._parser.parse(self._source)
                                  if self._parser is not None else None)
        self.reparsed_bytes = 0
        """Bytes of changed ranges reported by the last parse (for tests and stats)."""

    def replace(self, start: int, end: int, new_text: str) -> None:
        """Replace the code points `start:end` of the text with `new_text`, then reparse."""
        old = self.text
        start, end = max(0, min(start, len(old))), max(0, min(end, len(old)))
        start, end = min(start, end), max(start, end)
        self.text = old[:start] + new_text + old[end:]
        if self._parser is None or self.tree is None:
            return
        start_byte = _byte_offset(old, start)
        old_end_byte = start_byte + len(old[start:end].encode("utf-8"))
        inserted = new_text.encode("utf-8")
        new_end_byte = start_byte + len(inserted)
        start_point = _point(self._source, start_byte)
        old_end_point = _point(self._source, old_end_byte)
        self._source = self._source[:start_byte] + inserted + self._source[old_end_byte:]
        new_end_point = _point(self._source, new_end_byte)
        self.tree.edit(start_byte, old_end_byte, new_end_byte,
                       start_point, old_end_point, new_end_point)
        new_tree = self._parser.parse(self._source, self.tree)
        self.reparsed_bytes = sum(r.end_byte - r.start_byte
                                  for r in self.tree.changed_ranges(new_tree))
        self.tree = new_tree

    def set_text(self, text: str) -> None:
        """Take a whole new text (a full-document change): parse from scratch."""
        self.text = text
        self._source = text.encode("utf-8")
        if self._parser is not None:
            self.tree = self._parser.parse(self._source)


def _byte_offset(text: str, offset: int) -> int:
    return len(text[:offset].encode("utf-8"))


def _point(source: bytes, byte: int) -> Point:
    row = source.count(b"\n", 0, byte)
    line_start = source.rfind(b"\n", 0, byte) + 1
    return Point(row, byte - line_start)
