"""`lspilot/status`: what an editor's status bar shows. Sent at every change of state and,
throttled, after completions; its params are the contract with the editor extensions."""

from __future__ import annotations

import asyncio
import statistics
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Protocol

from lspilot.completion.engine import Engine
from lspilot.completion.pipeline import Completion
from lspilot.models.roles import parse_model_id
from lspilot.models.store import ModelError

STATUS = "lspilot/status"
THROTTLE_SECONDS = 1.0
"""At most one status after completions per this many seconds (one per keystroke is noise)."""


@dataclass
class Recent:
    """The latency and speed of the last few completions."""

    size: int = 10
    completions: deque[Completion] = field(default_factory=deque)

    def add(self, completion: Completion) -> None:
        """Remember one completion, forgetting the oldest."""
        self.completions.append(completion)
        while len(self.completions) > self.size:
            self.completions.popleft()

    @property
    def latency_ms(self) -> float | None:
        """Median end-to-end time of the recent completions."""
        if not self.completions:
            return None
        return round(statistics.median(c.total_ms for c in self.completions), 1)

    @property
    def tokens_per_second(self) -> float | None:
        """Generated tokens over generation time, across the recent completions."""
        tokens = sum(c.stats.generated_tokens for c in self.completions)
        ms = sum(c.stats.generate_ms for c in self.completions if c.stats.generated_tokens)
        return round(tokens * 1000 / ms, 1) if tokens and ms > 0 else None


def backend_kind(model_id: str) -> str:
    """`embedded`, `llama-server`, `ollama` or `openai`."""
    try:
        return parse_model_id(model_id).backend
    except ModelError:
        return "embedded"


def status_params(engine: Engine, recent: Recent, problem: str | None) -> dict[str, Any]:
    """The notification's params; `problem` is the last completion's failure, if any."""
    model = engine.settings.models.autocomplete
    backend = engine.backend
    state = {"idle": "loading"}.get(engine.state, engine.state)
    message = engine.error if state == "error" else None
    if state == "ready" and problem is not None:
        state, message = "error", problem
    return {"state": state, "model": model, "backend": backend_kind(model),
            "template": backend.template.family if backend and backend.name == model else None,
            "latencyMs": recent.latency_ms, "tokensPerSecond": recent.tokens_per_second,
            "message": message}


class Notify(Protocol):
    """Sends one notification to the client."""

    def __call__(self, method: str, params: Any) -> None:
        """Send it."""


class StatusReporter:
    """Sends `lspilot/status` when the state changes, and after completions at most once
    per `THROTTLE_SECONDS`."""

    def __init__(self, engine: Engine, notify: Notify) -> None:
        self._engine = engine
        self._notify = notify
        self.recent = Recent()
        self.problem: str | None = None
        self._last = 0.0
        self._pending: asyncio.TimerHandle | None = None

    def changed(self) -> None:
        """The state changed: send now."""
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
        self._send()

    def completed(self, completion: Completion | None, problem: str | None = None) -> None:
        """A completion finished (or failed with `problem`): send, throttled."""
        if completion is not None:
            self.recent.add(completion)
        if (problem is None) != (self.problem is None):
            self.problem = problem
            self.changed()
            return
        self.problem = problem
        loop = asyncio.get_running_loop()
        wait = self._last + THROTTLE_SECONDS - loop.time()
        if wait <= 0:
            self.changed()
        elif self._pending is None:
            self._pending = loop.call_later(wait, self.changed)

    def params(self) -> dict[str, Any]:
        """What would be sent now."""
        return status_params(self._engine, self.recent, self.problem)

    def _send(self) -> None:
        try:
            self._last = asyncio.get_running_loop().time()
        except RuntimeError:
            pass
        self._notify(STATUS, self.params())
