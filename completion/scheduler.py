"""When the model runs while the user types: the newest request for a document wins, a
request typed on from a generating job follows it, and typed-ahead text needs no model."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from lspilot.completion.cache import CompletionCache, Shown
from lspilot.completion.counters import Meter
from lspilot.completion.pipeline import Completion, CompletionRequest
from lspilot.models.backends.base import GenerationStats
from lspilot.settings import CompletionSettings
from lspilot.templates import Prompt

FOLLOW_POLL_S = 0.02
"""How often a request waiting for another's generation checks it against the typed text."""

Run = Callable[["Job", int | None], Awaitable[Completion]]
"""Runs the pipeline for a job, given the document's last window start (KV anchor)."""


@dataclass(eq=False)
class Job:
    """One request's work on the model; it may outlive the request (see `Scheduler`)."""

    request: CompletionRequest
    stats: GenerationStats = field(default_factory=GenerationStats)
    raw: str = ""
    """What the model has written so far."""
    task: asyncio.Task[Completion] | None = None
    stopping: bool = False

    @property
    def generating(self) -> bool:
        """The prompt is evaluated and tokens are coming: the rest is cheap."""
        return self.stats.prompt_ms > 0

    @property
    def running(self) -> bool:
        """Started and not finished (a stopped job runs until the model is free of it)."""
        return self.task is not None and not self.task.done()

    def stop(self) -> None:
        """Stop the model's work; once, so that its end (and what it cost) is seen."""
        if self.running and not self.stopping:
            self.stopping = True
            assert self.task is not None
            self.task.cancel()

    def contradicts(self, typed: str) -> bool:
        """Whether what the model wrote so far already differs from what the user typed."""
        raw = self.raw.lstrip()
        typed = typed.lstrip()
        shared = min(len(raw), len(typed))
        return raw[:shared] != typed[:shared]


def typed_on(old: CompletionRequest, new: CompletionRequest) -> bool:
    """Whether `new` is `old` with text typed at its cursor (and nothing else changed)."""
    return (old.uri == new.uri and new.offset >= old.offset
            and new.text.startswith(old.text[:old.offset])
            and new.text[new.offset:] == old.text[old.offset:]
            and len(new.text) - new.offset == len(old.text) - old.offset)


class Scheduler:
    """Per document: supersede, follow, debounce; the typed-ahead cache and KV anchors.

    The model's work runs as a job apart from the request. A superseded request whose job is
    already generating lets the job finish when the newer request only typed on from it: the
    newer one waits for it and is then usually served from the typed-ahead cache. Any other
    superseded job is stopped.
    """

    def __init__(self, settings: CompletionSettings, meter: Meter) -> None:
        self.settings = settings
        self.meter = meter
        self.cache = CompletionCache()
        self._anchors: dict[str, int] = {}
        self._inflight: dict[str, asyncio.Task[object]] = {}
        self._jobs: dict[str, Job] = {}
        self._model = ("", "")
        """The model and template of the last completion the model made (for cache hits)."""

    def forget(self) -> None:
        """Another model serves: what the old one said is no longer shown."""
        self.cache.clear()
        self._anchors.clear()

    def close(self, uri: str) -> None:
        """A document closed: drop what is kept for it."""
        self._anchors.pop(uri, None)
        self.cache.forget(uri)

    def job(self, uri: str) -> Job | None:
        """The document's job on the model, if one runs."""
        return self._jobs.get(uri)

    async def complete(self, request: CompletionRequest, run: Run) -> Completion:
        """Complete at a cursor; a newer request for the same document supersedes this one."""
        counters = self.meter.counters
        task = asyncio.current_task()
        assert task is not None
        previous = self._inflight.get(request.uri)
        if previous is not None and previous is not task and not previous.done():
            previous.cancel()
        self._inflight[request.uri] = task
        counters.requests += 1
        started = time.perf_counter()
        try:
            completion = await self._serve(request, run)
        except asyncio.CancelledError:
            counters.cancelled += 1
            raise
        except Exception:
            counters.failed += 1
            raise
        else:
            counters.completed += 1
            if completion.text:
                counters.shown += 1
                self.meter.latencies.append((time.perf_counter() - started) * 1000)
            return completion
        finally:
            if self._inflight.get(request.uri) is task:
                del self._inflight[request.uri]

    async def _serve(self, request: CompletionRequest, run: Run) -> Completion:
        prefix, suffix = request.text[:request.offset], request.text[request.offset:]
        hit = self._lookup(request.uri, prefix, suffix)
        job = self._jobs.get(request.uri)
        if hit is None and job is not None and job.running and not job.stopping:
            assert job.task is not None
            if job.generating and typed_on(job.request, request):
                self.meter.counters.joined += 1
                await self._follow(job, request.text[job.request.offset:request.offset])
                hit = self._lookup(request.uri, prefix, suffix)
            else:
                job.stop()
        if hit is not None:
            self.meter.counters.cache_hits += 1
            return self._cached(hit)
        if request.trigger == "automatic" and self.settings.debounce_ms:
            # A keystroke within the pause supersedes this request before any work.
            await asyncio.sleep(self.settings.debounce_ms / 1000)
        job = Job(request)
        job.task = asyncio.get_running_loop().create_task(self._run(job, run))
        self._jobs[request.uri] = job
        try:
            return await asyncio.shield(job.task)
        except asyncio.CancelledError:
            if not job.generating:
                job.stop()
            raise

    async def _follow(self, job: Job, typed: str) -> None:
        """Wait for a job the user typed on from; stop it once its text contradicts them."""
        assert job.task is not None
        while not job.task.done():
            if job.contradicts(typed):
                self.meter.counters.joins_abandoned += 1
                job.stop()
                return
            await asyncio.wait({job.task}, timeout=FOLLOW_POLL_S)

    def _lookup(self, uri: str, prefix: str, suffix: str) -> str | None:
        if not self.settings.typed_ahead_cache:
            return None
        return self.cache.lookup(uri, prefix, suffix)

    async def _run(self, job: Job, run: Run) -> Completion:
        request = job.request
        anchor = self._anchors.get(request.uri) if self.settings.reuse_window else None
        counters = self.meter.counters
        counters.model_starts += 1
        try:
            completion = await run(job, anchor)
        except asyncio.CancelledError:
            counters.model_stopped += 1
            counters.stopped_cpu_ms += job.stats.cpu_ms
            raise
        finally:
            # Stopped jobs did work too: count what the model evaluated.
            counters.model_cpu_ms += job.stats.cpu_ms
            counters.evaluated_tokens += job.stats.evaluated_tokens
            counters.needed_tokens += max(job.stats.needed_tokens, job.stats.evaluated_tokens)
            if self._jobs.get(request.uri) is job:
                del self._jobs[request.uri]
        self._anchors[request.uri] = completion.window_start
        if self.settings.typed_ahead_cache:
            self.cache.store(Shown(request.uri, request.text[:request.offset],
                                   request.text[request.offset:], completion.text))
        self._model = (completion.model, completion.template)
        counters.model_calls += 1
        return completion

    def _cached(self, text: str) -> Completion:
        model, template = self._model
        return Completion(text=text, raw="", prompt=Prompt(()), model=model, template=template,
                          multiline="\n" in text, cached=True)
