"""`lspilot.edit` and the "Edit with lspilot…" code action: an instruction in, one
`workspace/applyEdit` out (or the edit itself, for a preview).

Everything is checked before anything is sent: Neovim 0.11 applies a WorkspaceEdit change by
change with no rollback and checks only the first document's version.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from lsprotocol import converters, types
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams, JsonRpcRequestCancelled

from lspilot.edits.run import EditResult, describe
from lspilot.edits.sources import relative_path
from lspilot.edits.task import EditError, Selection
from lspilot.edits.text_edits import text_edits
from lspilot.lsp.progress import WorkDone
from lspilot.lsp.server import LspilotServer
from lspilot.lsp.text import offset_at, position_at
from lspilot.models.backends.base import BackendError, GenerationStats
from lspilot.session import EditRequest

EDIT = "lspilot.edit"
TITLE = "Edit with lspilot…"


class RequestFailed(JsonRpcException):
    """LSP's RequestFailed: a valid request that could not be carried out."""

    CODE = -32803
    MESSAGE = "Request failed"


@dataclass(frozen=True)
class EditArguments:
    """`lspilot.edit`'s one argument, checked."""

    instruction: str
    uris: tuple[str, ...]
    selection: tuple[str, types.Range] | None
    apply: bool


def parse_arguments(arguments: Any) -> EditArguments:
    """`{"instruction": str, "uris": [str], "range": {"uri", "range"}, "apply": bool}`."""
    if not (isinstance(arguments, list | tuple) and len(arguments) == 1
            and isinstance(arguments[0], dict)):
        raise ValueError('expected one argument {"instruction": ..., "uris": [...], '
                         '"range": {"uri": ..., "range": ...}, "apply": true}')
    raw = arguments[0]
    instruction = raw.get("instruction", "")
    if not isinstance(instruction, str):
        raise ValueError(f"instruction must be a string, got {instruction!r}")
    uris = raw.get("uris", [])
    if not isinstance(uris, list) or not all(isinstance(u, str) for u in uris):
        raise ValueError(f"uris must be a list of URIs, got {uris!r}")
    apply = raw.get("apply", True)
    if not isinstance(apply, bool):
        raise ValueError(f"apply must be true or false, got {apply!r}")
    selection = None
    if raw.get("range") is not None:
        where = raw["range"]
        try:
            uri = where["uri"]
            selection = (uri, converters.get_converter().structure(where["range"], types.Range))
        except Exception:
            raise ValueError('range must be {"uri": str, "range": {"start": {"line", '
                             f'"character"}}, "end": ...}}}}, got {where!r}') from None
        if not isinstance(uri, str):
            raise ValueError(f"range.uri must be a URI, got {uri!r}")
    return EditArguments(instruction, tuple(uris), selection, apply)


def uri_path(uri: str) -> Path:
    """The local path of a `file:` URI."""
    parsed = urlparse(uri)
    if parsed.scheme != "file":
        raise EditError(f"{uri}: only local files (file: URIs) can be edited")
    return Path(unquote(parsed.path))


def to_request(ls: LspilotServer, arguments: EditArguments) -> EditRequest:
    """Our request: URIs as workspace paths, the range as code-point offsets."""
    workspace = ls.session.workspace
    if workspace is None or workspace.root is None:
        raise EditError("edits need a workspace folder: open a folder in the editor")
    paths = tuple(relative_path(workspace.root, uri_path(uri)) for uri in arguments.uris)
    selection = None
    if arguments.selection is not None:
        uri, where = arguments.selection
        path = relative_path(workspace.root, uri_path(uri))
        text = ls.session.source(path).text
        start = offset_at(text, where.start.line, where.start.character, ls.encoding)
        end = offset_at(text, where.end.line, where.end.character, ls.encoding)
        selection = Selection(path, min(start, end), max(start, end))
    return EditRequest(arguments.instruction, paths, selection)


def check_current(ls: LspilotServer, result: EditResult) -> None:
    """Refuse when a file changed while the model wrote: the edit was computed for the old
    text (and Neovim would check only the first document's version)."""
    for change in result.changes:
        source = result.task.file(change.path)
        if source is None:
            continue
        try:
            now = ls.session.source(change.path)
        except EditError as exc:
            raise EditError(f"{change.path} changed while the edit was made ({exc}); "
                            "nothing was applied") from None
        if now.text != source.text or (source.version is not None
                                       and now.version != source.version):
            raise EditError(f"{change.path} changed while the edit was made; nothing was "
                            "applied: run the edit again")


def to_workspace_edit(ls: LspilotServer, result: EditResult) -> types.WorkspaceEdit:
    """The changes as minimal text edits: versioned `documentChanges` when the client takes
    them, plain `changes` otherwise."""
    workspace = ls.session.workspace
    assert workspace is not None and workspace.root is not None
    capabilities = ls.client_capabilities.workspace
    edit_caps = capabilities.workspace_edit if capabilities is not None else None
    document_changes = bool(edit_caps and edit_caps.document_changes)
    can_create = bool(edit_caps and edit_caps.resource_operations
                      and types.ResourceOperationKind.Create in edit_caps.resource_operations)
    open_uris = {workspace.relative(doc.uri): doc.uri for doc in ls.documents.all()}
    changes: dict[str, list[types.TextEdit]] = {}
    operations: list[Any] = []
    for change in result.changes:
        source = result.task.file(change.path)
        uri = open_uris.get(change.path) or (workspace.root / change.path).as_uri()
        if source is None:
            if not (document_changes and can_create):
                raise EditError(f"the edit creates {change.path}, but this editor cannot "
                                "create files through LSP; nothing was applied")
            origin = types.Position(0, 0)
            operations.append(types.CreateFile(uri=uri, options=types.CreateFileOptions(
                overwrite=False, ignore_if_exists=False)))
            operations.append(types.TextDocumentEdit(
                text_document=types.OptionalVersionedTextDocumentIdentifier(uri=uri,
                                                                            version=None),
                edits=[types.TextEdit(types.Range(origin, origin), change.new_text)]))
            continue
        old = source.text
        edits = [types.TextEdit(types.Range(_position(old, e.start, ls.encoding),
                                            _position(old, e.end, ls.encoding)), e.new_text)
                 for e in text_edits(old, change.new_text)]
        if not edits:
            continue
        if document_changes:
            operations.append(types.TextDocumentEdit(
                text_document=types.OptionalVersionedTextDocumentIdentifier(
                    uri=uri, version=source.version), edits=edits))
        else:
            changes[uri] = edits
    if document_changes:
        return types.WorkspaceEdit(document_changes=operations)
    return types.WorkspaceEdit(changes=changes)


