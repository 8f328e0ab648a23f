"""The lspilot language server: thin handlers that convert LSP types and call the engine."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Generator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol, lsp_method

from lspilot import __version__
from lspilot.completion.engine import Engine
from lspilot.completion.explain import explanation, summary
from lspilot.completion.pipeline import Completion, CompletionRequest, Trigger
from lspilot.context.workspace import Workspace
from lspilot.lsp.documents import Documents, Span
from lspilot.lsp.status import StatusReporter
from lspilot.lsp.text import offset_at, units
from lspilot.models.backends.base import BackendError
from lspilot.models.listing import list_models
from lspilot.models.roles import ROLES, Role, RoleFile, parse_model_id, with_role
from lspilot.models.store import ModelError, ModelStore
from lspilot.settings import Settings, parse_settings

log = logging.getLogger(__name__)

COMMANDS = ("lspilot.lastCompletion", "lspilot.explainCompletion", "lspilot.status",
            "lspilot.accept", "lspilot.stats", "lspilot.listModels", "lspilot.selectModel")

GIT_REFRESH_S = 2.0
"""At most this often, a completion request looks for new uncommitted changes."""


class LspilotProtocol(LanguageServerProtocol):
    """pygls's protocol, minus its own copy of open documents.

    pygls's text sync clamps out-of-range positions off by one and mutates the client's
    `Position` objects; lspilot keeps the one copy of each document in `Documents`.
    """

    @lsp_method(types.TEXT_DOCUMENT_DID_OPEN)
    def lsp_text_document__did_open(self, params: types.DidOpenTextDocumentParams
                                    ) -> Generator[Any, Any, None]:
        """Hand didOpen to the server's handler only."""
        if (handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_OPEN)) is not None:
            yield handler, (params,), None

    @lsp_method(types.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(self, params: types.DidChangeTextDocumentParams
                                      ) -> Generator[Any, Any, None]:
        """Hand didChange to the server's handler only."""
        if (handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_CHANGE)) is not None:
            yield handler, (params,), None

    @lsp_method(types.TEXT_DOCUMENT_DID_CLOSE)
    def lsp_text_document__did_close(self, params: types.DidCloseTextDocumentParams
                                     ) -> Generator[Any, Any, None]:
        """Hand didClose to the server's handler only."""
        if (handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_CLOSE)) is not None:
            yield handler, (params,), None


class LspEvents:
    """Engine events as `$/progress` and `window/showMessage`."""

    def __init__(self, ls: LspilotServer) -> None:
        self._ls = ls
        self._token: str | None = None
        self._created: asyncio.Future[bool] | None = None
        self._last: tuple[int | None, str] = (None, "")
        self._tasks: set[asyncio.Task[None]] = set()

    def loading(self, model: str, done: int, total: int, message: str) -> None:
        """Begin or report the load's progress."""
        percent = int(done * 100 / total) if total else None
        if (percent, message) == self._last:
            return
        self._last = (percent, message)
        if self._created is None:
            self._begin(model)
            self._ls.status.changed()
        self._after_created(lambda token: self._ls.progress(types.ProgressParams(
            token, types.WorkDoneProgressReport(message=message, percentage=percent))))

    def loaded(self, model: str, template: str) -> None:
        """End the progress."""
        self._end(f"{model} ready ({template})")
        self._ls.status.changed()

    def failed(self, model: str, error: str) -> None:
        """End the progress and tell the user, once per distinct error."""
        self._end(f"{model} failed")
        self._ls.show_once(types.MessageType.Error, f"lspilot: {error}")
        self._ls.status.changed()

    def _begin(self, model: str) -> None:
        loop = asyncio.get_running_loop()
        self._created = loop.create_future()
        if not self._ls.client_supports_progress:
            self._created.set_result(False)
            return
        token = self._token = f"lspilot-load-{uuid.uuid4().hex[:8]}"
        created = self._created

        async def create() -> None:
            try:
                await self._ls.work_done_progress.create_async(token)
            except Exception as exc:  # the client refused; progress is optional
                log.info("client refused progress token: %s", exc)
                created.set_result(False)
                return
            self._ls.progress(types.ProgressParams(token, types.WorkDoneProgressBegin(
                title=f"lspilot: {model}", percentage=0, cancellable=False)))
            created.set_result(True)

        task = loop.create_task(create())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _after_created(self, send: Any) -> None:
        created, token = self._created, self._token
        if created is None or token is None:
            return

        def go(future: asyncio.Future[bool]) -> None:
            if future.result():
                send(token)

        if created.done():
            go(created)
        else:
            created.add_done_callback(go)

    def _end(self, message: str) -> None:
        self._after_created(lambda token: self._ls.progress(
            types.ProgressParams(token, types.WorkDoneProgressEnd(message=message))))
        self._created, self._token, self._last = None, None, (None, "")


