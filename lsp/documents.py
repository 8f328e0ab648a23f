"""Open documents, kept in sync from didOpen/didChange/didClose in the negotiated encoding.

A keystroke costs time linear in the lines it touches, plus one pass in C over the line
starts after it: the line index is edited with the text, and the syntax tree is parsed
only when a completion reads it (`context.trees`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tree_sitter import Tree

from lspilot.completion.pipeline import LARGE_DOCUMENT_CHARS
from lspilot.context.trees import DocumentTree
from lspilot.lsp.text import LineStarts, locate

Span = tuple[tuple[int, int], tuple[int, int]]
"""A range as ((line, character), (line, character)) in the negotiated encoding."""

SPLIT_PAIR = "\ufffd\ufffd"
"""What an astral character becomes when a utf-16 range splits it: one U+FFFD per half."""


@dataclass(frozen=True)
class Edit:
    """One applied change, in code points of the text as it was before the change."""

    start: int
    end: int
    text: str
    start_line: int
    """Line of `start` in the text before the change."""
    end_line: int
    """Line of `end` in the text before the change."""


@dataclass
class Document:
    """One open document."""

    uri: str
    language_id: str
    version: int
    text: str
    tree: DocumentTree = field(init=False, repr=False)
    """The text's syntax tree, edited along with every change."""
    starts: LineStarts = field(init=False, repr=False)
    """The offset of each line's first character, edited along with every change."""

    def __post_init__(self) -> None:
        self.tree = DocumentTree(self.language_id, self.text)
        self.starts = LineStarts.of(self.text)

    @property
    def syntax(self) -> Tree | None:
        """The up-to-date syntax tree, or None (no grammar, or too large or slow to parse)."""
        return self.tree.tree

    def set_text(self, text: str) -> Edit:
        """Replace the whole text."""
        edit = Edit(0, len(self.text), text, 0, len(self.starts) - 1)
        self.tree.set_text(text)
        self.text = text
        self.starts = LineStarts.of(text)
        return edit

    def apply(self, span: Span, new_text: str, encoding: str) -> list[Edit]:
        """Replace an LSP range; a utf-16 range that splits an astral character first splits
        it into two U+FFFD, so that the half the client keeps is one unit there too.

        A client that edits half of a surrogate pair holds a lone surrogate, which no
        tokenizer can encode; U+FFFD takes its place and keeps later positions on the line in
        step with the client's. In utf-8 a position inside a character lands on its start.
        """
        edits: list[Edit] = []
        ends = [locate(self.text, *end, encoding, self.starts) for end in span]
        if not new_text and ends[0] == ends[1]:
            return edits  # nothing inserted, nothing removed: a pair stays whole
        if encoding == "utf-16":
            for offset in sorted({offset for offset, inside in ends if inside}, reverse=True):
                edits.append(self._replace(offset, offset + 1, SPLIT_PAIR))
        a = locate(self.text, *span[0], encoding, self.starts)[0]
        b = locate(self.text, *span[1], encoding, self.starts)[0]
        edits.append(self._replace(min(a, b), max(a, b), new_text))
        return edits

    def _replace(self, start: int, end: int, new_text: str) -> Edit:
        edit = Edit(start, end, new_text, self.starts.line_of(start),
                    self.starts.line_of(end))
        self.tree.replace(start, end, new_text)
        self.text = self.tree.text
        self.starts = self.starts.edited(self.text, start, end, len(new_text))
        return edit


class Documents:
    """The open documents by URI."""

    def __init__(self) -> None:
        self._docs: dict[str, Document] = {}

    def open(self, uri: str, language_id: str, version: int, text: str) -> None:
        """Start tracking a document."""
        self._docs[uri] = Document(uri, language_id, version, text)

    def change(self, uri: str, version: int,
               changes: list[tuple[Span | None, str]],
               encoding: str) -> list[Edit]:
        """Apply content changes in order (a `None` range replaces the whole text)."""
        doc = self._docs.get(uri)
        if doc is None:
            raise KeyError(f"didChange for a document that is not open: {uri}")
        edits = []
        for span, new_text in changes:
            if span is None:
                edits.append(doc.set_text(new_text))
            else:
                edits.extend(doc.apply(span, new_text, encoding))
        doc.version = version
        return edits

    def close(self, uri: str) -> None:
        """Stop tracking a document."""
        self._docs.pop(uri, None)

    def get(self, uri: str) -> Document | None:
        """The document, if open."""
        return self._docs.get(uri)

    def all(self) -> list[Document]:
        """Every open document."""
        return list(self._docs.values())

    def for_context(self) -> list[Document]:
        """The open documents other files' context may read (the large ones left out)."""
        return [d for d in self._docs.values() if len(d.text) <= LARGE_DOCUMENT_CHARS]
