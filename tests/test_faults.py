"""Server backends against a real HTTP server on loopback that fails on demand
(`tests/fault_server.py`): each fault ends the stream with one `BackendError` naming it (or,
for an answer that ignores the token limit, a completion cut at the limit), within the
configured timeouts, and the same backend serves again once the server is healthy."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import pytest

from lspilot.models.backends.base import (
    Backend,
    BackendError,
    GenerationParams,
    GenerationStats,
    LlamaServerConfig,
    OllamaConfig,
    OpenAIConfig,
)
from lspilot.models.backends.http_client import MAX_TOKEN_CHARS, Budget
from lspilot.models.backends.http_llama_server import LlamaServerBackend
from lspilot.models.backends.http_ollama import OllamaBackend
from lspilot.models.backends.http_openai import OpenAIBackend
from lspilot.settings import ServersSettings, Settings, parse_settings
from lspilot.templates import TEMPLATES, render
from tests.fault_server import HUGE_BYTES, OPENAI_MODEL, FaultServer, fault_server
from tests.replay_server import OLLAMA_MODEL

QWEN = next(t for t in TEMPLATES if t.family == "qwen2.5-coder")
MAX_TOKENS = 16


def servers_for(url: str, **timeouts: float) -> ServersSettings:
    settings, errors = parse_settings({"servers": {
        "openaiUrl": f"{url}/v1", "llamaServerUrl": url, "ollamaUrl": url,
        "connectTimeout": 0.5, "readTimeout": 1.0, **timeouts}}, Settings())
    assert not errors
    return settings.servers


CONNECT: dict[str, Callable[[ServersSettings], Backend]] = {
    "openai": lambda s: OpenAIBackend.connect(OpenAIConfig("openai:tiny", OPENAI_MODEL, s)),
    "llama-server": lambda s: LlamaServerBackend.connect(LlamaServerConfig("llama-server:m",
                                                                           "m", s)),
    "ollama": lambda s: OllamaBackend.connect(OllamaConfig(f"ollama:{OLLAMA_MODEL}",
                                                           OLLAMA_MODEL, s)),
}


async def collect(backend: Backend) -> str:
    stream = backend.stream(render(QWEN, "x = ", ""), GenerationParams(MAX_TOKENS),
                            GenerationStats())
    try:
        return "".join([piece async for piece in stream])
    finally:
        await stream.aclose()


@pytest.fixture
def server() -> Iterator[FaultServer]:
    with fault_server() as running:
        yield running


@pytest.mark.parametrize("kind", sorted(CONNECT))
@pytest.mark.parametrize(("fault", "says"), [
    # waits out the read timeout (a wait by design): in `make test`, not test-fast
    pytest.param("stall", "did not answer in time", marks=pytest.mark.slow),
    ("error500", "answered 500"),
    ("garbage", "not JSON"),
    ("cut", "failed: peer closed connection"),
    ("huge_line", "sent a line longer than"),
])
async def test_a_fault_is_one_error_and_the_next_answer_is_healthy(
        server: FaultServer, kind: str, fault: str, says: str) -> None:
    backend = CONNECT[kind](servers_for(server.url))
    assert await collect(backend) == "a + b"
    server.behaviour.fault = fault  # type: ignore[assignment]
    errors = []
    for _ in range(2):
        with pytest.raises(BackendError) as caught:
            await collect(backend)
        errors.append(caught.value)
    assert says in str(errors[0])
    # What varies between requests (the server's error text, its garbage) stays out of
    # the fault, so that the user is told once.
    assert errors[0].fault == errors[1].fault
    server.behaviour.fault = "healthy"
    assert await collect(backend) == "a + b"
    await backend.aclose()


@pytest.mark.parametrize("kind", sorted(CONNECT))
async def test_an_answer_past_the_token_limit_is_cut_client_side(
        server: FaultServer, kind: str) -> None:
    backend = CONNECT[kind](servers_for(server.url))
    server.behaviour.fault = "huge"
    for _ in range(2):
        text = await collect(backend)
        assert 0 < len(text) <= MAX_TOKENS * MAX_TOKEN_CHARS and text.count("x ") <= MAX_TOKENS
    await asyncio.sleep(0.2)  # the server notices the hang-ups on its next writes
    assert server.behaviour.huge_sent < 2 * HUGE_BYTES
    server.behaviour.fault = "healthy"
    assert await collect(backend) == "a + b"
    await backend.aclose()


@pytest.mark.parametrize("kind", sorted(CONNECT))
async def test_a_server_that_goes_away_is_refused_then_served_again(
        server: FaultServer, kind: str) -> None:
    backend = CONNECT[kind](servers_for(server.url))
    server.stop()
    with pytest.raises(BackendError, match="cannot reach"):
        await collect(backend)
    server.start()
    assert await collect(backend) == "a + b"
    await backend.aclose()


@pytest.mark.parametrize(("pieces", "max_tokens", "kept"), [
    (["a", "b", "c"], 2, ["a", "b"]),                           # the token limit
    (["x" * 100, "y"], 2, ["x" * (2 * MAX_TOKEN_CHARS)]),       # one huge piece
    (["ab", "c"], 8, ["ab", "c"]),                              # within both
])
def test_a_budget_keeps_the_first_pieces_within_both_limits(
        pieces: list[str], max_tokens: int, kept: list[str]) -> None:
    budget, taken = Budget.of(max_tokens), []
    for piece in pieces:
        if text := budget.take(piece):
            taken.append(text)
        if budget.spent:
            break
    assert taken == kept