class LspilotServer(LanguageServer):
    """The server's state: documents, settings and the completion engine."""

    def __init__(self, store: ModelStore, forced_model: str | None = None) -> None:
        super().__init__("lspilot", __version__, protocol_cls=LspilotProtocol,
                         text_document_sync_kind=types.TextDocumentSyncKind.Incremental)
        self.documents = Documents()
        self.forced_model = forced_model
        self.store = store
        # Precedence: lspilot.selectModel > --model > the editor's settings > `models use`.
        self.base_settings = RoleFile.in_store(store).apply(Settings())
        self.configured = self.base_settings
        self.selected: dict[Role, str] = {}
        self.engine = Engine(self._effective(self.base_settings), store, LspEvents(self))
        self.status = StatusReporter(self.engine, self.protocol.notify)
        self._shown: set[str] = set()
        self._held_messages: list[tuple[types.MessageType, str]] = []
        self.initialized = False
        self.context: Workspace | None = None
        self._git_refresh: asyncio.Task[None] | None = None
        self._git_refreshed = 0.0

    def open_workspace(self, root: Path | None) -> None:
        """Start the context engine for the workspace folder (None: open files only)."""
        if self.context is not None:
            self.context.stop()
        self.context = Workspace(root, self.engine.settings.context, self.documents.all)
        self.engine.context = self.context
        log.info("workspace: %s", root or "(none)")

    def refresh_git_soon(self, touched: tuple[str, ...] = ()) -> None:
        """Look for new uncommitted changes in the background, at most every few seconds."""
        context = self.context
        if context is None or (self._git_refresh is not None and not self._git_refresh.done()):
            return
        if not touched and time.monotonic() - self._git_refreshed < GIT_REFRESH_S:
            return
        self._git_refreshed = time.monotonic()
        self._git_refresh = asyncio.get_running_loop().create_task(context.refresh_git(touched))

    def shutdown(self) -> None:
        """Stop serving without waiting for pygls's stdin reader thread.

        pygls waits for its thread pool, whose reader may be blocked in `readline` until the
        client closes our stdin, while the client waits for us to exit: a deadlock.
        """
        if self._stop_event is not None:
            self._stop_event.set()
        if self._thread_pool is not None:
            self._thread_pool.shutdown(wait=False, cancel_futures=True)
        if self._server is not None:
            self._server.close()
        if self.context is not None:
            self.context.stop()

    @property
    def exit_code(self) -> int:
        """0 when the client sent `shutdown` before `exit` (as LSP asks), else 1."""
        return 0 if self.protocol._shutdown else 1

    @property
    def encoding(self) -> str:
        """The position encoding negotiated at initialize (utf-16 unless agreed otherwise)."""
        return str(self.workspace.position_encoding or "utf-16")

    @property
    def client_supports_progress(self) -> bool:
        """Whether the client accepts server-created work-done progress."""
        window = self.client_capabilities.window
        return bool(window and window.work_done_progress)

    def show_once(self, kind: types.MessageType, message: str) -> None:
        """`window/showMessage`, once per distinct message (never once per keystroke)."""
        if message in self._shown:
            return
        self._shown.add(message)
        if not self.initialized:
            self._held_messages.append((kind, message))
            return
        self.window_show_message(types.ShowMessageParams(type=kind, message=message))

    def forget_shown(self, message: str) -> None:
        """Let `message` be shown again (its cause went away)."""
        self._shown.discard(message)

    def release_held_messages(self) -> None:
        """Send the messages that arrived before `initialized`."""
        self.initialized = True
        for kind, message in self._held_messages:
            self.window_show_message(types.ShowMessageParams(type=kind, message=message))
        self._held_messages.clear()

    def apply_settings(self, raw: Any, *, load: bool = True) -> None:
        """Parse settings from the client; report bad keys; apply the rest live."""
        settings, errors = parse_settings(raw, self.base_settings)
        for error in errors:
            self.show_once(types.MessageType.Warning, f"lspilot settings: {error}")
        for role in list(self.selected):
            if getattr(settings.models, role) != getattr(self.configured.models, role):
                del self.selected[role]  # the user changed the setting itself: it wins again
        self.configured = settings
        settings = self._effective(settings)
        logging.getLogger("lspilot").setLevel(settings.log_level.upper())
        self.engine.apply_settings(settings, load=load)
        if self.context is not None and self.context.settings != settings.context:
            if self.context.settings.index_workspace != settings.context.index_workspace:
                self.open_workspace(self.context.root)
                if self.initialized:
                    self.context.start()
            self.context.settings = settings.context

    def select_model(self, role: Role, model_id: str) -> None:
        """Serve `role` with `model_id` from now on (loading it in the background)."""
        self.selected[role] = model_id
        self.engine.apply_settings(self._effective(self.configured))
        self.status.changed()

    def _effective(self, settings: Settings) -> Settings:
        if self.forced_model is not None:
            settings = with_role(settings, "autocomplete", self.forced_model)
        for role, model_id in self.selected.items():
            settings = with_role(settings, role, model_id)
        return settings


