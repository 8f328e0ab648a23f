"""The session's events as LSP: `$/progress` per model load, `window/showMessage`, and
`lspilot/status`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types

from lspilot.lsp.progress import WorkDone
from lspilot.models.roles import Role
from lspilot.session import Level

if TYPE_CHECKING:
    from lspilot.lsp.server import LspilotServer

REFRESH = "lspilot/refresh"

MESSAGE_TYPES = {"error": types.MessageType.Error, "warning": types.MessageType.Warning,
                 "info": types.MessageType.Info}


class LspFront:
    """Implements `lspilot.session.Front` over the server's connection."""

    def __init__(self, ls: LspilotServer) -> None:
        self._ls = ls
        self._loads: dict[Role, tuple[str, WorkDone]] = {}
        """The open progress of each role's load, and the model it is for."""
        self._held: list[tuple[Level, str]] = []
        self.initialized = False

    def loading(self, role: Role, model: str, done: int, total: int, message: str) -> None:
        """Begin or report a model load's progress; a switch to another model while one
        loads ends that one's progress and begins its own (its title names the model)."""
        open_load = self._loads.get(role)
        if open_load is not None and open_load[0] != model:
            self._end(role, f"{open_load[0]}: switched to {model}")
            open_load = None
        if open_load is None:
            title = f"lspilot: {model}" if role == "autocomplete" else \
                f"lspilot: {model} ({role})"
            open_load = self._loads[role] = (model, WorkDone(self._ls, title))
            self._ls.status.changed()
        open_load[1].report(message, int(done * 100 / total) if total else None)

    def loaded(self, role: Role, model: str, template: str) -> None:
        """End the load's progress."""
        self._end(role, f"{model} ready ({template})")
        self._ls.status.changed()

    def failed(self, role: Role, model: str, error: str) -> None:
        """End the load's progress (the session tells the user)."""
        self._end(role, f"{model} failed")
        self._ls.status.changed()

    def _end(self, role: Role, message: str) -> None:
        load = self._loads.pop(role, None)
        if load is not None:
            load[1].end(message)

    def show(self, level: Level, message: str) -> None:
        """`window/showMessage`; held until the client sent `initialized`."""
        if not self.initialized:
            self._held.append((level, message))
            return
        self._ls.window_show_message(types.ShowMessageParams(type=MESSAGE_TYPES[level],
                                                             message=message))

    def status_changed(self, urgent: bool = True) -> None:
        """Send `lspilot/status` (throttled when not urgent)."""
        if urgent:
            self._ls.status.changed()
        else:
            self._ls.status.completed()

    def refreshed(self, uri: str) -> None:
        """`lspilot/refresh`: a newer suggestion waits at the document's cursor; editors
        ask for inline completions again (there is no LSP request for this)."""
        self._ls.protocol.notify(REFRESH, {"uri": uri})

    def release(self) -> None:
        """The client is initialized: send what was held."""
        self.initialized = True
        held, self._held = self._held, []
        for level, message in held:
            self.show(level, message)