def _position(text: str, offset: int, encoding: str) -> types.Position:
    line, character = position_at(text, offset, encoding)
    return types.Position(line, character)


def edited_uris(edit: types.WorkspaceEdit) -> list[str]:
    """The documents an edit changes or creates, in order, once each."""
    uris: list[str] = list(edit.changes or {})
    for operation in edit.document_changes or []:
        if isinstance(operation, types.TextDocumentEdit):
            uris.append(operation.text_document.uri)
        elif isinstance(operation, types.CreateFile):
            uris.append(operation.uri)
    return list(dict.fromkeys(uris))


def summary(result: EditResult) -> str:
    """One line for the user: what changed, how, what it cost, what was left out."""
    return "changed " + describe(result)


PROGRESS_WAIT_S = 5.0
"""Longest wait for the client to accept the edit's progress token before the model starts."""


class Reporter:
    """An edit's `$/progress`: reading the prompt, then tokens written so far."""

    def __init__(self, progress: WorkDone) -> None:
        self._progress = progress

    async def begun(self) -> None:
        """The progress shows from the start of the model's work."""
        await self._progress.shown(PROGRESS_WAIT_S)

    def __call__(self, stats: GenerationStats) -> None:
        """Report the model's progress."""
        if stats.generated_tokens:
            self._progress.report(f"writing: {stats.generated_tokens} tokens")
        else:
            self._progress.report(f"reading {stats.prompt_tokens} tokens")


async def run_edit_command(ls: LspilotServer, arguments: EditArguments) -> dict[str, Any]:
    """The command's work: run the edit, check it, send or return it."""
    task = asyncio.current_task()
    assert task is not None
    request_id = str(ls.protocol.msg_id)

    def cancel() -> None:
        task.cancel()

    ls.request_cancellers[request_id] = cancel
    progress = WorkDone(ls, f"lspilot: {arguments.instruction[:60]}", cancellable=True,
                        on_cancel=cancel)
    progress.report("gathering the files")
    try:
        request = to_request(ls, arguments)
        result = await ls.session.edit(request, Reporter(progress))
        if result.error is not None:
            raise EditError(result.error)
        check_current(ls, result)
        edit = to_workspace_edit(ls, result)
    except asyncio.CancelledError:
        progress.end("cancelled: nothing was applied")
        # The client's answer: pygls runs a command's handler as a task behind the request,
        # and a bare CancelledError from it would leave the request unanswered.
        raise JsonRpcRequestCancelled("lspilot.edit was cancelled; nothing was applied") \
            from None
    except (EditError, BackendError) as exc:
        progress.end("nothing was applied")
        raise RequestFailed(f"lspilot: {exc}") from None
    finally:
        ls.request_cancellers.pop(request_id, None)
    files = edited_uris(edit)
    message = summary(result)
    if not arguments.apply:
        progress.end("ready to preview")
        return {"edit": converters.get_converter().unstructure(edit), "files": files,
                "message": message}
    progress.end("applying")
    response = await ls.workspace_apply_edit_async(types.ApplyWorkspaceEditParams(
        edit=edit, label=arguments.instruction[:120]))
    if not response.applied:
        reason = response.failure_reason or "no reason given"
        return {"applied": False, "files": [], "message": f"the editor did not apply the "
                f"edit ({reason}); nothing was changed by lspilot"}
    return {"applied": True, "files": files, "message": message}


def register(server: LspilotServer) -> None:
    """Add the edit command and code action."""

    @server.command(EDIT)
    async def edit_command(ls: LspilotServer, *arguments: Any) -> dict[str, Any]:
        try:
            parsed = parse_arguments(arguments)
        except ValueError as exc:
            raise JsonRpcInvalidParams(f"{EDIT}: {exc}") from None
        return await run_edit_command(ls, parsed)

    @server.feature(types.TEXT_DOCUMENT_CODE_ACTION, types.CodeActionOptions(
        code_action_kinds=[types.CodeActionKind.RefactorRewrite]))
    def code_action(ls: LspilotServer, params: types.CodeActionParams
                    ) -> list[types.CodeAction] | None:
        only = params.context.only
        if only and not any(types.CodeActionKind.RefactorRewrite.value.startswith(kind)
                            for kind in only):
            return None
        uri = params.text_document.uri
        if ls.documents.get(uri) is None or not ls.session.may_complete(uri):
            return None
        argument = {"range": {"uri": uri, "range": converters.get_converter().unstructure(
            params.range)}}
        return [types.CodeAction(title=TITLE, kind=types.CodeActionKind.RefactorRewrite,
                                 command=types.Command(title=TITLE, command=EDIT,
                                                       arguments=[argument]))]
