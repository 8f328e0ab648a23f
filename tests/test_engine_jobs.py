"""The engine's rule for superseded requests: a generating job typed on from finishes.

These tests need exact control over when tokens arrive (a request must land while another
is mid-generation), which a real model cannot give; the backend here is a scripted stand-in
whose tokens are released by the test. The real-model side of superseding is covered in
tests/test_lsp.py and bench/typing.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import pytest

from lspilot.completion.engine import Engine
from lspilot.completion.pipeline import CompletionRequest
from lspilot.models.backends.base import GenerationParams, GenerationStats
from lspilot.models.slot import ModelSlot
from lspilot.settings import Settings, parse_settings
from lspilot.templates import TEMPLATES, FimTemplate, Prompt
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


async def engine_with(backend: GatedBackend) -> Engine:
    settings, errors = parse_settings({"models": {"autocomplete": "gated"},
                                       "completion": {"debounceMs": 0}}, Settings())
    assert not errors

    def load(*args: object) -> GatedBackend:
        return backend

    slot = ModelSlot("autocomplete", settings, load, Quiet())  # type: ignore[arg-type]
    await slot.start_loading()
    return Engine(slot, settings)


TEXT = "total = \n"
AT = len("total = ")


async def test_typing_on_from_a_generating_job_waits_for_it_and_hits_the_cache() -> None:
    backend = GatedBackend(["price", " * ", "count"])
    engine = await engine_with(backend)
    first = asyncio.create_task(engine.complete(CompletionRequest("u", TEXT, AT)))
    backend.release.put_nowait(None)  # the first token: the job is generating
    await until(lambda: engine.scheduler.job("u"), lambda job: job is not None and job.generating,
                what="a generating job")
    typed = TEXT[:AT] + "pr" + TEXT[AT:]
    second = asyncio.create_task(engine.complete(CompletionRequest("u", typed, AT + 2)))
    await until(first.done, what="the first request to end")
    assert first.cancelled()  # the request is superseded, its job is not
    backend.release.put_nowait(None)
    backend.release.put_nowait(None)
    completion = await second
    assert completion.cached and completion.text == "ice * count"
    assert (backend.started, backend.stopped) == (1, 0)
    assert engine.meter.counters.joined == 1 and engine.meter.counters.cache_hits == 1


async def test_a_job_still_reading_its_prompt_is_stopped_when_superseded() -> None:
    backend = GatedBackend(["price"])
    engine = await engine_with(backend)
    first = asyncio.create_task(engine.complete(CompletionRequest("u", TEXT, AT)))
    await until(lambda: backend.started, lambda started: started == 1, what="one job")
    typed = TEXT[:AT] + "p" + TEXT[AT:]
    second = asyncio.create_task(engine.complete(CompletionRequest("u", typed, AT + 1)))
    await until(lambda: backend.started, lambda started: started == 2, what="a second job")
    assert first.cancelled() and backend.stopped == 1
    backend.release.put_nowait(None)
    assert (await second).text == "price"
    assert engine.meter.counters.joined == 0


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
    await until(lambda: engine.scheduler.job("u"), lambda job: job is not None and job.generating,
                what="a generating job")
    second = asyncio.create_task(engine.complete(CompletionRequest("u", *elsewhere)))
    await until(lambda: backend.stopped, lambda stopped: stopped == 1, what="a stopped job")
    assert first.cancelled() and engine.meter.counters.joined == 0
    backend.release.put_nowait(None)
    backend.release.put_nowait(None)
    await second


async def test_a_cancelled_request_keeps_its_generating_job_for_the_cache() -> None:
    backend = GatedBackend(["price", " * 2"])
    engine = await engine_with(backend)
    first = asyncio.create_task(engine.complete(CompletionRequest("u", TEXT, AT)))
    backend.release.put_nowait(None)
    await until(lambda: engine.scheduler.job("u"), lambda job: job is not None and job.generating,
                what="a generating job")
    first.cancel()  # $/cancelRequest from the client
    backend.release.put_nowait(None)
    await until(lambda: engine.scheduler.job("u"), lambda job: job is None, what="no job left")
    assert backend.stopped == 0
    hit = await engine.complete(CompletionRequest("u", TEXT[:AT] + "pri" + TEXT[AT:], AT + 3))
    assert hit.cached and hit.text == "ce * 2"


async def test_a_followed_job_is_stopped_once_its_text_contradicts_what_was_typed() -> None:
    backend = GatedBackend(["pri", "ce", " * 2"])
    engine = await engine_with(backend)
    first = asyncio.create_task(engine.complete(CompletionRequest("u", TEXT, AT)))
    backend.release.put_nowait(None)  # "pri"
    await until(lambda: engine.scheduler.job("u"), lambda job: job is not None and job.generating,
                what="a generating job")
    typed = TEXT[:AT] + "prize" + TEXT[AT:]  # agrees with "pri", then not with "ce"
    second = asyncio.create_task(engine.complete(CompletionRequest("u", typed, AT + 5)))
    await until(first.done, what="the first request to end")
    backend.release.put_nowait(None)  # "ce": the model now says "price"
    await until(lambda: backend.stopped, lambda stopped: stopped == 1, what="a stopped job")
    assert engine.meter.counters.joined == 1 and engine.meter.counters.joins_abandoned == 1
    for _ in range(3):
        backend.release.put_nowait(None)
    await second  # answered by a new job of its own
    assert backend.started == 2