def to_completion_request(ls: LspilotServer, uri: str, position: types.Position,
                          trigger: Trigger) -> CompletionRequest | None:
    """Our request for an LSP cursor; None when the document is not open or holds secrets."""
    doc = ls.documents.get(uri)
    if doc is None or (ls.context is not None and ls.context.secret(uri)):
        return None  # not open, or a file with secrets: they never reach a prompt
    offset = offset_at(doc.text, position.line, position.character, ls.encoding)
    return CompletionRequest(uri=uri, text=doc.text, offset=offset,
                             language_id=doc.language_id, trigger=trigger, tree=doc.syntax)


def to_inline_completion_list(completion: Completion, position: types.Position,
                              shown_id: int, invoked: bool = False
                              ) -> types.InlineCompletionList:
    """Items inserted at the cursor (the pipeline already trimmed any overlap).

    An automatic trigger gets one item; an invoked one also gets the first line alone of a
    multi-line completion, to cycle to. Accepting an item runs `lspilot.accept`.
    """
    if not completion.text:
        return types.InlineCompletionList(items=[])
    here = types.Position(position.line, position.character)
    texts = [completion.text]
    first_line = completion.text.lstrip("\n").split("\n", 1)[0]
    if invoked and "\n" in completion.text.strip("\n") and first_line.strip():
        texts.append(completion.text[: len(completion.text) - len(completion.text.lstrip("\n"))]
                     + first_line)
    accept = types.Command(title="lspilot: accepted", command="lspilot.accept",
                           arguments=[shown_id])
    return types.InlineCompletionList(items=[
        types.InlineCompletionItem(insert_text=text, range=types.Range(here, here),
                                   command=accept) for text in texts])


def to_completion_list(completion: Completion, request: CompletionRequest,
                       position: types.Position, encoding: str) -> types.CompletionList:
    """The completion as one `textDocument/completion` item, for clients without inline."""
    if not completion.text:
        return types.CompletionList(is_incomplete=True, items=[])
    line_prefix = request.text[:request.offset].rsplit("\n", 1)[-1]
    word = line_prefix[len(line_prefix.rstrip("_0123456789abcdefghijklmnopqrstuvwxyz"
                                              "ABCDEFGHIJKLMNOPQRSTUVWXYZ")):]
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


