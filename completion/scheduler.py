"""When the model runs while the user types: the newest request for a document wins, a
request typed on from a running job follows it, and typed-ahead text needs no model."""

from __future__ import annotations

import asyncio
import dataclasses
import statistics
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Literal

from lspilot.completion.cache import CompletionCache, Shown
from lspilot.completion.counters import Meter
from lspilot.completion.pipeline import Completion, CompletionRequest
from lspilot.models.backends.base import GenerationStats
from lspilot.settings import CompletionSettings
from lspilot.templates import Prompt

FOLLOW_POLL_S = 0.02
"""How often a request waiting for another's generation checks it against the typed text."""

PACE_REQUESTS = 9
"""A document's last requests whose gaps tell how fast the user is typing."""
PAUSE_S = 0.6
"""A gap longer than this between two requests is a pause, not the pace of typing."""
MAX_DEBOUNCE_S = 0.5
WRITES_WITHIN_GAPS = 4
"""A model that writes its first text within this many of the user's typing gaps is started
while they type; a slower one waits for a pause (see `debounce_s`)."""
FIRST_TEXTS = 8
"""Recent jobs whose time to the first text tells how fast the model starts writing."""
GRACE_S = 0.3
"""How long a job nobody waits for is kept for a request that types on from it, when the
pace is not known yet; from the pace: two gaps, between `MIN_GRACE_S` and `MAX_GRACE_S`."""
MIN_GRACE_S, MAX_GRACE_S = 0.1, 1.0
NEAR_CURSOR = 32
"""Characters around the last cursor kept to tell whether the next request typed on."""

REFRESH_PAUSE_S = 0.4
"""How long after a typed-ahead cache hit the user must pause (at their own pace: two gaps
when it is known) before the model is asked again in the background."""

Run = Callable[["Job", int | None], Awaitable[Completion]]
"""Runs the pipeline for a job, given the document's last window start (KV anchor)."""

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


def debounce_s(base_s: float, gap_s: float | None, typed_on_last: bool,
               first_text_s: float | None = None) -> float:
    """How long an automatic request waits before it starts model work.

    Typed on from the last request, a job that starts is followed by the next keystrokes,
    not stopped, and the base pause will do: unless the model takes more than
    `WRITES_WITHIN_GAPS` of the user's gaps to write its first text (`first_text_s`); the
    user would by then have typed more than it is likely to guess, and the job would be
    stopped as contradicted. Any other edit (a deletion, a jump) stops the job at the next
    keystroke of the same kind. In both cases wait out the user's own pace, so that the
    model starts when they pause.
    """
    if base_s <= 0 or gap_s is None:
        return base_s
    slow = first_text_s is not None and first_text_s > WRITES_WITHIN_GAPS * gap_s
    if typed_on_last and not slow:
        return base_s
    return min(MAX_DEBOUNCE_S, max(base_s, 1.5 * gap_s))


def grace_s(gap_s: float | None) -> float:
    """How long a job whose requests were all cancelled waits for one that types on."""
    if gap_s is None:
        return GRACE_S
    return min(MAX_GRACE_S, max(MIN_GRACE_S, 2 * gap_s))


Follows = Literal["typed", "deleted", "moved"]
"""How a request follows from the document's last one: text typed at its cursor, text
deleted back from it, or anything else (the first request, a move, another edit)."""


@dataclass(frozen=True)
class Cursor:
    """Where a request's cursor was, in little enough to keep per document."""

    offset: int
    after: int
    """Characters after the cursor."""
    before_text: str
    after_text: str

    @classmethod
    def of(cls, request: CompletionRequest) -> Cursor:
        """The cursor of a request."""
        at, text = request.offset, request.text
        return cls(at, len(text) - at, text[max(0, at - NEAR_CURSOR):at],
                   text[at:at + NEAR_CURSOR])

    def typed_on(self, request: CompletionRequest) -> bool:
        """Whether `request` looks like this cursor with text typed at it (near the cursor;
        it decides a pause, never what is shown)."""
        at, text = request.offset, request.text
        return (at >= self.offset and len(text) - at == self.after
                and text[self.offset - len(self.before_text):self.offset] == self.before_text
                and text[at:at + len(self.after_text)] == self.after_text)

    def follows(self, request: CompletionRequest) -> Follows:
        """How `request` follows from this cursor."""
        if self.typed_on(request):
            return "typed"
        return "deleted" if self.deleted_back(request) else "moved"

    def deleted_back(self, request: CompletionRequest) -> bool:
        """Whether `request` looks like this cursor with text deleted back from it, within
        the text kept near it (backspace)."""
        at, text = request.offset, request.text
        start = self.offset - len(self.before_text)
        return (start <= at < self.offset and len(text) - at == self.after
                and text[start:at] == self.before_text[:at - start]
                and text[at:at + len(self.after_text)] == self.after_text)


