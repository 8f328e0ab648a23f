"""The Ollama and llama-server backends against a real loopback HTTP server that replays
responses recorded from those APIs' documentation (see tests/replay_server.py for why and
where from). The OpenAI-compatible backend runs against the real `llama_cpp.server` in
tests/test_llama_cpp_server.py."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Iterator

import pytest

from lspilot.completion.pipeline import CompletionRequest, complete
from lspilot.models.backends.base import (
    Backend,
    BackendError,
    GenerationParams,
    GenerationStats,
    LlamaServerConfig,
    Message,
    OllamaConfig,
    OpenAIConfig,
    make_backend,
)
from lspilot.models.backends.http_llama_server import infill_parts
from lspilot.settings import CompletionSettings, ServersSettings
from lspilot.templates import TEMPLATES, Prompt, Special, render
from tests.conftest import at_cursor
from tests.replay_server import OLLAMA_MODEL, Replay, free_port, serving

QWEN = TEMPLATES[0]


@pytest.fixture
def replay() -> Iterator[tuple[Replay, ServersSettings]]:
    recorded = Replay()
    with serving(recorded) as url:
        yield recorded, ServersSettings(ollama_url=url, llama_server_url=url,
                                        connect_timeout=1.0, read_timeout=5.0)


async def collect(backend: object, prompt: Prompt, stats: GenerationStats) -> str:
    stream = backend.stream(prompt, GenerationParams(16), stats)  # type: ignore[attr-defined]
    return "".join([piece async for piece in stream])


async def test_ollama_generates_from_a_raw_fim_prompt(
        replay: tuple[Replay, ServersSettings]) -> None:
    recorded, servers = replay
    backend = make_backend(OllamaConfig(f"ollama:{OLLAMA_MODEL}", OLLAMA_MODEL, servers))
    # connecting asked Ollama to load the model (a generate request without a prompt)
    assert recorded.requests[-1] == ("/api/generate", {"model": OLLAMA_MODEL,
                                                       "keep_alive": "30m"})
    stats = GenerationStats()
    prompt = render(backend.template, "def add(a, b):\n    return ", "\n")
    assert await collect(backend, prompt, stats) == "a + b"
    path, sent = recorded.requests[-1]
    assert path == "/api/generate" and sent["raw"] is True and sent["stream"] is True
    assert sent["prompt"] == ("<|fim_prefix|>def add(a, b):\n    return <|fim_suffix|>\n"
                              "<|fim_middle|>")
    assert sent["options"]["num_predict"] == 16 and sent["options"]["temperature"] == 0.0
    assert "<|endoftext|>" in sent["options"]["stop"] and sent["keep_alive"] == "30m"
    # Ollama's own counts replace the estimates
    assert (stats.prompt_tokens, stats.generated_tokens) == (26, 3)
    assert stats.generate_ms == pytest.approx(4232.71)
    await backend.aclose()
    assert recorded.requests[-1] == ("/api/generate", {"model": OLLAMA_MODEL, "keep_alive": 0,
                                                       "stream": False})


def test_ollama_names_the_pull_command_for_a_missing_model(
        replay: tuple[Replay, ServersSettings]) -> None:
    _, servers = replay
    with pytest.raises(BackendError, match=r"run `ollama pull qwen2\.5-coder:7b`"):
        make_backend(OllamaConfig("ollama:qwen2.5-coder:7b", "qwen2.5-coder:7b", servers))


async def test_a_garbage_answer_is_a_clear_error(replay: tuple[Replay, ServersSettings]) -> None:
    recorded, servers = replay
    backend = make_backend(OllamaConfig("o", OLLAMA_MODEL, servers))
    recorded.garbage = True
    with pytest.raises(BackendError, match="Ollama server sent something that is not JSON"):
        await collect(backend, render(QWEN, "x = ", ""), GenerationStats())
    recorded.garbage = False  # and the same backend recovers when the server does
    assert await collect(backend, render(QWEN, "x = ", ""), GenerationStats()) == "a + b"
    await backend.aclose()


async def test_llama_server_infill_sends_prefix_suffix_and_repo_files(
        replay: tuple[Replay, ServersSettings]) -> None:
    recorded, servers = replay
    backend = make_backend(LlamaServerConfig("llama-server:default", "default", servers))
    assert backend.context_size == 8192  # read from /props
    text, offset = at_cursor("def add(a, b):\n    return █\n")
    completion = await complete(CompletionRequest("file:///add.py", text, offset), backend,
                                CompletionSettings())
    assert completion.text == "a + b"
    path, sent = recorded.requests[-1]
    assert path == "/infill"
    assert sent["input_prefix"] == "def add(a, b):\n    return " and sent["input_suffix"] == "\n"
    assert sent["cache_prompt"] is True and sent["input_extra"] == []
    stats = completion.stats  # the server's timings replace the estimates
    assert (stats.prompt_tokens, stats.evaluated_tokens, stats.generated_tokens) == (31, 4, 3)
    await backend.aclose()


async def test_llama_server_completion_endpoint_uses_our_template(
        replay: tuple[Replay, ServersSettings]) -> None:
    recorded, servers = replay
    servers = dataclasses.replace(servers, llama_server_endpoint="completion")
    backend = make_backend(LlamaServerConfig("llama-server:x", "x", servers))
    assert await collect(backend, render(QWEN, "x = ", ""), GenerationStats()) == "a + b"
    path, sent = recorded.requests[-1]
    assert path == "/completion"
    assert sent["prompt"] == "<|fim_prefix|>x = <|fim_suffix|><|fim_middle|>"
    assert sent["cache_prompt"] is True and sent["n_predict"] == 16
    await backend.aclose()


def test_llama_server_still_loading_is_reported(replay: tuple[Replay, ServersSettings]) -> None:
    recorded, servers = replay
    recorded.loading = True
    with pytest.raises(BackendError, match="answered 503 for /health: Loading model"):
        make_backend(LlamaServerConfig("llama-server:x", "x", servers))


def test_a_server_that_is_not_running_is_named() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(BackendError, match=rf"cannot reach the Ollama server at {url}/api/tags "
                                           r"\(is it running\?\)"):
        make_backend(OllamaConfig("o", "m", ServersSettings(ollama_url=url)))


async def test_a_slow_server_times_out_with_a_clear_error(
        replay: tuple[Replay, ServersSettings]) -> None:
    recorded, servers = replay
    backend = make_backend(LlamaServerConfig("l", "l", dataclasses.replace(
        servers, read_timeout=0.5)))
    recorded.piece_delay = 2.0
    with pytest.raises(BackendError, match="did not answer in time"):
        await collect(backend, render(QWEN, "x = ", ""), GenerationStats())
    await backend.aclose()


@pytest.mark.parametrize(("segments", "expected"), [
    ((Special("<|fim_prefix|>"), "a = ", Special("<|fim_suffix|>"), "\n",
      Special("<|fim_middle|>")), ("a = ", "\n", ())),
    ((Special("<|fim_prefix|>"), Special("<|fim_suffix|>"), Special("<|fim_middle|>")),
     ("", "", ())),
    # Qwen2.5-Coder's repo-level format: files before the FIM part go to input_extra
    ((Special("<|repo_name|>"), "lspilot\n", Special("<|file_sep|>"), "util.py\ndef f(): ...\n",
      Special("<|file_sep|>"), "main.py\n", Special("<|fim_prefix|>"), "f", Special(
          "<|fim_suffix|>"), Special("<|fim_middle|>")),
     ("f", "", (("util.py", "def f(): ...\n"), ("main.py", "")))),
])
def test_infill_parts(segments: tuple[str | Special, ...],
                      expected: tuple[str, str, tuple[tuple[str, str], ...]]) -> None:
    parts = infill_parts(Prompt(segments), QWEN)
    assert (parts.prefix, parts.suffix, parts.extra) == expected


EDIT = [Message("system", "You rewrite whole files."),
        Message("user", "a.py\n```python\nx = 1\n```\nRename x to y.")]
SENT_MESSAGES = [{"role": "system", "content": "You rewrite whole files."},
                 {"role": "user", "content": "a.py\n```python\nx = 1\n```\nRename x to y."}]


async def chat(backend: Backend, max_tokens: int = 16,
               stats: GenerationStats | None = None) -> str:
    pieces = backend.chat(EDIT, GenerationParams(max_tokens), stats or GenerationStats())
    return "".join([piece async for piece in pieces])


async def test_ollama_chat_sends_the_messages_to_api_chat(
        replay: tuple[Replay, ServersSettings]) -> None:
    recorded, servers = replay
    backend = make_backend(OllamaConfig(f"ollama:{OLLAMA_MODEL}", OLLAMA_MODEL, servers))
    stats = GenerationStats()
    assert await chat(backend, stats=stats) == "a + b"
    path, sent = recorded.requests[-1]
    assert path == "/api/chat" and sent["messages"] == SENT_MESSAGES
    assert sent["stream"] is True and sent["keep_alive"] == "30m" and "raw" not in sent
    assert sent["options"] == {"temperature": 0.0, "num_predict": 16}
    # Ollama's own counts and durations replace the estimates
    assert (stats.prompt_tokens, stats.generated_tokens) == (26, 3)
    assert stats.generate_ms == pytest.approx(4535.599)
    await backend.aclose()


async def test_llama_server_chat_uses_its_openai_compatible_endpoint(
        replay: tuple[Replay, ServersSettings]) -> None:
    recorded, servers = replay
    backend = make_backend(LlamaServerConfig("llama-server:qwen", "qwen", servers))
    stats = GenerationStats()
    assert await chat(backend, stats=stats) == "a + b"
    path, sent = recorded.requests[-1]
    assert path == "/v1/chat/completions" and sent["messages"] == SENT_MESSAGES
    assert sent["stream"] is True and sent["cache_prompt"] is True
    assert sent["max_tokens"] == 16 and sent["model"] == "qwen"
    # the documented usage and timings replace the estimates: 236 of 237 prompt tokens
    # came from the server's cache
    assert (stats.prompt_tokens, stats.evaluated_tokens, stats.generated_tokens) == (237, 1, 3)
    assert (stats.prompt_ms, stats.generate_ms) == (30.958, 661.064)
    await backend.aclose()


def connect_openai(servers: ServersSettings) -> Backend:
    # llama-server's OpenAI-compatible API, reached as an `openai:` model id
    return make_backend(OpenAIConfig("openai:qwen2.5-coder-1.5b", "qwen2.5-coder-1.5b",
                                     dataclasses.replace(servers,
                                                         openai_url=servers.llama_server_url
                                                         + "/v1")))


@pytest.mark.parametrize("connect", [
    lambda s: make_backend(OllamaConfig("o", OLLAMA_MODEL, s)),
    lambda s: make_backend(LlamaServerConfig("l", "l", s)),
    connect_openai,
], ids=["ollama", "llama-server", "openai"])
async def test_a_server_that_ignores_max_tokens_is_cut_and_hung_up_on(
        replay: tuple[Replay, ServersSettings], connect: Callable[[ServersSettings], Backend]
        ) -> None:
    recorded, servers = replay
    recorded.pieces = [f"{n}\n" for n in range(40)]
    recorded.piece_delay = 0.05  # two seconds of answer, if the client stayed
    backend = connect(servers)
    stats = GenerationStats()
    assert await chat(backend, max_tokens=3, stats=stats) == "0\n1\n2\n"
    assert stats.generated_tokens == 3
    for _ in range(500):  # the server notices the hang-up at its next write
        if recorded.streams:
            break
        await asyncio.sleep(0.01)
    assert recorded.streams == ["hung up"]
    await backend.aclose()


async def test_completions_are_cut_at_max_tokens_too(
        replay: tuple[Replay, ServersSettings]) -> None:
    recorded, servers = replay
    recorded.pieces = ["a", " +", " b", " +", " c"]
    backend = make_backend(LlamaServerConfig("l", "l", servers))
    stream = backend.stream(render(QWEN, "x = ", ""), GenerationParams(2), GenerationStats())
    assert "".join([p async for p in stream]) == "a +"
    await backend.aclose()


def test_chat_prompts_are_estimated_from_above(replay: tuple[Replay, ServersSettings]) -> None:
    _, servers = replay
    backend = make_backend(OllamaConfig("o", OLLAMA_MODEL, servers))
    # Qwen2.5-Coder's template and tokenizer make 36 tokens of EDIT, and 47 of its user
    # message alone, where the template adds its default system prompt
    assert backend.count_chat_tokens(EDIT) >= 36
    assert backend.count_chat_tokens(EDIT[1:]) >= 47
    assert backend.count_chat_tokens([*EDIT, Message("assistant", "x" * 300)]) >= (
        backend.count_chat_tokens(EDIT) + 100)