def completion_summary(completion: Completion | None) -> dict[str, Any] | None:
    """The last completion's prompt and costs, for `lspilot.lastCompletion`."""
    return summary(completion) if completion is not None else None


async def _run_completion(ls: LspilotServer, request: CompletionRequest) -> Completion | None:
    try:
        completion = await ls.engine.complete(request)
    except BackendError as exc:
        ls.show_once(types.MessageType.Error, f"lspilot: {exc}")
        ls.status.completed(None, str(exc))
        return None
    if ls.status.problem is not None:
        # Recovered: the same failure, if it comes back, is worth telling again.
        ls.forget_shown(f"lspilot: {ls.status.problem}")
    ls.status.completed(completion)
    return completion


def parse_selection(arguments: Any) -> tuple[Role, str]:
    """`lspilot.selectModel`'s one argument `{"id": str, "role": "autocomplete"|"edit"}`."""
    if not (isinstance(arguments, list | tuple) and len(arguments) == 1
            and isinstance(arguments[0], dict)):
        raise ValueError('expected one argument {"id": ..., "role": ...}')
    model_id, role = arguments[0].get("id"), arguments[0].get("role", "autocomplete")
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    if not isinstance(model_id, str) or not model_id.strip():
        raise ValueError(f"id must be a model id, got {model_id!r}")
    try:
        parse_model_id(model_id)
    except ModelError as exc:
        raise ValueError(str(exc)) from exc
    return role, model_id