@dataclass
class Pace:
    """When a document's recent requests came, and where the last one's cursor was."""

    times: deque[float] = field(default_factory=lambda: deque(maxlen=PACE_REQUESTS))
    cursor: Cursor | None = None

    def arrived(self, request: CompletionRequest, now: float) -> Follows:
        """Note a request; how it follows from the previous one."""
        follows = self.cursor.follows(request) if self.cursor is not None else "moved"
        self.times.append(now)
        self.cursor = Cursor.of(request)
        return follows

    @property
    def gap_s(self) -> float | None:
        """The median gap between recent requests while typing (pauses left out)."""
        gaps = [b - a for a, b in pairwise(self.times) if b - a <= PAUSE_S]
        return statistics.median(gaps) if len(gaps) >= 2 else None


@dataclass(eq=False)
class Job:
    """One request's work on the model; it may outlive the request (see `Scheduler`)."""

    request: CompletionRequest
    stats: GenerationStats = field(default_factory=GenerationStats)
    raw: str = ""
    """What the model has written so far."""
    task: asyncio.Task[Completion] | None = None
    stopping: bool = False
    waiting: int = 0
    """Requests awaiting this job: the one it was started for, and those following it."""
    joins: int = 0
    """Requests that ever waited for it."""

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

    def join(self) -> None:
        """A request waits for this job."""
        self.waiting += 1
        self.joins += 1

    def leave(self) -> Callable[[], None] | None:
        """A request stops waiting. When it was the last one and the job still reads its
        prompt: a check to run after a grace, which stops the job unless another request
        waited for it meanwhile. (Editors cancel a keystroke's request before they send the
        next one's: between the two nobody waits, which is no reason to stop.)"""
        self.waiting -= 1
        if self.waiting or not self.running or self.stopping or self.generating:
            return None
        joins = self.joins

        def check() -> None:
            # Reading the prompt on would be for nothing. A job already writing finishes:
            # that is cheap now, and the cache may serve it.
            if self.joins == joins and not self.generating:
                self.stop()

        return check

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

    The model's work runs as a job apart from the request. A request typed on from a running
    job's request follows the job instead of stopping it, whether the job is still reading
    its prompt or already writing: it waits for the job, which usually serves it through the
    typed-ahead cache, and stops it as soon as the model's text contradicts what was typed.
    At a person's pace every keystroke would otherwise stop work the next suggestion needs,
    and no suggestion would ever finish. Any other edit stops the job. A job whose requests
    were all cancelled (editors cancel the last request at each keystroke) is kept for a
    short grace, for the next keystroke's request to follow it; one already writing finishes
    for the cache.
    """

    def __init__(self, settings: CompletionSettings, meter: Meter, *,
                 clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep,
                 refreshed: Callable[[str], None] | None = None) -> None:
        self.settings = settings
        self.meter = meter
        self.cache = CompletionCache()
        self._clock = clock
        self._sleep = sleep
        self._anchors: dict[str, int] = {}
        self._inflight: dict[str, asyncio.Task[object]] = {}
        self._jobs: dict[str, Job] = {}
        self._paces: dict[str, Pace] = {}
        self._first_texts: deque[float] = deque(maxlen=FIRST_TEXTS)
        """Seconds the model took to its first text, in recent jobs (on any document)."""
        self._model = ("", "")
        """The model and template of the last completion the model made (for cache hits)."""
        self._refreshed = refreshed
        self._refreshes: dict[str, asyncio.TimerHandle] = {}

    def forget(self) -> None:
        """Another model serves: what the old one said is no longer shown."""
        self.cache.clear()
        self._anchors.clear()

    def close(self, uri: str) -> None:
        """A document closed: stop its model work and drop what is kept for it."""
        job = self._jobs.get(uri)
        if job is not None:
            job.stop()
        if (timer := self._refreshes.pop(uri, None)) is not None:
            timer.cancel()
        self._anchors.pop(uri, None)
        self._paces.pop(uri, None)
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
        pace = self._paces.setdefault(request.uri, Pace())
        follows = pace.arrived(request, self._clock())
        typed_on_last = follows == "typed"
        # Backspace is typing too: the request races the next keystroke at the same place,
        # and its window keeps the last one's start (a shorter prefix always fits).
        if follows != "moved" and request.trigger == "automatic":
            request = dataclasses.replace(request, typing=True)
        if (timer := self._refreshes.pop(request.uri, None)) is not None:
            timer.cancel()  # the user did not pause: a newer request decides
        prefix, suffix = request.text[:request.offset], request.text[request.offset:]
        hit = self._lookup(request.uri, prefix, suffix)
        job = self._jobs.get(request.uri)
        if hit is None and job is not None and job.running and not job.stopping:
            if typed_on(job.request, request):
                self.meter.counters.joined += 1
                await self._follow(job, request.text[job.request.offset:request.offset], pace)
                hit = self._lookup(request.uri, prefix, suffix)
            else:
                job.stop()
        if hit is not None:
            self.meter.counters.cache_hits += 1
            self._refresh_later(request, run, hit, pace)
            return self._cached(hit)
        if request.trigger == "automatic":
            # A keystroke within the pause supersedes this request before any work.
            first_text = statistics.median(self._first_texts) if self._first_texts else None
            if delay := debounce_s(self.settings.debounce_ms / 1000, pace.gap_s, typed_on_last,
                                   first_text):
                await self._sleep(delay)
        job = Job(request)
        job.task = asyncio.get_running_loop().create_task(self._run(job, run))
        self._jobs[request.uri] = job
        job.join()
        try:
            return await asyncio.shield(job.task)
        finally:
            self._release(job, pace)

    def _refresh_later(self, request: CompletionRequest, run: Run, shown: str,
                       pace: Pace) -> None:
        """After a cache hit: if the user pauses and the model is idle, ask it again.

        The cached rest of an older suggestion was written before what the user typed since;
        the model may now guess better, and while the user reads it costs them nothing.
        """
        if not self.settings.refresh_after_hit or self._refreshed is None:
            return
        pause = max(REFRESH_PAUSE_S, 2 * pace.gap_s if pace.gap_s is not None else 0.0)
        self._refreshes[request.uri] = asyncio.get_running_loop().call_later(
            pause, self._refresh, request, run, shown)

    def _refresh(self, request: CompletionRequest, run: Run, shown: str) -> None:
        del self._refreshes[request.uri]
        if any(job.running for job in self._jobs.values()):
            return  # the model is busy: the suggestion shown stays
        self.meter.counters.refreshes += 1
        job = Job(request)
        job.task = asyncio.get_running_loop().create_task(self._run(job, run))
        self._jobs[request.uri] = job

        def done(task: asyncio.Task[Completion]) -> None:
            if task.cancelled() or task.exception() is not None:
                return
            text = task.result().text
            if text and text != shown and self._refreshed is not None:
                self.meter.counters.refreshed += 1
                self._refreshed(request.uri)

        job.task.add_done_callback(done)

    async def _follow(self, job: Job, typed: str, pace: Pace) -> None:
        """Wait for a job the user typed on from; stop it once its text contradicts them."""
        assert job.task is not None
        job.join()
        try:
            while not job.task.done():
                if job.contradicts(typed):
                    self.meter.counters.joins_abandoned += 1
                    job.stop()
                    return
                await asyncio.wait({job.task}, timeout=FOLLOW_POLL_S)
        finally:
            self._release(job, pace)

    @staticmethod
    def _release(job: Job, pace: Pace) -> None:
        """One request stopped waiting for `job`; the last one leaves it a grace."""
        if (check := job.leave()) is not None:
            asyncio.get_running_loop().call_later(grace_s(pace.gap_s), check)

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
            if job.stats.prompt_ms > 0:
                self._first_texts.append(job.stats.prompt_ms / 1000)
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
