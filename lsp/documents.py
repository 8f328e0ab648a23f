"""Open documents, kept in sync from didOpen/didChange/didClose in the negotiated encoding."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field

from tree_sitter import Tree

from lspilot.context.trees import DocumentTree
from lspilot.lsp.text import line_starts, span_offsets

Span = tuple[tuple[int, int], tuple[int, int]]
"""A range as ((line, character), (line, character)) in the negotiated encoding."""


@dataclass
class Document:
    """One open document."""

    uri: str
    language_id: str
    version: int
    text: str
    tree: DocumentTree = field(init=False, repr=False)
    """The text's syntax tree, edited along with every change."""

    def __post_init__(self) -> None:
        self.tree = DocumentTree(self.language_id, self.text)

    @property
    def syntax(self) -> Tree | None:
        """The up-to-date syntax tree, or None for a language without a grammar."""
        return self.tree.tree


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
                edits.append(Edit(0, len(doc.text), new_text, 0, len(line_starts(doc.text)) - 1))
                doc.tree.set_text(new_text)
            else:
                starts = line_starts(doc.text)
                a, b = span_offsets(doc.text, *span, encoding, starts)
                edits.append(Edit(a, b, new_text, bisect_right(starts, a) - 1,
                                  bisect_right(starts, b) - 1))
                doc.tree.replace(a, b, new_text)
            doc.text = doc.tree.text
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
