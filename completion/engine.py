"""The model's life cycle and the rule that the newest request for a document wins."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from lspilot.completion.cache import CompletionCache, Shown
from lspilot.completion.pipeline import Completion, CompletionRequest, complete
from lspilot.context.gather import ContextProvider
from lspilot.models.backends.base import (
    Backend,
    BackendConfig,
    BackendError,
    GenerationStats,
)
from lspilot.models.roles import backend_config, parse_model_id
from lspilot.models.store import ModelError, ModelStore
from lspilot.settings import LlamaCppSettings, ServersSettings, Settings, json_key
from lspilot.templates import Prompt

log = logging.getLogger(__name__)


class Events(Protocol):
    """What the engine tells its front end (the LSP server or the CLI)."""

    def loading(self, model: str, done: int, total: int, message: str) -> None:
        """Progress of fetching or loading a model (`total` 0 when unknown)."""

    def loaded(self, model: str, template: str) -> None:
        """A model is ready to serve."""

    def failed(self, model: str, error: str) -> None:
        """A model could not be made ready; `error` is for the user."""


@dataclass(frozen=True)
class ModelTarget:
    """What the current model was loaded from; a settings change that alters it reloads."""

    name: str
    llama_cpp: LlamaCppSettings | None
    servers: ServersSettings | None

    @classmethod
    def of(cls, settings: Settings) -> ModelTarget:
        """The autocomplete target; only the settings of its own kind of backend count."""
        name = settings.models.autocomplete
        try:
            embedded = parse_model_id(name).backend == "embedded"
        except ModelError:
            embedded = False
        return cls(name, settings.llama_cpp if embedded else None,
                   None if embedded else settings.servers)


FOLLOW_POLL_S = 0.02
"""How often a request waiting for another's generation checks it against the typed text."""

RETRY_SECONDS = 5.0
"""How often a server that could not be reached is tried again, on a completion request."""


Loader = Callable[[BackendConfig], Backend]


@dataclass
class Counters:
    """What happened to completion requests since the server started (kept local)."""

    requests: int = 0
    completed: int = 0
    cancelled: int = 0
    failed: int = 0
    cache_hits: int = 0
    model_starts: int = 0
    """Requests that reached the model, finished or not."""
    model_calls: int = 0
    """Requests the model finished."""
    shown: int = 0
    accepted: int = 0
    accepted_chars: int = 0
    evaluated_tokens: int = 0
    needed_tokens: int = 0
    """Prompt tokens the requests that reached the model needed evaluated (KV cache aside),
    whether or not they were stopped before evaluating them."""
    joined: int = 0
    """Requests that waited for a superseded request's generation to finish, typed on from
    it, instead of starting another."""
    joins_abandoned: int = 0
    """Of those, the ones that stopped waiting when the model's text contradicted the user's."""


@dataclass(eq=False)
class _Job:
    """One request's work on the model."""

    request: CompletionRequest
    stats: GenerationStats
    task: asyncio.Task[Completion] = field(init=False)
    raw: str = ""
    """What the model has written so far."""

    @property
    def generating(self) -> bool:
        """The prompt is evaluated and tokens are coming: the rest is cheap."""
        return self.stats.prompt_ms > 0

    def contradicts(self, typed: str) -> bool:
        """Whether what the model wrote so far already differs from what the user typed."""
        raw = self.raw.lstrip()
        typed = typed.lstrip()
        shared = min(len(raw), len(typed))
        return raw[:shared] != typed[:shared]


def _typed_on(old: CompletionRequest, new: CompletionRequest) -> bool:
    """Whether `new` is `old` with text typed at its cursor (and nothing else changed)."""
    return (old.uri == new.uri and new.offset >= old.offset
            and new.text.startswith(old.text[:old.offset])
            and new.text[new.offset:] == old.text[old.offset:]
            and len(new.text) - new.offset == len(old.text) - old.offset)


