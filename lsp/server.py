"""The lspilot language server: the connection, its state, and the handlers by area.

Each area module (`lifecycle`, `sync`, `completions`, `commands`, `edits`) registers handlers that
convert LSP types and call one function of the session (`lspilot.session`); policy lives
there, never here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Generator
from typing import Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol, lsp_method

from lspilot import __version__
from lspilot.lsp.documents import Documents
from lspilot.lsp.front import LspFront
from lspilot.lsp.status import StatusReporter
from lspilot.models.slot import Load, Release
from lspilot.models.store import ModelStore
from lspilot.session import Session


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
        self.session = Session(store, self.front, self.documents.all, forced_model, load,
                               release)
        self.status = StatusReporter(self.session.status, self.protocol.notify)
        self.shutdown_requested = False
        self.progress_cancellers: dict[str, Callable[[], None]] = {}
        """What `window/workDoneProgress/cancel` stops, by progress token."""
        self.request_cancellers: dict[str, Callable[[], None]] = {}
        """What `$/cancelRequest` stops besides pygls's own future, by request id."""
        self._tasks: set[asyncio.Task[Any]] = set()
        self.on_log_level: Callable[[str], None] | None = None
        """Set by `lspilot serve`: the `logLevel` setting applies to the process's log."""

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
        return str(self.workspace.position_encoding or "utf-16")

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
