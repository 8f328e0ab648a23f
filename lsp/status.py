"""`lspilot/status`: what an editor's status bar shows. Sent at every change of state and,
throttled, after completions; its params are the contract with the editor extensions."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Protocol

from lspilot.session import Status

STATUS = "lspilot/status"
THROTTLE_SECONDS = 1.0
"""At most one status after completions per this many seconds (one per keystroke is noise)."""


def status_params(status: Status) -> dict[str, Any]:
    """The notification's params."""
    return {"state": status.state, "model": status.model, "backend": status.backend,
            "template": status.template, "latencyMs": status.latency_ms,
            "tokensPerSecond": status.tokens_per_second, "message": status.message,
            "editModel": status.edit_model, "editState": status.edit_state}


class Notify(Protocol):
    """Sends one notification to the client."""

    def __call__(self, method: str, params: Any) -> None:
        """Send it."""


class StatusReporter:
    """Sends `lspilot/status` at once when the state changes, and after completions at most
    once per `THROTTLE_SECONDS`."""

    def __init__(self, status: Callable[[], Status], notify: Notify) -> None:
        self._status = status
        self._notify = notify
        self._last = 0.0
        self._pending: asyncio.TimerHandle | None = None

    def changed(self) -> None:
        """The state changed: send now."""
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
        self._send()

    def completed(self) -> None:
        """A completion finished: send, throttled."""
        loop = asyncio.get_running_loop()
        wait = self._last + THROTTLE_SECONDS - loop.time()
        if wait <= 0:
            self.changed()
        elif self._pending is None:
            self._pending = loop.call_later(wait, self.changed)

    def _send(self) -> None:
        try:
            self._last = asyncio.get_running_loop().time()
        except RuntimeError:
            pass
        self._notify(STATUS, status_params(self._status()))
