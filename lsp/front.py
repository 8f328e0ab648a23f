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

MESSAGE_TYPES = {"error": types.MessageType.Error, "warning": types.MessageType.Warning,
                 "info": types.MessageType.Info}


class LspFront:
    """Implements `lspilot.session.Front` over the server's connection."""

    def __init__(self, ls: LspilotServer) -> None:
        self._ls = ls
        self._loads: dict[Role, WorkDone] = {}
        self._held: list[tuple[Level, str]] = []
        self.initialized = False

    def loading(self, role: Role, model: str, done: int, total: int, message: str) -> None:
        """Begin or report a model load's progress."""
        load = self._loads.get(role)
        if load is None:
            title = f"lspilot: {model}" if role == "autocomplete" else \
                f"lspilot: {model} ({role})"
            load = self._loads[role] = WorkDone(self._ls, title)
            self._ls.status.changed()
        load.report(message, int(done * 100 / total) if total else None)

    def loaded(self, role: Role, model: str, template: str) -> None:
        """End the load's progress."""
        self._end(role, f"{model} ready ({template})")
        self._ls.status.changed()

    def failed(self, role: Role, model: str, error: str) -> None:
        """End the load's progress and tell the user, once per distinct error."""
        self._end(role, f"{model} failed")
        self._ls.session.tell("error", f"lspilot: {error}")
        self._ls.status.changed()

    def _end(self, role: Role, message: str) -> None:
        load = self._loads.pop(role, None)
        if load is not None:
            load.end(message)

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

    def release(self) -> None:
        """The client is initialized: send what was held."""
        self.initialized = True
        held, self._held = self._held, []
        for level, message in held:
            self.show(level, message)
