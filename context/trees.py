"""One syntax tree per open document, edited in place on every change, parsed when read.

tree-sitter reuses the unchanged parts of the old tree when it is told where the text
changed (`Tree.edit`) before parsing again. A keystroke only edits the tree; the parse
waits until someone reads `tree` (a completion), so a burst of keystrokes costs one parse.
Parsing is bounded: a document over `MAX_TREE_BYTES` keeps no tree, and one whose parse
took over its budget of CPU (`PARSE_BUDGET_S` for a whole text, `REPARSE_BUDGET_S` after
edits: tree-sitter's error recovery can take seconds on a large file with an unclosed
bracket near its top) stops keeping one; readers then do without.

The budget is checked after a parse, not during it: py-tree-sitter 0.26 can only stop a
parse from a progress callback, which needs the text read through a callback, and it leaks
every chunk such a callback returns (a 1 MB file leaked 2 MB per parse).
"""

from __future__ import annotations

import logging
import time

from tree_sitter import Parser, Point, Tree

from lspilot.context.languages import parser

log = logging.getLogger(__name__)

MAX_TREE_BYTES = 512 * 1024
"""A document larger than this (in UTF-8) keeps no syntax tree."""

PARSE_BUDGET_S = 0.5
"""CPU time the first parse of a text may take; a document whose parse took longer goes
without a tree until its whole text is replaced. CPU time of the parsing thread, not wall
time, so that a busy machine does not cost a tree."""

REPARSE_BUDGET_S = 0.05
"""CPU time a parse after edits may take (it reuses the old tree and takes milliseconds;
one that takes longer will on every keystroke: a lone-CR file parsed as Python took 0.4 s)."""


class DocumentTree:
    """A document's text and its syntax tree, kept in step by `replace`."""

    def __init__(self, language_id: str, text: str, budget_s: float = PARSE_BUDGET_S,
                 reparse_budget_s: float = REPARSE_BUDGET_S) -> None:
        self.language_id = language_id
        self.text = text
        self._budget_s = budget_s
        self._reparse_budget_s = reparse_budget_s
        self._parser: Parser | None = parser(language_id)
        self._tree: Tree | None = None
        self._previous: Tree | None = None
        self._source = b""
        self._keeps = False
        """Whether this document keeps a tree (it has a grammar and is small enough)."""
        self._stale = False
        """Edits came since the last parse."""
        self._take(text)

    @property
    def tree(self) -> Tree | None:
        """The up-to-date tree (parsed now if edits came since), or None: no grammar, a
        document over `MAX_TREE_BYTES`, or one edited since a parse over the budget."""
        if self._stale:
            self._stale = False
            self._parse()
        return self._tree

    @property
    def reparsed_bytes(self) -> int:
        """Bytes of the ranges the last parse changed (for tests and stats)."""
        tree = self.tree
        if tree is None or self._previous is None:
            return 0
        return sum(r.end_byte - r.start_byte for r in self._previous.changed_ranges(tree))

    def replace(self, start: int, end: int, new_text: str) -> None:
        """Replace the code points `start:end` of the text with `new_text`."""
        old = self.text
        start, end = max(0, min(start, len(old))), max(0, min(end, len(old)))
        start, end = min(start, end), max(start, end)
        self.text = old[:start] + new_text + old[end:]
        if not self._keeps:
            self._tree = self._previous = None  # a tree kept past its budget is now stale
            return
        if len(self.text) > MAX_TREE_BYTES:
            self._drop("it grew over the size for a tree")
            return
        start_byte = _byte_offset(old, start)
        old_end_byte = start_byte + len(_utf8(old[start:end]))
        inserted = _utf8(new_text)
        new_end_byte = start_byte + len(inserted)
        source = self._source
        self._source = source[:start_byte] + inserted + source[old_end_byte:]
        if len(self._source) > MAX_TREE_BYTES:
            self._drop("it grew over the size for a tree")
            return
        if self._tree is not None:
            self._tree.edit(start_byte, old_end_byte, new_end_byte, _point(source, start_byte),
                            _point(source, old_end_byte), _point(self._source, new_end_byte))
        self._stale = True

    def set_text(self, text: str) -> None:
        """Take a whole new text (a full-document change): parsed from scratch when read."""
        self.text = text
        self._take(text)

    def _take(self, text: str) -> None:
        self._tree = self._previous = None
        self._source = b""
        self._keeps = self._stale = False
        if self._parser is None or len(text) > MAX_TREE_BYTES:
            return
        source = _utf8(text)
        if len(source) > MAX_TREE_BYTES:
            return
        self._source = source
        self._keeps = self._stale = True

    def _parse(self) -> None:
        assert self._parser is not None
        old = self._tree
        started = time.thread_time()
        tree = self._parser.parse(self._source, old) if old is not None else \
            self._parser.parse(self._source)
        self._previous, self._tree = old, tree
        spent = time.thread_time() - started
        budget = self._budget_s if old is None else self._reparse_budget_s
        if spent > budget:  # this reader gets the tree it paid for; nobody after
            log.info("%s keeps no syntax tree: parsing took %.2f s of CPU",
                     self.language_id, spent)
            self._source = b""
            self._keeps = False

    def _drop(self, reason: str) -> None:
        log.info("%s keeps no syntax tree: %s", self.language_id or "document", reason)
        self._tree = self._previous = None
        self._source = b""
        self._keeps = self._stale = False


def _utf8(text: str) -> bytes:
    # surrogatepass: text that holds a lone surrogate must never raise here.
    return text.encode("utf-8", "surrogatepass")


def _byte_offset(text: str, offset: int) -> int:
    return len(_utf8(text[:offset]))


def _point(source: bytes, byte: int) -> Point:
    row = source.count(b"\n", 0, byte)
    line_start = source.rfind(b"\n", 0, byte) + 1
    return Point(row, byte - line_start)
