"""Inline completions, and `textDocument/completion` for clients without them."""

from __future__ import annotations

from lsprotocol import types

from lspilot.completion.offer import choices, word_before
from lspilot.completion.pipeline import Completion, CompletionRequest, Trigger
from lspilot.lsp.server import LspilotServer
from lspilot.lsp.text import offset_at, units


def to_completion_request(ls: LspilotServer, uri: str, position: types.Position,
                          trigger: Trigger) -> CompletionRequest | None:
    """Our request for an LSP cursor; None when the document is not open or holds secrets."""
    doc = ls.documents.get(uri)
    if doc is None or not ls.session.may_complete(uri):
        return None
    offset = offset_at(doc.text, position.line, position.character, ls.encoding, doc.starts)
    return CompletionRequest(uri=uri, text=doc.text, offset=offset,
                             language_id=doc.language_id, trigger=trigger, tree=doc.syntax)


def to_inline_completion_list(texts: list[str], position: types.Position,
                              shown_id: int) -> types.InlineCompletionList:
    """Items inserted at the cursor; accepting one runs `lspilot.accept`."""
    here = types.Position(position.line, position.character)
    accept = types.Command(title="lspilot: accepted", command="lspilot.accept",
                           arguments=[shown_id])
    return types.InlineCompletionList(items=[
        types.InlineCompletionItem(insert_text=text, range=types.Range(here, here),
                                   command=accept) for text in texts])


def to_completion_list(completion: Completion, word: str, position: types.Position,
                       encoding: str) -> types.CompletionList:
    """The completion as one item that replaces the `word` being typed."""
    if not completion.text:
        return types.CompletionList(is_incomplete=True, items=[])
    start = types.Position(position.line, position.character - units(word, encoding))
    here = types.Position(position.line, position.character)
    first_line = completion.text.split("\n", 1)[0].strip() or completion.text.strip()
    item = types.CompletionItem(
        label=(word + first_line)[:60] or first_line[:60],
        kind=types.CompletionItemKind.Snippet,
        detail=f"lspilot ({completion.model})",
        documentation=types.MarkupContent(types.MarkupKind.Markdown,
                                          f"```\n{word}{completion.text}\n```"),
        filter_text=word + completion.text,
        sort_text="0",
        insert_text_format=types.InsertTextFormat.PlainText,
        text_edit=types.TextEdit(range=types.Range(start, here), new_text=word + completion.text),
    )
    return types.CompletionList(is_incomplete=True, items=[item])


def register(server: LspilotServer) -> None:
    """Add the completion handlers."""

    @server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())
    async def inline_completion(ls: LspilotServer, params: types.InlineCompletionParams
                                ) -> types.InlineCompletionList | None:
        invoked = params.context.trigger_kind == types.InlineCompletionTriggerKind.Invoked
        request = to_completion_request(ls, params.text_document.uri, params.position,
                                        "invoked" if invoked else "automatic")
        if request is None:
            return None
        completion = await ls.session.complete(request)
        texts = choices(completion.text, invoked) if completion is not None else []
        if not texts:
            return types.InlineCompletionList(items=[])
        return to_inline_completion_list(texts, params.position,
                                         ls.session.engine.meter.shown_id(texts[0]))

    @server.feature(types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions())
    async def completion(ls: LspilotServer, params: types.CompletionParams
                         ) -> types.CompletionList | None:
        invoked = (params.context is None
                   or params.context.trigger_kind == types.CompletionTriggerKind.Invoked)
        request = to_completion_request(ls, params.text_document.uri, params.position,
                                        "invoked" if invoked else "automatic")
        if request is None:
            return None
        result = await ls.session.complete(request)
        if result is None:
            return types.CompletionList(is_incomplete=True, items=[])
        return to_completion_list(result, word_before(request.text[:request.offset]),
                                  params.position, ls.encoding)
