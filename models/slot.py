"""A model slot per role: the model serving `autocomplete` or `edit`, loaded and switched in
the background while the old one serves."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from lspilot.models.backends.base import Backend, BackendError, make_backend
from lspilot.models.roles import Role, backend_config, parse_model_id
from lspilot.models.store import ModelError, ModelStore, Progress
from lspilot.settings import LlamaCppSettings, ServersSettings, Settings

log = logging.getLogger(__name__)

RETRY_SECONDS = 5.0
"""How often a server that could not be reached is tried again, when a request needs it."""

Load = Callable[[str, Settings, Progress], Backend]
"""Make a model id ready to serve (fetch, check memory, load or connect). Blocking: the slot
runs it off the event loop."""

Release = Callable[[Backend], Awaitable[None]]
"""Lets go of a backend the slot no longer serves with (by default: closes it)."""

Clock = Callable[[], float]


class SlotEvents(Protocol):
    """What a slot tells its front end (the LSP server or the CLI)."""

    def loading(self, role: Role, model: str, done: int, total: int, message: str) -> None:
        """Progress of fetching or loading a model (`total` 0 when unknown)."""

    def loaded(self, role: Role, model: str, template: str) -> None:
        """A model is ready to serve."""

    def failed(self, role: Role, model: str, error: str) -> None:
        """A model could not be made ready; `error` is for the user."""


def store_loader(store: ModelStore) -> Load:
    """The real loader: resolve through the model cache, check memory, build the backend."""

    def load(model_id: str, settings: Settings, progress: Progress) -> Backend:
        config = backend_config(model_id, settings.llama_cpp, settings.servers, store, progress)
        return make_backend(config)

    return load


def model_of(settings: Settings, role: Role) -> str:
    """The model id that `settings` give `role`."""
    return settings.models.autocomplete if role == "autocomplete" else settings.models.edit


def for_role(settings: Settings, role: Role) -> Settings:
    """The settings a role's model loads with: an edit reads and writes whole files, so the
    edit model gets its own context size, and only it drafts from its prompt."""
    if role != "edit":
        # Completions are too short for prompt-lookup decoding to gain, and it would keep
        # logits for every token they read.
        if not settings.llama_cpp.prompt_lookup:
            return settings
        return dataclasses.replace(settings, llama_cpp=dataclasses.replace(
            settings.llama_cpp, prompt_lookup=0))
    if settings.llama_cpp.context_size == settings.edit.context_size:
        return settings
    return dataclasses.replace(settings, llama_cpp=dataclasses.replace(
        settings.llama_cpp, context_size=settings.edit.context_size))


@dataclass(frozen=True)
class Target:
    """What a slot's model is loaded from; a settings change that alters it reloads."""

    model: str
    llama_cpp: LlamaCppSettings | None
    servers: ServersSettings | None

    @classmethod
    def of(cls, settings: Settings, role: Role) -> Target:
        """The role's target; only the settings of its own kind of backend count."""
        model = model_of(settings, role)
        settings = for_role(settings, role)
        try:
            embedded = parse_model_id(model).backend == "embedded"
        except ModelError:
            embedded = False
        return cls(model, settings.llama_cpp if embedded else None,
                   None if embedded else settings.servers)


