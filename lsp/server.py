"""The lspilot language server: the connection, its state, and the handlers by area.

Each area module (`lifecycle`, `sync`, `completions`, `commands`, `edits`) registers handlers that
convert LSP types and call one function of the session (`lspilot.session`); policy lives
there, never here.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import sys
import threading
from collections.abc import Callable, Generator
from typing import Any, BinaryIO, TypeGuard

import attrs
import cattrs
from lsprotocol import types
from pygls.exceptions import (
    FeatureNotificationError,
    FeatureRequestError,
    JsonRpcException,
    PyglsError,
)
from pygls.io_ import StdoutWriter
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol, lsp_method
from pygls.protocol.json_rpc import (
    JsonRPCNotification,
    JsonRPCRequestMessage,
    JsonRPCResponseMessage,
)

from lspilot import __version__
from lspilot.lsp import heap
from lspilot.lsp.documents import Documents
from lspilot.lsp.front import LspFront
from lspilot.lsp.status import StatusReporter
from lspilot.lsp.wire import BinarySource, read_messages
from lspilot.models.slot import Load, Release
from lspilot.models.store import ModelStore
from lspilot.session import Session

log = logging.getLogger(__name__)

_ESCAPED_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_CLIENT_ERRORS = {types.ErrorCodes.ParseError, types.ErrorCodes.InvalidRequest,
                  types.ErrorCodes.MethodNotFound, types.ErrorCodes.InvalidParams,
                  types.ErrorCodes.ServerNotInitialized, types.LSPErrorCodes.RequestCancelled}


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _brief(exc: BaseException) -> str:
    """An exception in a line: what failed to parse, where (cattrs' own paths)."""
    if isinstance(exc, cattrs.BaseValidationError):
        return "; ".join(cattrs.transform_error(exc))[:500]
    return f"{type(exc).__name__}: {exc}"[:500]


def repair_text(text: str) -> str:
    """`text` with each lone surrogate replaced by U+FFFD (it cannot be encoded as UTF-8)."""
    return _SURROGATE.sub("\ufffd", text) if _SURROGATE.search(text) else text


def _repair_strings(data: dict[str, Any]) -> None:
    """Repair every string of a parsed message in place (its id aside)."""
    stack: list[Any] = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, value in list(item.items()):
                if item is data and key == "id":
                    continue
                if isinstance(value, str):
                    item[key] = repair_text(value)
                elif isinstance(value, dict | list):
                    stack.append(value)
                if isinstance(key, str) and _SURROGATE.search(key):
                    item[repair_text(key)] = item.pop(key)
        elif isinstance(item, list):
            for index, value in enumerate(item):
                if isinstance(value, str):
                    item[index] = repair_text(value)
                elif isinstance(value, dict | list):
                    stack.append(value)


def _valid_id(msg_id: Any) -> TypeGuard[int | str]:
    return isinstance(msg_id, str) or (isinstance(msg_id, int) and not isinstance(msg_id, bool))


class LspilotProtocol(LanguageServerProtocol):
    """pygls's protocol, with every request answered and the LSP life cycle kept.

    pygls drops a request whose params do not parse without answering it (the client
    waits forever) and serves requests before `initialize` and ignores them after
    `shutdown`; here each gets the error response JSON-RPC and LSP ask for. Strings that
    UTF-8 cannot encode (lone surrogates, which JSON escapes can carry) are repaired on
    arrival, so no text the tokenizer cannot encode ever enters the server.

    pygls's text sync clamps out-of-range positions off by one and mutates the client's
    `Position` objects; lspilot keeps the one copy of each document in `Documents`.
    """

    def __init__(self, server: Any, converter: cattrs.Converter) -> None:
        super().__init__(server, converter)
        self.initialize_received = False
        self.exited = False
        """`exit` came: the connection is closing and nothing more is sent."""

    def receive(self, body: bytes) -> None:
        """One message's body off the wire: parsed, checked, then handled or refused."""
        try:
            data = json.loads(body, parse_constant=_no_constant)
        except (ValueError, RecursionError) as exc:
            log.warning("refused a message that is not JSON (%s)", _brief(exc))
            self._answer(None, types.ErrorCodes.ParseError, f"Parse error: {_brief(exc)}")
            return
        if not isinstance(data, dict):
            log.warning("refused a message that is not a JSON object")
            self._answer(None, types.ErrorCodes.InvalidRequest,
                         "Invalid request: a message is one JSON object")
            return
        if _ESCAPED_SURROGATE.search(body):
            _repair_strings(data)
        try:
            message = self._structure(data)
        except Exception as exc:  # cattrs and attrs raise many kinds for a bad shape
            self._refuse(data, exc)
            return
        if message is None:
            return
        try:
            self.handle_message(message)
        except Exception:
            log.exception("failed to handle %s", getattr(message, "method", "a response"))

    def refuse_oversized(self, size: int) -> None:
        """A message over `wire.MAX_MESSAGE_BYTES` was read past: say so (its id is unknown)."""
        log.warning("refused a message of %d bytes (over the limit)", size)
        self._answer(None, types.ErrorCodes.InvalidRequest,
                     f"Invalid request: a message of {size} bytes is over the limit")

    def _structure(self, data: dict[str, Any]) -> Any:
        """The message as lsprotocol's type; None when it was refused on its envelope."""
        has_id, msg_id, method = "id" in data, data.get("id"), data.get("method")
        request = has_id and "method" in data
        if data.get("jsonrpc") != "2.0" or (has_id and not _valid_id(msg_id)) or \
                ("method" in data and not isinstance(method, str)):
            log.warning("refused a message that is not JSON-RPC 2.0 (method %r)", method)
            if request or not ("method" in data or has_id):  # a request, or nothing at all
                self._answer(msg_id if _valid_id(msg_id) else None,
                             types.ErrorCodes.InvalidRequest,
                             "Invalid request: not a JSON-RPC 2.0 message")
            return None
        if method is not None:
            kind = self.get_message_type(method)
            if request and kind is not None and "id" not in attrs.fields_dict(kind):
                self._answer(msg_id, types.ErrorCodes.MethodNotFound,
                             f"Method not found: {method} is a notification")
                return None
            if kind is None:
                kind = JsonRPCRequestMessage if request else JsonRPCNotification
        elif "error" in data:
            kind = types.ResponseErrorMessage
        else:
            kind = self._result_types.pop(msg_id, None) if _valid_id(msg_id) else None
            kind = kind or JsonRPCResponseMessage
        return self._converter.structure(data, kind)

    def _refuse(self, data: dict[str, Any], exc: Exception) -> None:
        """A message whose shape does not parse: a request gets InvalidParams."""
        method, msg_id = data.get("method"), data.get("id")
        if method is not None and "id" in data:
            log.warning("refused %s request %r: %s", method, msg_id, _brief(exc))
            self._answer(msg_id, types.ErrorCodes.InvalidParams,
                         f"Invalid params for {method}: {_brief(exc)}")
        elif method is not None:
            log.warning("dropped %s notification: %s", method, _brief(exc))
        else:
            log.warning("dropped a malformed response to %r: %s", msg_id, _brief(exc))
            if msg_id in self._request_futures:
                self._handle_response(msg_id, None, types.ResponseError(
                    types.ErrorCodes.InvalidRequest, "malformed response from the client"))

    def _send_data(self, data: Any) -> None:
        """pygls's, except after `exit`: background work (a model still loading) must not
        write to the closed stream."""
        if not self.exited:
            super()._send_data(data)

    def _answer(self, msg_id: int | str | None, code: int, message: str) -> None:
        self._send_data(types.ResponseErrorMessage(
            id=msg_id, error=types.ResponseError(code=code, message=message)))

    def handle_message(self, message: Any) -> None:
        """LSP's life cycle first: nothing but `initialize` before it, nothing after
        `shutdown` but `exit`; then pygls's dispatch."""
        method = getattr(message, "method", None)
        request = method is not None and hasattr(message, "id")
        if method == types.EXIT:
            self.exited = True
        if method is None or method == types.EXIT:
            super().handle_message(message)
            return
        if self._shutdown or (method == types.INITIALIZE and self.initialize_received):
            refusal = "the server is shutting down" if self._shutdown else \
                "initialize was already received"
            if request:
                self._answer(message.id, types.ErrorCodes.InvalidRequest,
                             f"Invalid request: {method}: {refusal}")
            else:
                log.info("dropped %s: %s", method, refusal)
            return
        if method == types.INITIALIZE:
            self.initialize_received = True
        elif not self.initialize_received:
            if request:
                self._answer(message.id, types.ErrorCodes.ServerNotInitialized,
                             f"Server not initialized: {method} before initialize")
            else:
                log.info("dropped %s before initialize", method)
            return
        super().handle_message(message)

    @lsp_method(types.WORKSPACE_EXECUTE_COMMAND)
    def lsp_workspace__execute_command(self, params: types.ExecuteCommandParams
                                       ) -> Generator[Any, Any, Any]:
        """pygls's, with absent arguments read as none: pygls then skips its count of them
        and calls a command that needs one without it (an internal error)."""
        if params.arguments is None:
            params = types.ExecuteCommandParams(command=params.command, arguments=[],
                                                work_done_token=params.work_done_token)
        return (yield from super().lsp_workspace__execute_command(params))

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


    def _handle_cancel_notification(self, msg_id: Any) -> None:
        # pygls cancels the future of the client's request only; a command's handler runs
        # as a task of its own behind it (pygls's generator handlers), which would go on
        # working unless it is cancelled here too.
        cancel = self._server.request_cancellers.pop(str(msg_id), None)  # type: ignore[attr-defined]
        if cancel is not None:
            cancel()
        super()._handle_cancel_notification(msg_id)


class LspilotServer(LanguageServer):
    """The connection's state: open documents, the session behind them, and the status."""

    def __init__(self, store: ModelStore, forced_model: str | None = None,
                 load: Load | None = None, release: Release | None = None,
                 protocol_cls: type[LspilotProtocol] = LspilotProtocol) -> None:
        super().__init__("lspilot", __version__, protocol_cls=protocol_cls,
                         text_document_sync_kind=types.TextDocumentSyncKind.Incremental)
        self.documents = Documents()
        self.front = LspFront(self)
        self.session = Session(store, self.front, self.documents.for_context, forced_model,
                               load, release)
        self.status = StatusReporter(self.session.status, self.protocol.notify)
        self.shutdown_requested = False
        self.progress_cancellers: dict[str, Callable[[], None]] = {}
        """What `window/workDoneProgress/cancel` stops, by progress token."""
        self.request_cancellers: dict[str, Callable[[], None]] = {}
        """What `$/cancelRequest` stops besides pygls's own future, by request id."""
        self._tasks: set[asyncio.Task[Any]] = set()
        self.on_log_level: Callable[[str], None] | None = None
        """Set by `lspilot serve`: the `logLevel` setting applies to the process's log."""

    @property
    def lsp(self) -> LspilotProtocol:
        """The connection's protocol, as lspilot's own class."""
        assert isinstance(self.protocol, LspilotProtocol)
        return self.protocol

    def start_io(self, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> None:
        """Serve on stdin and stdout (pygls's loop, with `wire`'s bounds)."""
        heap.bound_transients()
        self._stop_event = stop = threading.Event()
        self.protocol.set_writer(StdoutWriter(stdout or sys.stdout.buffer))
        source = BinarySource(stdin or sys.stdin.buffer, self.thread_pool)
        try:
            asyncio.run(read_messages(source, self.lsp, stop))
        except BrokenPipeError:
            log.error("the client closed the connection")
        except (KeyboardInterrupt, SystemExit):
            pass
        finally:
            self.shutdown()

    def report_server_error(self, error: Exception,
                            source: type[PyglsError] | type[JsonRpcException]) -> None:
        """A failure pygls caught: logged; shown only when it is ours, once per kind.

        pygls's default shows every failure to the user, the client's bad requests
        included (hundreds of "Error in server: Invalid Params" popups under fuzzing). A
        request's failure is already in its error response.
        """
        code = getattr(error, "code", None)
        if source is FeatureRequestError or code in _CLIENT_ERRORS:
            log.warning("%s", error)
            return
        log.error("internal error: %s", error)
        if source is FeatureNotificationError:
            name = str(error).split(":", 1)[0][:80]
            self.session.tell("error", f"lspilot: internal error ({name}); details are in "
                              "the server's log")

    def apply_settings(self, raw: Any, *, load: bool = True) -> None:
        """The client's settings, through the session; the log level at the process edge."""
        self.session.apply_settings(raw, load=load)
        if self.on_log_level is not None:
            self.on_log_level(self.session.settings.log_level)

    def background(self, task: asyncio.Task[Any]) -> None:
        """Keep a fire-and-forget task alive until it ends."""
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def shutdown(self) -> None:
        """Stop serving without waiting for pygls's stdin reader thread.

        pygls waits for its thread pool, whose reader may be blocked in `readline` until the
        client closes our stdin, while the client waits for us to exit: a deadlock. pygls has
        no public way to stop without waiting, hence its private fields here.
        """
        if self._stop_event is not None:
            self._stop_event.set()
        if self._thread_pool is not None:
            self._thread_pool.shutdown(wait=False, cancel_futures=True)
        if self._server is not None:
            self._server.close()
        self.session.stop()

    @property
    def exit_code(self) -> int:
        """0 when the client sent `shutdown` before `exit` (as LSP asks), else 1."""
        return 0 if self.shutdown_requested else 1

    @property
    def encoding(self) -> str:
        """The position encoding negotiated at initialize (utf-16 unless agreed otherwise)."""
        kind = self.workspace.position_encoding
        # lsprotocol's enum: str() of it is "PositionEncodingKind.Utf16", its value "utf-16".
        return str(kind.value if isinstance(kind, types.PositionEncodingKind) else
                   kind or "utf-16")

    @property
    def client_supports_progress(self) -> bool:
        """Whether the client accepts server-created work-done progress."""
        window = self.client_capabilities.window
        return bool(window and window.work_done_progress)


def create_server(store: ModelStore, forced_model: str | None = None,
                  load: Load | None = None, release: Release | None = None,
                  protocol_cls: type[LspilotProtocol] = LspilotProtocol) -> LspilotServer:
    """A server with every feature registered (`load` and `release`: how its slots get and
    let go of models, when they are shared; `protocol_cls`: per connection, over TCP)."""
    from lspilot.lsp import commands, completions, edits, lifecycle, sync

    server = LspilotServer(store, forced_model, load, release, protocol_cls)
    for area in (lifecycle, sync, completions, commands, edits):
        area.register(server)
    return server