def create_server(store: ModelStore, forced_model: str | None = None) -> LspilotServer:
    """A server with every feature registered."""
    server = LspilotServer(store, forced_model)

    @server.feature(types.INITIALIZE)
    def initialize(ls: LspilotServer, params: types.InitializeParams) -> None:
        # Loading starts at `initialized`: no request may reach the client before that.
        ls.apply_settings(params.initialization_options, load=False)
        ls.open_workspace(workspace_root(params))

    @server.feature(types.INITIALIZED)
    def initialized(ls: LspilotServer, params: types.InitializedParams) -> None:
        ls.release_held_messages()
        ls.engine.start_loading()
        if ls.context is not None:
            ls.context.start()
        ls.refresh_git_soon()

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: LspilotServer, params: types.DidOpenTextDocumentParams) -> None:
        doc = params.text_document
        ls.documents.open(doc.uri, doc.language_id, doc.version, doc.text)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: LspilotServer, params: types.DidChangeTextDocumentParams) -> None:
        changes: list[tuple[Span | None, str]] = []
        for change in params.content_changes:
            if isinstance(change, types.TextDocumentContentChangePartial):
                r = change.range
                span = ((r.start.line, r.start.character), (r.end.line, r.end.character))
                changes.append((span, change.text))
            else:
                changes.append((None, change.text))
        uri = params.text_document.uri
        try:
            edits = ls.documents.change(uri, params.text_document.version, changes, ls.encoding)
        except KeyError as exc:
            log.warning("%s", exc)
            return
        if ls.context is not None:
            for edit in edits:
                ls.context.changed(uri, edit.start_line, edit.end_line, edit.text)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: LspilotServer, params: types.DidSaveTextDocumentParams) -> None:
        if ls.context is not None:
            ls.context.saved(params.text_document.uri)
            ls.refresh_git_soon((ls.context.relative(params.text_document.uri),))

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: LspilotServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.documents.close(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())
    async def inline_completion(ls: LspilotServer, params: types.InlineCompletionParams
                                ) -> types.InlineCompletionList | None:
        invoked = params.context.trigger_kind == types.InlineCompletionTriggerKind.Invoked
        request = to_completion_request(ls, params.text_document.uri, params.position,
                                        "invoked" if invoked else "automatic")
        if request is None:
            return None
        ls.refresh_git_soon()
        completion = await _run_completion(ls, request)
        if completion is None:
            return types.InlineCompletionList(items=[])
        return to_inline_completion_list(completion, params.position,
                                         ls.engine.shown_id(completion), invoked)

    @server.feature(types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions())
    async def completion(ls: LspilotServer, params: types.CompletionParams
                         ) -> types.CompletionList | None:
        invoked = (params.context is None
                   or params.context.trigger_kind == types.CompletionTriggerKind.Invoked)
        request = to_completion_request(ls, params.text_document.uri, params.position,
                                        "invoked" if invoked else "automatic")
        if request is None:
            return None
        result = await _run_completion(ls, request)
        if result is None:
            return types.CompletionList(is_incomplete=True, items=[])
        return to_completion_list(result, request, params.position, ls.encoding)

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(ls: LspilotServer,
                                       params: types.DidChangeConfigurationParams) -> None:
        raw = params.settings
        if not raw and _supports_pull(ls):
            pulled = await ls.workspace_configuration_async(types.ConfigurationParams(
                items=[types.ConfigurationItem(section="lspilot")]))
            raw = pulled[0] if pulled else None
        ls.apply_settings(raw)

    @server.command("lspilot.lastCompletion")
    def last_completion(ls: LspilotServer) -> dict[str, Any] | None:
        return completion_summary(ls.engine.last)

    @server.command("lspilot.explainCompletion")
    def explain_completion(ls: LspilotServer) -> dict[str, Any] | None:
        backend = ls.engine.backend
        if ls.engine.last is None or backend is None:
            return None
        return explanation(ls.engine.last, backend.count_tokens)

    @server.command("lspilot.accept")
    def accept(ls: LspilotServer, shown_id: int) -> bool:
        return ls.engine.accepted(shown_id)

    @server.command("lspilot.stats")
    def stats(ls: LspilotServer) -> dict[str, float | int]:
        return ls.engine.stats()

    @server.command("lspilot.status")
    def status(ls: LspilotServer) -> dict[str, Any]:
        backend = ls.engine.backend
        return {"state": ls.engine.state, "model": ls.engine.settings.models.autocomplete,
                "template": backend.template.family if backend else None,
                "version": __version__, "counters": ls.engine.stats(),
                "rssBytes": resident_bytes(), "context": context_status(ls.context)}

    @server.command("lspilot.listModels")
    async def list_models_command(ls: LspilotServer) -> dict[str, Any]:
        return await list_models(ls.engine.settings, ls.store)

    @server.command("lspilot.selectModel")
    def select_model(ls: LspilotServer, *arguments: Any) -> dict[str, Any]:
        try:
            role, model_id = parse_selection(arguments)
        except ValueError as exc:
            raise JsonRpcInvalidParams(f"lspilot.selectModel: {exc}") from None
        ls.select_model(role, model_id)
        models = ls.engine.settings.models
        return {"autocomplete": models.autocomplete, "edit": models.edit or None}

    return server


def context_status(context: Workspace | None) -> dict[str, Any] | None:
    """The context engine's state: its workspace and how far indexing got."""
    if context is None:
        return None
    index = context.index
    state = "off" if index is None else "ready" if index.ready else "indexing"
    return {"root": str(context.root) if context.root is not None else None, "state": state,
            "enabled": context.settings.enabled,
            "indexReady": index.ready if index is not None else False,
            "indexedFiles": len(index.files()) if index is not None else 0}


def workspace_root(params: types.InitializeParams) -> Path | None:
    """The first workspace folder, else the root URI or path the client sent, if local."""
    uri = None
    if params.workspace_folders:
        uri = params.workspace_folders[0].uri
    elif params.root_uri:
        uri = params.root_uri
    elif params.root_path:
        return Path(params.root_path)
    if uri is None:
        return None
    parsed = urlparse(uri)
    if parsed.scheme != "file":
        return None
    return Path(unquote(parsed.path))


def resident_bytes() -> int | None:
    """This process's resident memory (Linux), to watch a model switch give memory back."""
    try:
        for line in open("/proc/self/status").read().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _supports_pull(ls: LspilotServer) -> bool:
    workspace = ls.client_capabilities.workspace
    return bool(workspace and workspace.configuration)

