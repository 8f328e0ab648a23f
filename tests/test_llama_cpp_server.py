"""The OpenAI-compatible backend against the real `llama_cpp.server` on loopback, started and
stopped by these tests: tiny real GGUFs (completion and chat models), and the real
Qwen2.5-Coder 0.5B."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from lspilot.completion.pipeline import CompletionRequest, complete
from lspilot.models.backends.base import (
    BackendError,
    GenerationParams,
    GenerationStats,
    Message,
    OpenAIConfig,
    make_backend,
)
from lspilot.models.backends.http_openai import OpenAIBackend
from lspilot.settings import CompletionSettings, ServersSettings
from lspilot.templates import render
from tests.conftest import at_cursor
from tests.llama_cpp_server import llama_cpp_server
from tests.replay_server import free_port
from tests.tiny_gguf import build, chat_model, cut

ANSWER = "a.py\n```python\nx = 1\ny = 2\n\n\ndef f():\n    return x + y\n```\n"


@pytest.fixture(scope="module")
def tiny_server(tiny_model: Path, looping_model: Path, tmp_path_factory: pytest.TempPathFactory
                ) -> Iterator[ServersSettings]:
    folder = tmp_path_factory.mktemp("server")
    chat = build(folder / "chat.gguf", chat_model(ANSWER))
    chat_loop = build(folder / "chat-loop.gguf", chat_model("one\ntwo\n", loop=True))
    with llama_cpp_server({"tiny": tiny_model, "loop": looping_model, "chat": chat,
                           "chat-loop": chat_loop}, free_port(),
                          log=folder / "llama_cpp.server.log") as base:
        yield ServersSettings(openai_url=base, read_timeout=60.0)


def connect(servers: ServersSettings, model: str) -> OpenAIBackend:
    backend = make_backend(OpenAIConfig(f"openai:{model}", model, servers))
    assert isinstance(backend, OpenAIBackend)
    return backend


@pytest.mark.parametrize(("fixture", "expected"), [
    ("def add(a, b):\n    return █\n", "a + b"),
    ("print(█)", "a + b"),
])
async def test_completion_through_the_real_server(tiny_server: ServersSettings, fixture: str,
                                                  expected: str) -> None:
    backend = connect(tiny_server, "tiny")
    text, offset = at_cursor(fixture)
    completion = await complete(CompletionRequest("file:///t.py", text, offset), backend,
                                CompletionSettings(prompt_tokens=256))
    assert completion.text == expected
    assert completion.stats.generated_tokens == 3 and completion.model == "openai:tiny"
    await backend.aclose()


def test_a_model_the_server_lacks_is_refused_naming_what_it_has(
        tiny_server: ServersSettings) -> None:
    with pytest.raises(BackendError, match="has no model 'nope'; it serves: tiny, loop, chat, "
                                           "chat-loop"):
        connect(tiny_server, "nope")


async def test_closing_the_stream_hangs_up_and_the_server_serves_on(
        tiny_server: ServersSettings) -> None:
    backend = connect(tiny_server, "loop")
    stats = GenerationStats()
    stream = backend.stream(render(backend.template, "a", ""), GenerationParams(400), stats)
    pieces = [await anext(stream), await anext(stream)]
    await stream.aclose()
    assert "".join(pieces) == "xy" and stats.generated_tokens == 2
    again = backend.stream(render(backend.template, "b", ""), GenerationParams(5),
                           GenerationStats())
    assert "".join([p async for p in again]) == "xyzxy"
    await backend.aclose()


EDIT = [Message("system", "You rewrite whole files."),
        Message("user", "a.py\n```python\nx = 1\n```\nAdd y = 2 and f().")]


async def test_chat_answers_through_the_servers_chat_template(
        tiny_server: ServersSettings) -> None:
    # llama_cpp.server renders the GGUF's own chat template; the tiny model answers only
    # after the assistant's header it ends with
    backend = connect(tiny_server, "chat")
    stats = GenerationStats()
    pieces = backend.chat(EDIT, GenerationParams(64), stats)
    assert "".join([p async for p in pieces]) == ANSWER
    assert stats.generated_tokens == len(cut(ANSWER))  # one streamed chunk per token
    assert stats.prompt_tokens == backend.count_chat_tokens(EDIT) > 0  # estimated
    await backend.aclose()


async def test_closing_a_chat_hangs_up_and_the_server_serves_on(
        tiny_server: ServersSettings) -> None:
    backend = connect(tiny_server, "chat-loop")
    stats = GenerationStats()
    pieces = backend.chat(EDIT, GenerationParams(1000), stats)
    assert [await anext(pieces), await anext(pieces)] == ["one\n", "two\n"]
    await pieces.aclose()
    again = backend.chat(EDIT, GenerationParams(3), GenerationStats())
    assert "".join([p async for p in again]) == "one\ntwo\none\n"
    await backend.aclose()


async def test_the_api_key_comes_from_the_environment_and_is_never_logged(
        tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    secret = "sk-lspilot-test-4f9a2c"
    with llama_cpp_server({"tiny": tiny_model}, free_port(), api_key=secret,
                          log=tmp_path / "server.log") as base:
        servers = ServersSettings(openai_url=base, openai_api_key_env="LSPILOT_TEST_KEY")
        monkeypatch.delenv("LSPILOT_TEST_KEY", raising=False)
        with pytest.raises(BackendError, match="answered 401 for /v1/models"):
            connect(servers, "tiny")
        monkeypatch.setenv("LSPILOT_TEST_KEY", secret)
        caplog.set_level(logging.DEBUG)
        backend = connect(servers, "tiny")
        stream = backend.stream(render(backend.template, "x = ", ""), GenerationParams(8),
                                GenerationStats())
        assert "".join([p async for p in stream]) == "a + b"
        await backend.aclose()
    assert caplog.records, "debug logging was on"
    assert secret not in caplog.text


@pytest.fixture(scope="module")
def real_server(real_model: Path, tmp_path_factory: pytest.TempPathFactory
                ) -> Iterator[ServersSettings]:
    log = tmp_path_factory.mktemp("server") / "llama_cpp.server.log"
    with llama_cpp_server({"qwen2.5-coder:0.5b": real_model}, free_port(), n_ctx=2048,
                          threads=2, log=log) as base:
        yield ServersSettings(openai_url=base, read_timeout=120.0)


@pytest.mark.real_model
async def test_real_model_completes_through_the_server(real_server: ServersSettings) -> None:
    backend = connect(real_server, "qwen2.5-coder:0.5b")
    text, offset = at_cursor("def add(a, b):\n    return █\n")
    completion = await complete(CompletionRequest("file:///add.py", text, offset), backend,
                                CompletionSettings())
    assert "a + b" in completion.text
    await backend.aclose()


@pytest.mark.real_model
async def test_real_model_answers_chat_for_edits(real_server: ServersSettings) -> None:
    backend = connect(real_server, "qwen2.5-coder:0.5b")
    messages = [Message("user", "What is 2 + 3? Answer with the number only.")]
    answer = "".join([p async for p in backend.chat(messages, GenerationParams(8),
                                                    GenerationStats())])
    assert answer.strip() == "5"
    await backend.aclose()
