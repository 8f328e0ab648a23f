"""Loaded models shared between sessions: `lspilot serve --tcp` runs a session per editor,
and editors that ask for the same model with the same settings share one copy of it."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from lspilot.models.backends.base import Backend
from lspilot.models.roles import with_role
from lspilot.models.slot import Load, Target
from lspilot.models.store import Progress
from lspilot.settings import Settings


@dataclass
class _Shared:
    backend: Backend
    users: int


class BackendPool:
    """Hands out one backend per target (model id and the settings of its kind of backend),
    counting its users; the last one to let go closes it."""

    def __init__(self, load: Load) -> None:
        self._load = load
        self._lock = threading.Lock()
        self._shared: dict[Target, _Shared] = {}
        self._loading: dict[Target, threading.Lock] = {}

    def load(self, model_id: str, settings: Settings, progress: Progress) -> Backend:
        """The shared backend for this model, loaded on first use (blocking, as `Load`)."""
        target = Target.of(with_role(settings, "autocomplete", model_id), "autocomplete")
        with self._lock:
            loading = self._loading.setdefault(target, threading.Lock())
        with loading:  # two editors asking at once load it once
            with self._lock:
                shared = self._shared.get(target)
                if shared is not None:
                    shared.users += 1
                    return shared.backend
            backend = self._load(model_id, settings, progress)
            with self._lock:
                self._shared[target] = _Shared(backend, 1)
            return backend

    async def release(self, backend: Backend) -> None:
        """One user lets go of `backend`; closed when nobody uses it any more."""
        with self._lock:
            target = next((t for t, s in self._shared.items() if s.backend is backend), None)
            if target is None:
                last = True
            else:
                shared = self._shared[target]
                shared.users -= 1
                last = shared.users == 0
                if last:
                    del self._shared[target]
        if last:
            await backend.aclose()

    def users(self) -> dict[str, int]:
        """How many sessions use each loaded model, by model id."""
        with self._lock:
            return {t.model: s.users for t, s in self._shared.items()}