class ModelSlot:
    """Owns one role's backend: loads it in the background, switches without a gap, retries a
    server that was down, and releases the old model once the new one serves."""

    def __init__(self, role: Role, settings: Settings, load: Load, events: SlotEvents, *,
                 release: Release | None = None, clock: Clock = time.monotonic,
                 retry_seconds: float = RETRY_SECONDS) -> None:
        self.role = role
        self.settings = settings
        self._load_model = load
        self._release: Release = release or _close
        self._events = events
        self._clock = clock
        self._retry_seconds = retry_seconds
        self._backend: Backend | None = None
        self._target: Target | None = None
        """What the last load was started for (None: never asked to load)."""
        self._settled: Target | None = None
        """What the last finished load was for (before the events about it are sent)."""
        self._serving: Target | None = None
        """What the backend now serving was loaded for."""
        self._loading: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._error: str | None = None
        self._fault: str | None = None
        self._attempted = 0.0
        self.switched: list[Callable[[], None]] = []
        """Called when another model starts serving (what the old one said is stale)."""

    @property
    def model(self) -> str:
        """The configured model id."""
        return model_of(self.settings, self.role)

    @property
    def state(self) -> str:
        """`loading`, `ready`, `error` or `idle` (never asked to load)."""
        if (self._loading is not None and not self._loading.done()
                and self._settled != self._target):
            return "loading"
        if self._error is not None:
            return "error"
        return "ready" if self._backend is not None else "idle"

    @property
    def error(self) -> str | None:
        """Why the configured model is not serving, if it failed."""
        return self._error

    @property
    def fault(self) -> str | None:
        """The error without what varies between tries (see `BackendError.fault`)."""
        return self._fault

    @property
    def backend(self) -> Backend | None:
        """The model now serving, if any."""
        return self._backend

    def configure(self, settings: Settings, *, load: bool = True) -> None:
        """Take new settings; reload when they change this role's model and it was loaded
        before (a slot never asked to load stays lazy)."""
        self.settings = settings
        if load and self._target is not None and Target.of(settings, self.role) != self._target:
            self.start_loading()

    def start_loading(self) -> asyncio.Task[None]:
        """Load the configured model in the background (the old one serves meanwhile)."""
        target = Target.of(self.settings, self.role)
        self._target = target
        self._attempted = self._clock()
        self._loading = asyncio.get_running_loop().create_task(self._load(target))
        return self._loading

    async def _load(self, target: Target) -> None:
        # Loads run one at a time (a thread cannot be cancelled). Each switch shows its
        # progress at once, also while an earlier load still runs; a load superseded before
        # it starts is skipped, one superseded while it ran never serves, and a switch back
        # to the model still serving has nothing to load.
        self._events.loading(self.role, target.model, 0, 0, f"preparing {target.model}")
        async with self._lock:
            if target != self._target:
                return
            if target == self._serving and self._backend is not None:
                self._settled, self._error, self._fault = target, None, None
                self._events.loaded(self.role, target.model, self._backend.template.family)
                return
            await self._load_now(target)

    async def _load_now(self, target: Target) -> None:
        loop = asyncio.get_running_loop()
        name, role = target.model, self.role

        def wanted(done: int, total: int, message: str) -> None:
            if target == self._target:
                self._events.loading(role, name, done, total, message)

        def progress(done: int, total: int, message: str) -> None:
            loop.call_soon_threadsafe(wanted, done, total, message)

        if not name:
            self._fail(target, f"no model is configured for {role}")
            return
        try:
            backend = await asyncio.to_thread(self._load_model, name,
                                              for_role(self.settings, role), progress)
        except (ModelError, BackendError) as exc:
            if target == self._target:  # nobody is told about a model they moved on from
                self._fail(target, str(exc), exc.fault if isinstance(exc, BackendError) else None)
            return
        except Exception as exc:  # a loader's bug must not leave the slot silently idle
            log.exception("loading %s failed unexpectedly", name)
            if target == self._target:
                self._fail(target, f"could not be loaded ({type(exc).__name__}: {exc})")
            return
        if target != self._target:
            log.info("%s model %s loaded after the switch to %s; released", role, name,
                     self._target.model if self._target is not None else "none")
            await self._release(backend)
            return
        old, self._backend, self._error, self._fault = self._backend, backend, None, None
        self._settled = self._serving = target
        for listener in self.switched:
            listener()
        self._events.loaded(role, name, backend.template.family)
        if old is not None:
            await self._release(old)

    def _fail(self, target: Target, error: str, fault: str | None = None) -> None:
        self._settled = target
        self._error = f"{target.model}: {error}"
        self._fault = f"{target.model}: {fault or error}"
        log.error("%s model %s failed: %s", self.role, target.model, error)
        self._events.failed(self.role, target.model, error)

    async def ready(self, *, configured: bool = False) -> Backend:
        """The backend, loading it first if needed; raises BackendError when none serves.

        After a failed switch the old model goes on serving; with `configured` the
        configured model must serve (an edit asked of one model is not made by another).
        """
        unloaded = self._target != Target.of(self.settings, self.role) and not self._busy()
        if unloaded or self._should_retry():
            self.start_loading()
        if self._loading is not None and not self._loading.done():
            await asyncio.shield(self._loading)
        if self._backend is None or (configured and self._error is not None):
            raise BackendError(self._error or f"no {self.role} model is loaded", self._fault)
        return self._backend

    def _busy(self) -> bool:
        return self._loading is not None and not self._loading.done()

    def _should_retry(self) -> bool:
        # A server that was down when we connected may be back: try again now and then.
        target = self._target
        return (self._error is not None and target is not None and target.servers is not None
                and not self._busy()
                and self._clock() - self._attempted >= self._retry_seconds)

    async def aclose(self) -> None:
        """Stop loading and release the model."""
        if self._loading is not None:
            self._loading.cancel()
        if self._backend is not None:
            backend, self._backend = self._backend, None
            await self._release(backend)


async def _close(backend: Backend) -> None:
    await backend.aclose()
