"""Open documents, kept in sync from didOpen/didChange/didClose in the negotiated encoding."""

from __future__ import annotations

from dataclasses import dataclass

from lspilot.lsp.text import apply_change

Span = tuple[tuple[int, int], tuple[int, int]]
"""A range as ((line, character), (line, character)) in the negotiated encoding."""


@dataclass
class Document:
    """One open document."""

    uri: str
    language_id: str
    version: int
    text: str


class Documents:
    """The open documents by URI."""

    def __init__(self) -> None:
        self._docs: dict[str, Document] = {}

    def open(self, uri: str, language_id: str, version: int, text: str) -> None:
        """Start tracking a document."""
        self._docs[uri] = Document(uri, language_id, version, text)

    def change(self, uri: str, version: int,
               changes: list[tuple[Span | None, str]],
               encoding: str) -> None:
        """Apply content changes in order (a `None` range replaces the whole text)."""
        doc = self._docs.get(uri)
        if doc is None:
            raise KeyError(f"didChange for a document that is not open: {uri}")
        for span, new_text in changes:
            doc.text = new_text if span is None else apply_change(doc.text, *span, new_text,
                                                                  encoding)
        doc.version = version

    def close(self, uri: str) -> None:
        """Stop tracking a document."""
        self._docs.pop(uri, None)

    def get(self, uri: str) -> Document | None:
        """The document, if open."""
        return self._docs.get(uri)
