"""The scheduler's rules: a job typed on from is followed, not stopped; other edits stop it;
a burst of other edits waits out the user's pace.

These tests need exact control over when tokens arrive (a request must land while another
is mid-generation), which a real model cannot give; the backend here is a scripted stand-in
whose tokens are released by the test. The real-model side of superseding is covered in
tests/test_lsp.py and bench/typing.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable

import pytest

from lspilot.completion.counters import Meter
from lspilot.completion.engine import Engine
from lspilot.completion.pipeline import Completion, CompletionRequest, Trigger
from lspilot.completion.scheduler import (
    GRACE_S,
    Cursor,
    Job,
    Pace,
    Scheduler,
    debounce_s,
    grace_s,
)
from lspilot.models.backends.base import GenerationParams, GenerationStats
from lspilot.models.slot import ModelSlot
from lspilot.settings import Settings, parse_settings
from lspilot.templates import TEMPLATES, FimTemplate, Prompt
from tests.conftest import at_cursor
from tests.polling import until


class GatedBackend:
    """Streams `pieces`, each only after the test releases it."""

    def __init__(self, pieces: list[str]) -> None:
        self.pieces = pieces
        self.release = asyncio.Queue[None]()
        self.started = 0
        self.stopped = 0

    name = "gated"
    template: FimTemplate = TEMPLATES[0]
    context_size = 4096

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def count_prompt_tokens(self, prompt: Prompt) -> int:
        return len(prompt.text.split())

    async def stream(self, prompt: Prompt, params: GenerationParams,
                     stats: GenerationStats) -> AsyncGenerator[str, None]:
        self.started += 1
        stats.prompt_tokens = stats.evaluated_tokens = stats.needed_tokens = 10
        try:
            for index, piece in enumerate(self.pieces):
                await self.release.get()
                if index == 0:
                    stats.prompt_ms = 1.0
                stats.generated_tokens += 1
                yield piece
        except (asyncio.CancelledError, GeneratorExit):
            self.stopped += 1
            raise

    async def aclose(self) -> None:
        pass


class Quiet:
    def loading(self, role: str, model: str, done: int, total: int, message: str) -> None:
        pass

    def loaded(self, role: str, model: str, template: str) -> None:
        pass

    def failed(self, role: str, model: str, error: str) -> None:
        pass


async def engine_with(backend: GatedBackend,
                      refreshed: list[str] | None = None) -> Engine:
    settings, errors = parse_settings({"models": {"autocomplete": "gated"},
                                       "completion": {"debounceMs": 0}}, Settings())
    assert not errors

    def load(*args: object) -> GatedBackend:
        return backend

    slot = ModelSlot("autocomplete", settings, load, Quiet())  # type: ignore[arg-type]
    await slot.start_loading()
    return Engine(slot, settings, refreshed=refreshed.append if refreshed is not None
                  else None)


TEXT = "total = \n"
AT = len("total = ")


async def test_typing_on_from_a_generating_job_waits_for_it_and_hits_the_cache() -> None:
    backend = GatedBackend(["price", " * ", "count"])
    engine = await engine_with(backend)
    first = asyncio.create_task(engine.complete(CompletionRequest("u", TEXT, AT)))
    backend.release.put_nowait(None)  # the first token: the job is generating
    await until(lambda: (job := engine.scheduler.job("u")) is not None and job.generating,
                what="a generating job")
    typed = TEXT[:AT] + "pr" + TEXT[AT:]
    second = asyncio.create_task(engine.complete(CompletionRequest("u", typed, AT + 2)))
    await until(lambda: first.done(), what="the first request answered")
    assert first.cancelled()  # the request is superseded, its job is not
    backend.release.put_nowait(None)
    backend.release.put_nowait(None)
    completion = await second
    assert completion.cached and completion.text == "ice * count"
    assert (backend.started, backend.stopped) == (1, 0)
    assert engine.meter.counters.joined == 1 and engine.meter.counters.cache_hits == 1


async def test_a_job_still_reading_its_prompt_is_followed_when_typed_on() -> None:
    backend = GatedBackend(["price"])
    engine = await engine_with(backend)
    first = asyncio.create_task(engine.complete(CompletionRequest("u", TEXT, AT)))
    await until(lambda: backend.started == 1, what="one job")
    typed = TEXT[:AT] + "p" + TEXT[AT:]
    second = asyncio.create_task(engine.complete(CompletionRequest("u", typed, AT + 1)))
    await until(lambda: first.done(), what="the first request answered")
    assert first.cancelled() and backend.stopped == 0
    backend.release.put_nowait(None)
    completion = await second
    assert completion.cached and completion.text == "rice"
    assert (backend.started, engine.meter.counters.joined) == (1, 1)


@pytest.mark.parametrize("elsewhere", [
    ("total = \nx", AT),              # the text after the cursor changed
    ("toal = \n", AT - 1),            # deleted a character before the cursor
])
async def test_a_job_still_reading_its_prompt_is_stopped_by_any_other_edit(
        elsewhere: tuple[str, int]) -> None:
    backend = GatedBackend(["price"])
    engine = await engine_with(backend)
    first = asyncio.create_task(engine.complete(CompletionRequest("u", TEXT, AT)))
    await until(lambda: backend.started == 1, what="one job")
    second = asyncio.create_task(engine.complete(CompletionRequest("u", *elsewhere)))
    await until(lambda: backend.started == 2, what="a second job")
    assert first.cancelled() and backend.stopped == 1
    backend.release.put_nowait(None)
    assert (await second).text == "price"
    assert engine.meter.counters.joined == 0 and engine.meter.counters.model_stopped == 1


async def test_a_cancelled_request_leaves_its_job_to_the_next_keystroke() -> None:
    backend = GatedBackend(["price"])
    engine = await engine_with(backend)
    first = asyncio.create_task(engine.complete(CompletionRequest("u", TEXT, AT)))
    await until(lambda: backend.started == 1, what="one job")
    first.cancel()  # editors cancel the last request before sending the next keystroke's
    typed = TEXT[:AT] + "pr" + TEXT[AT:]
    second = asyncio.create_task(engine.complete(CompletionRequest("u", typed, AT + 2)))
    await until(lambda: engine.meter.counters.joined == 1, what="a request following")
    backend.release.put_nowait(None)
    completion = await second
    assert completion.cached and completion.text == "ice"
    assert (backend.started, backend.stopped) == (1, 0)


async def test_a_job_nobody_follows_is_stopped_while_it_reads_its_prompt() -> None:
    backend = GatedBackend(["price"])
    engine = await engine_with(backend)
    first = asyncio.create_task(engine.complete(CompletionRequest("u", TEXT, AT)))
    await until(lambda: backend.started == 1, what="one job")
    first.cancel()  # and no keystroke follows: after a short grace the model is freed
    await until(lambda: backend.stopped == 1, what="a stopped job")
    assert engine.scheduler.job("u") is None
    assert engine.meter.counters.model_stopped == 1


async def test_closing_a_document_stops_its_job() -> None:
    backend = GatedBackend(["price"])
    engine = await engine_with(backend)
    first = asyncio.create_task(engine.complete(CompletionRequest("u", TEXT, AT)))
    await until(lambda: backend.started == 1, what="one job")
    engine.scheduler.close("u")
    await until(lambda: backend.stopped == 1, what="a stopped job")
    assert first.cancelled()


@pytest.mark.parametrize("elsewhere", [
    ("total = \nx", AT),              # the text after the cursor changed
    ("total = p\n", AT),              # typed, but the cursor did not move on
    ("toal = \n", AT - 1),            # deleted a character before the cursor
])
async def test_a_generating_job_is_stopped_when_the_user_did_not_type_on(
        elsewhere: tuple[str, int]) -> None:
    backend = GatedBackend(["price", "x"])
    engine = await engine_with(backend)
    first = asyncio.create_task(engine.complete(CompletionRequest("u", TEXT, AT)))
    backend.release.put_nowait(None)
    await until(lambda: (job := engine.scheduler.job("u")) is not None and job.generating,
                what="a generating job")
    second = asyncio.create_task(engine.complete(CompletionRequest("u", *elsewhere)))
    await until(lambda: backend.stopped == 1, what="a stopped job")
    assert first.cancelled() and engine.meter.counters.joined == 0
    backend.release.put_nowait(None)
    backend.release.put_nowait(None)
    await second


async def test_a_cancelled_request_keeps_its_generating_job_for_the_cache() -> None:
    backend = GatedBackend(["price", " * 2"])
    engine = await engine_with(backend)
    first = asyncio.create_task(engine.complete(CompletionRequest("u", TEXT, AT)))
    backend.release.put_nowait(None)
    await until(lambda: (job := engine.scheduler.job("u")) is not None and job.generating,
                what="a generating job")
    first.cancel()  # $/cancelRequest from the client
    backend.release.put_nowait(None)
    await until(lambda: engine.scheduler.job("u") is None, what="the job's end")
    assert backend.stopped == 0
    hit = await engine.complete(CompletionRequest("u", TEXT[:AT] + "pri" + TEXT[AT:], AT + 3))
    assert hit.cached and hit.text == "ce * 2"


async def test_a_followed_job_is_stopped_once_its_text_contradicts_what_was_typed() -> None:
    backend = GatedBackend(["pri", "ce", " * 2"])
    engine = await engine_with(backend)
    first = asyncio.create_task(engine.complete(CompletionRequest("u", TEXT, AT)))
    backend.release.put_nowait(None)  # "pri"
    await until(lambda: (job := engine.scheduler.job("u")) is not None and job.generating,
                what="a generating job")
    typed = TEXT[:AT] + "prize" + TEXT[AT:]  # agrees with "pri", then not with "ce"
    second = asyncio.create_task(engine.complete(CompletionRequest("u", typed, AT + 5)))
    await until(lambda: first.done(), what="the first request answered")
    backend.release.put_nowait(None)  # "ce": the model now says "price"
    await until(lambda: backend.stopped == 1, what="a stopped job")
    assert engine.meter.counters.joined == 1 and engine.meter.counters.joins_abandoned == 1
    for _ in range(3):
        backend.release.put_nowait(None)
    await second  # answered by a new job of its own
    assert backend.started == 2


@pytest.mark.parametrize(("base", "gap", "typed_on_last", "first_text", "expected"), [
    (0.05, None, False, None, 0.05),  # the pace is not known yet
    (0.05, 0.1, True, None, 0.05),    # typing on: the next keystroke follows the job
    (0.05, 0.1, True, 0.3, 0.05),     # ... and the model writes within 3 keystrokes
    (0.05, 0.1, True, 0.9, 0.15),     # a model that needs 9: wait for the user to pause
    (0.05, 0.1, False, None, 0.15),   # a burst of deletions: wait out the user's pace
    (0.05, 0.02, False, None, 0.05),  # never below the setting
    (0.05, 0.45, False, None, 0.5),   # nor above the cap
    (0.0, 0.1, False, 0.9, 0.0),      # debounceMs 0: no pause at all
])
def test_debounce(base: float, gap: float | None, typed_on_last: bool,
                  first_text: float | None, expected: float) -> None:
    assert debounce_s(base, gap, typed_on_last, first_text) == pytest.approx(expected)


@pytest.mark.parametrize(("gap", "expected"), [
    (None, GRACE_S), (0.02, 0.1), (0.125, 0.25), (0.9, 1.0)])
def test_grace(gap: float | None, expected: float) -> None:
    assert grace_s(gap) == pytest.approx(expected)


def test_the_pace_leaves_pauses_out() -> None:
    pace = Pace()
    for at in (0.0, 0.1, 0.2, 2.2, 2.35):
        pace.arrived(CompletionRequest("u", "x", 1), at)
    assert pace.gap_s == pytest.approx(0.1)  # gaps 0.1, 0.1, 0.15; the 2 s pause is not pace


@pytest.mark.parametrize(("marked", "typed_on_last"), [
    ("total = p█\n", True),
    ("total = price█\n", True),
    ("total█\n", False),            # deleted
    ("total = █\nx", False),        # the text after the cursor changed
    ("# top\ntotal = p█\n", False),  # the text before the cursor changed near it
])
def test_a_cursor_tells_typing_on_from_other_edits(marked: str, typed_on_last: bool) -> None:
    cursor = Cursor.of(CompletionRequest("u", TEXT, AT))
    assert cursor.typed_on(CompletionRequest("u", *at_cursor(marked))) == typed_on_last


@pytest.mark.parametrize(("marked", "deleted"), [
    ("total =█\n", True),           # backspace
    ("total█\n", True),             # backspaced further
    ("total = p█\n", False),        # typed on
    ("total =█\nx", False),         # the text after the cursor changed too
    ("tote█\n", False),             # the text before the cursor changed near it
    ("total =█ \n", False),         # moved left: the text after the cursor grew
])
def test_a_cursor_tells_backspace_from_other_edits(marked: str, deleted: bool) -> None:
    cursor = Cursor.of(CompletionRequest("u", TEXT, AT))
    assert cursor.deleted_back(CompletionRequest("u", *at_cursor(marked))) == deleted


@pytest.mark.parametrize(("texts", "follows"), [
    (["total = pri█\n", "total = pric█\n"], "typed"),
    (["total = pri█\n", "total = pr█\n"], "deleted"),
    (["total = pri█\n", "total = p█ri\n"], "moved"),
    (["total = pri█\n"], "moved"),     # the first request
])
def test_the_pace_says_how_a_request_follows_the_last(texts: list[str], follows: str) -> None:
    pace = Pace()
    for at, marked in enumerate(texts):
        seen = pace.arrived(CompletionRequest("u", *at_cursor(marked)), float(at))
    assert seen == follows


@pytest.mark.parametrize(("edit", "first_text_ms", "slept"), [
    (lambda i: ("abcdef"[:6 - i], 6 - i), 0.0, [0.05, 0.05, 0.15, 0.15]),  # backspace
    (lambda i: ("abcdef"[:2 + i], 2 + i), 0.0, [0.05, 0.05, 0.05, 0.05]),  # typing
    (lambda i: ("abcdef"[:2 + i], 2 + i), 300.0, [0.05, 0.05, 0.05, 0.05]),  # a quick model
    (lambda i: ("abcdef"[:2 + i], 2 + i), 900.0, [0.05, 0.05, 0.15, 0.15]),  # a slow one
])
async def test_only_other_edits_or_a_slow_model_wait_for_a_pause(
        edit: Callable[[int], tuple[str, int]], first_text_ms: float, slept: list[float]
        ) -> None:
    now, pauses = [0.0], []  # keystrokes 0.1 s apart (10 keys/s)

    async def sleep(seconds: float) -> None:
        pauses.append(seconds)

    async def run(job: Job, anchor: int | None) -> Completion:
        job.stats.prompt_ms = first_text_ms
        return Completion("", "", Prompt(()), "m", "t", False)

    settings, _ = parse_settings({"completion": {"debounceMs": 50}}, Settings())
    scheduler = Scheduler(settings.completion, Meter(), clock=lambda: now[0], sleep=sleep)
    for i in range(4):
        now[0] += 0.1
        await scheduler.complete(CompletionRequest("u", *edit(i)), run)
    assert pauses == pytest.approx(slept)


@pytest.mark.parametrize(("requests", "typing"), [
    # typed on from the last request: the model read the prompt up to near the cursor
    ([("ab", 2, "automatic"), ("abc", 3, "automatic"), ("abcd", 4, "automatic")],
     [False, True, True]),
    # the first request at each place (another line) reads most of its prompt; a backspace
    # at the same place is typing too
    ([("ab\ncd", 2, "automatic"), ("ab\ncd", 5, "automatic"), ("ab\nc", 4, "automatic")],
     [False, False, True]),
    ([("ab\ncd", 2, "automatic"), ("ab\ncd", 5, "automatic"), ("ab\nd", 3, "automatic")],
     [False, False, False]),
    # an invoked request never keeps its suffix short
    ([("ab", 2, "invoked"), ("abc", 3, "invoked")], [False, False]),
])
async def test_only_a_request_typed_on_or_backspaced_from_the_last_is_marked_typing(
        requests: list[tuple[str, int, Trigger]], typing: list[bool]) -> None:
    seen: list[bool] = []

    async def run(job: Job, anchor: int | None) -> Completion:
        seen.append(job.request.typing)
        return Completion("", "", Prompt(()), "m", "t", False)

    settings, _ = parse_settings({"completion": {"debounceMs": 0}}, Settings())
    scheduler = Scheduler(settings.completion, Meter())
    for text, offset, trigger in requests:
        await scheduler.complete(CompletionRequest("u", text, offset, trigger=trigger), run)
    assert seen == typing


async def test_a_job_left_alone_is_stopped_only_if_nobody_waited_during_the_grace() -> None:
    job = Job(CompletionRequest("u", TEXT, AT))
    job.task = asyncio.create_task(asyncio.sleep(60))
    job.join()
    check = job.leave()  # the editor cancelled the keystroke's request...
    assert check is not None
    job.join()  # ... and the next keystroke's request followed, and was cancelled in turn
    assert job.leave() is not None
    check()  # the first grace ends while nobody waits: that is no reason to stop
    assert not job.stopping
    job.join()
    last = job.leave()
    assert last is not None
    last()  # nobody came during this grace
    assert job.stopping
    await asyncio.gather(job.task, return_exceptions=True)


async def finished(engine: Engine, backend: GatedBackend, request: CompletionRequest) -> str:
    """Complete `request` on the model, releasing every piece."""
    task = asyncio.create_task(engine.complete(request))
    for _ in backend.pieces:
        backend.release.put_nowait(None)
    return (await task).text


async def test_after_a_cache_hit_a_pause_asks_the_model_again() -> None:
    backend, told = GatedBackend(["price", " * ", "count"]), []
    engine = await engine_with(backend, told)
    assert await finished(engine, backend, CompletionRequest("u", TEXT, AT)) == "price * count"
    typed = CompletionRequest("u", TEXT[:AT] + "pr" + TEXT[AT:], AT + 2)
    hit = await engine.complete(typed)
    assert hit.cached and hit.text == "ice * count"
    backend.pieces = ["ice * total"]  # with "pr" typed, the model now says something else
    await until(lambda: backend.started == 2, what="a refresh after the pause")
    backend.release.put_nowait(None)
    await until(lambda: told == ["u"], what="the editor told")
    again = await engine.complete(typed)
    assert again.cached and again.text == "ice * total"
    counters = engine.meter.counters
    assert (counters.refreshes, counters.refreshed) == (1, 1)


async def test_a_refresh_that_says_the_same_is_not_told() -> None:
    backend, told = GatedBackend(["price", " * ", "count"]), []
    engine = await engine_with(backend, told)
    await finished(engine, backend, CompletionRequest("u", TEXT, AT))
    backend.pieces = ["ice * count"]
    await engine.complete(CompletionRequest("u", TEXT[:AT] + "pr" + TEXT[AT:], AT + 2))
    await until(lambda: backend.started == 2, what="a refresh after the pause")
    backend.release.put_nowait(None)
    await until(lambda: engine.scheduler.job("u") is None, what="the refresh done")
    assert told == [] and engine.meter.counters.refreshed == 0


async def test_a_keystroke_before_the_pause_ends_asks_nothing_more() -> None:
    backend, told = GatedBackend(["price", " * ", "count"]), []
    engine = await engine_with(backend, told)
    await finished(engine, backend, CompletionRequest("u", TEXT, AT))
    for typed in ("p", "pr", "pri"):
        hit = await engine.complete(CompletionRequest("u", TEXT[:AT] + typed + TEXT[AT:],
                                                      AT + len(typed)))
        assert hit.cached
    engine.scheduler.close("u")  # the last keystroke's pause: closing drops it too
    await asyncio.sleep(0.6)
    assert backend.started == 1 and engine.meter.counters.refreshes == 0
