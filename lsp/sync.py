"""Text sync: the one copy of each open document, and the session told of every change."""

from __future__ import annotations

import logging

from lsprotocol import types

from lspilot.lsp import heap
from lspilot.lsp.documents import Span
from lspilot.lsp.server import LspilotServer

log = logging.getLogger(__name__)


def to_changes(params: types.DidChangeTextDocumentParams) -> list[tuple[Span | None, str]]:
    """The content changes as (range or None for the whole text, new text)."""
    changes: list[tuple[Span | None, str]] = []
    for change in params.content_changes:
        if isinstance(change, types.TextDocumentContentChangePartial):
            r = change.range
            changes.append((((r.start.line, r.start.character), (r.end.line, r.end.character)),
                            change.text))
        else:
            changes.append((None, change.text))
    return changes


def register(server: LspilotServer) -> None:
    """Add the text-sync handlers."""

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: LspilotServer, params: types.DidOpenTextDocumentParams) -> None:
        doc = params.text_document
        ls.documents.open(doc.uri, doc.language_id, doc.version, doc.text)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: LspilotServer, params: types.DidChangeTextDocumentParams) -> None:
        uri = params.text_document.uri
        try:
            edits = ls.documents.change(uri, params.text_document.version, to_changes(params),
                                        ls.encoding)
        except KeyError as exc:
            log.warning("%s", exc)
            return
        for edit in edits:
            ls.session.changed(uri, edit.start_line, edit.end_line, edit.text)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: LspilotServer, params: types.DidSaveTextDocumentParams) -> None:
        ls.session.saved(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: LspilotServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.documents.close(params.text_document.uri)
        ls.session.closed(params.text_document.uri)
        heap.give_back()