class Engine:
    """Owns the autocomplete backend and runs completions on it."""

    def __init__(self, settings: Settings, store: ModelStore, events: Events,
                 loader: Loader | None = None) -> None:
        from lspilot.models.backends.base import make_backend

        self.settings = settings
        self._store = store
        self._events = events
        self._loader = loader or make_backend
        self._backend: Backend | None = None
        self._target: ModelTarget | None = None
        self._loading: asyncio.Task[None] | None = None
        self._load_lock = asyncio.Lock()
        self._error: str | None = None
        self._attempted = 0.0
        self._settled: ModelTarget | None = None
        """The target whose load finished last (before the events about it are sent)."""
        self._inflight: dict[str, asyncio.Task[object]] = {}
        self._jobs: dict[str, _Job] = {}
        self.last: Completion | None = None
        self.counters = Counters()
        self.cache = CompletionCache()
        self._anchors: dict[str, int] = {}
        self._shown: OrderedDict[int, int] = OrderedDict()
        self._next_id = 0
        self.latencies: deque[float] = deque(maxlen=500)
        self.context: ContextProvider | None = None
        """The workspace's context engine, set by the server once it knows the workspace."""

    @property
    def state(self) -> str:
        """`loading`, `ready`, `error` or `idle`."""
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
    def backend(self) -> Backend | None:
        """The model now serving completions, if any."""
        return self._backend

    def apply_settings(self, settings: Settings, *, load: bool = True) -> None:
        """Take new settings; start loading another model when they name one."""
        self.settings = settings
        target = ModelTarget.of(settings)
        if load and target != self._target:
            self.start_loading()

    def start_loading(self) -> asyncio.Task[None]:
        """Load the configured model in the background (the old one serves meanwhile)."""
        target = ModelTarget.of(self.settings)
        self._target = target
        self._attempted = time.monotonic()
        self._loading = asyncio.create_task(self._load(target))
        return self._loading

    async def _load(self, target: ModelTarget) -> None:
        # Loads run one at a time (a thread cannot be cancelled); a load superseded before
        # it starts is skipped, and a finished one serves until the newer one is ready.
        async with self._load_lock:
            if target == self._target:
                await self._load_now(target)

    async def _load_now(self, target: ModelTarget) -> None:
        loop = asyncio.get_running_loop()
        name = target.name

        def progress(done: int, total: int, message: str) -> None:
            loop.call_soon_threadsafe(self._events.loading, name, done, total, message)

        try:
            self._events.loading(name, 0, 0, f"preparing {name}")
            config = await asyncio.to_thread(
                backend_config, name, self.settings.llama_cpp, self.settings.servers,
                self._store, progress)
            where = getattr(config, "path", None)
            self._events.loading(name, 0, 0, f"loading {where.name}" if where else
                                 f"connecting to {name}")
            backend = await asyncio.to_thread(self._loader, config)
        except (ModelError, BackendError) as exc:
            self._settled = target
            self._error = f"{name}: {exc}"
            log.error("model %s failed: %s", name, exc)
            self._events.failed(name, str(exc))
            return
        old, self._backend, self._error = self._backend, backend, None
        # Another model answers differently: what the old one said is no longer shown.
        self.cache.clear()
        self._anchors.clear()
        self._settled = target
        self._events.loaded(name, backend.template.family)
        if old is not None:
            await old.aclose()

    async def ready_backend(self) -> Backend:
        """The backend, waiting for a load in progress; raises when none can serve."""
        if self._should_retry():
            self.start_loading()
        if self._loading is not None and not self._loading.done():
            await asyncio.shield(self._loading)
        if self._backend is None:
            raise BackendError(self._error or "no model is loaded")
        return self._backend

    def _should_retry(self) -> bool:
        # A server that was down when we connected may be back: try again now and then.
        target = self._target
        return (self._error is not None and target is not None and target.servers is not None
                and (self._loading is None or self._loading.done())
                and time.monotonic() - self._attempted >= RETRY_SECONDS)

    async def complete(self, request: CompletionRequest) -> Completion:
        """Complete at a cursor; a newer request for the same document supersedes this one.

        The model's work runs as a job apart from the request. A superseded request whose
        job is already generating lets the job finish when the newer request only typed on
        from it: the newer one waits for it and is then usually served from the typed-ahead
        cache. Any other superseded job is stopped.
        """
        task = asyncio.current_task()
        assert task is not None
        previous = self._inflight.get(request.uri)
        if previous is not None and previous is not task and not previous.done():
            previous.cancel()
        self._inflight[request.uri] = task
        self.counters.requests += 1
        started = time.perf_counter()
        prefix, suffix = request.text[:request.offset], request.text[request.offset:]
        try:
            hit = self._lookup(request.uri, prefix, suffix)
            job = self._jobs.get(request.uri)
            if hit is None and job is not None and not job.task.done():
                if job.generating and _typed_on(job.request, request):
                    self.counters.joined += 1
                    await self._follow(job, request.text[job.request.offset:request.offset])
                    hit = self._lookup(request.uri, prefix, suffix)
                else:
                    job.task.cancel()
            if hit is not None:
                self.counters.cache_hits += 1
                completion = self._cached(hit)
            else:
                if request.trigger == "automatic" and self.settings.completion.debounce_ms:
                    # A keystroke within the pause supersedes this request before any work.
                    await asyncio.sleep(self.settings.completion.debounce_ms / 1000)
                backend = await self.ready_backend()
                job = _Job(request, GenerationStats())
                job.task = asyncio.get_running_loop().create_task(self._run(job, backend))
                self._jobs[request.uri] = job
                try:
                    completion = await asyncio.shield(job.task)
                except asyncio.CancelledError:
                    if not job.task.done() and not job.generating:
                        job.task.cancel()
                    raise
        except asyncio.CancelledError:
            self.counters.cancelled += 1
            raise
        except BackendError:
            self.counters.failed += 1
            raise
        else:
            self.counters.completed += 1
            if completion.text:
                self.counters.shown += 1
                self.latencies.append((time.perf_counter() - started) * 1000)
            return completion
        finally:
            if self._inflight.get(request.uri) is task:
                del self._inflight[request.uri]

    async def _follow(self, job: _Job, typed: str) -> None:
        """Wait for a job the user typed on from; stop it once its text contradicts them."""
        while not job.task.done():
            if job.contradicts(typed):
                self.counters.joins_abandoned += 1
                job.task.cancel()
                return
            await asyncio.wait({job.task}, timeout=FOLLOW_POLL_S)

    def _lookup(self, uri: str, prefix: str, suffix: str) -> str | None:
        if not self.settings.completion.typed_ahead_cache:
            return None
        return self.cache.lookup(uri, prefix, suffix)

    async def _run(self, job: _Job, backend: Backend) -> Completion:
        """The model's work for one request; it may outlive the request (see `complete`)."""
        request = job.request
        anchor = self._anchors.get(request.uri) if self.settings.completion.reuse_window \
            else None
        self.counters.model_starts += 1
        try:
            context = self.context if self.settings.context.enabled else None
            completion = await complete(request, backend, self.settings.completion, anchor,
                                        job.stats, context, self.settings.context.tokens,
                                        lambda raw: setattr(job, "raw", raw))
        finally:
            # Stopped jobs did work too: count what the model evaluated.
            self.counters.evaluated_tokens += job.stats.evaluated_tokens
            self.counters.needed_tokens += max(job.stats.needed_tokens,
                                               job.stats.evaluated_tokens)
            if self._jobs.get(request.uri) is job:
                del self._jobs[request.uri]
        self._anchors[request.uri] = completion.window_start
        self.cache.store(Shown(request.uri, request.text[:request.offset],
                               request.text[request.offset:], completion.text))
        self.counters.model_calls += 1
        self.last = completion
        return completion

    def _cached(self, text: str) -> Completion:
        backend = self._backend
        return Completion(text=text, raw="", prompt=Prompt(()),
                          model=backend.name if backend else "",
                          template=backend.template.family if backend else "",
                          multiline="\n" in text, cached=True)

    def shown_id(self, completion: Completion) -> int:
        """An id for a shown completion, reported back by the editor on acceptance."""
        self._next_id += 1
        self._shown[self._next_id] = len(completion.text)
        while len(self._shown) > 256:
            self._shown.popitem(last=False)
        return self._next_id

    def accepted(self, shown_id: int) -> bool:
        """Count an accepted completion (once); False for an unknown or repeated id."""
        chars = self._shown.pop(shown_id, None)
        if chars is None:
            return False
        self.counters.accepted += 1
        self.counters.accepted_chars += chars
        return True

    def stats(self) -> dict[str, float | int]:
        """Local counters and latency percentiles of shown completions."""
        figures: dict[str, float | int] = {
            json_key(name): value for name, value in dataclasses.asdict(self.counters).items()}
        ordered = sorted(self.latencies)
        for name, q in (("latencyMsP50", 0.5), ("latencyMsP95", 0.95)):
            figures[name] = round(ordered[int(q * (len(ordered) - 1))], 1) if ordered else 0
        return figures

    async def aclose(self) -> None:
        """Stop loading and release the model."""
        if self._loading is not None:
            self._loading.cancel()
        if self._backend is not None:
            await self._backend.aclose()
            self._backend = None
