"""OpenAI-compatible servers: `/v1/completions` with a raw FIM prompt, `/v1/chat/completions`
for instruct models (edits), `/v1/models`. The API key comes from an environment variable
and is sent only as a header, never logged."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from typing import Any

from lspilot.models.backends.base import (
    BackendError,
    GenerationParams,
    GenerationStats,
    Message,
    OpenAIConfig,
)
from lspilot.models.backends.http_client import (
    Budget,
    HttpServer,
    ServerBackend,
    chat_messages,
    parse_event,
    template_named,
)
from lspilot.settings import ServersSettings
from lspilot.templates import Prompt

KIND = "OpenAI-compatible server"
# OpenAI's API takes at most 4 stop sequences; servers stop at the model's end tokens anyway.
_MAX_STOP = 4


def open_server(servers: ServersSettings) -> HttpServer:
    """The configured server, with the API key from its environment variable if set."""
    key = os.environ.get(servers.openai_api_key_env, "")
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return HttpServer(KIND, servers.openai_url, servers, headers)


def model_ids(server: HttpServer) -> list[str]:
    """The ids `/v1/models` lists (blocking)."""
    listing = server.get_json("/models")
    try:
        return [str(m["id"]) for m in listing["data"]]
    except (KeyError, TypeError) as exc:
        raise BackendError(f"the {KIND} sent an unexpected model list: {exc!r}") from exc


class OpenAIBackend(ServerBackend):
    """A completion model behind `/v1/completions`."""

    def __init__(self, config: OpenAIConfig, server: HttpServer) -> None:
        super().__init__(config.name, server, template_named(config.servers.template),
                         config.servers.context_size)
        self.model = config.model

    @classmethod
    def connect(cls, config: OpenAIConfig) -> OpenAIBackend:
        """Check that the server answers and serves the model (blocking)."""
        server = open_server(config.servers)
        ids = model_ids(server)
        if config.model not in ids:
            raise BackendError(f"the {KIND} at {server.base_url} has no model "
                               f"{config.model!r}; it serves: {', '.join(ids) or 'nothing'}")
        return cls(config, server)

    async def stream(self, prompt: Prompt, params: GenerationParams,
                     stats: GenerationStats) -> AsyncGenerator[str, None]:
        """The completion of a raw FIM prompt, piece by piece."""
        body = {"model": self.model, "prompt": prompt.text, "max_tokens": params.max_tokens,
                "temperature": params.temperature, "stream": True,
                "stop": list(self.template.stop[:_MAX_STOP])}
        stats.prompt_tokens = self.count_prompt_tokens(prompt)  # the server's usage may correct it
        async for piece in pieces(self.server, "/completions", body, params, stats,
                                  _completion_text):
            yield piece

    async def chat(self, messages: Sequence[Message], params: GenerationParams,
                   stats: GenerationStats) -> AsyncGenerator[str, None]:
        """An instruct model's answer to chat messages, piece by piece (for edits)."""
        body = {"model": self.model, "messages": chat_messages(messages),
                "max_tokens": params.max_tokens, "temperature": params.temperature,
                "stream": True, "stream_options": {"include_usage": True}}
        stats.prompt_tokens = self.count_chat_tokens(messages)
        async for piece in pieces(self.server, "/chat/completions", body, params, stats,
                                  chat_text):
            yield piece


def _completion_text(choice: Mapping[str, Any]) -> str:
    return str(choice.get("text") or "")


def chat_text(choice: Mapping[str, Any]) -> str:
    """The text of one streamed chat choice (`delta.content`)."""
    return str((choice.get("delta") or {}).get("content") or "")


async def pieces(server: HttpServer, path: str, body: Mapping[str, Any],
                 params: GenerationParams, stats: GenerationStats,
                 text_of: Callable[[Mapping[str, Any]], str]) -> AsyncGenerator[str, None]:
    """The text of an OpenAI-style event stream, cut at `max_tokens` pieces and characters
    (see `Budget`): a server that ignores the limit is hung up on."""
    started = time.perf_counter()
    timed = False
    budget = Budget.of(params.max_tokens)
    async with server.lines(path, body) as lines:
        async for line in lines:
            event = parse_event(server.kind, line)
            if event is None:
                break
            for choice in event.get("choices") or ():
                piece = budget.take(text_of(choice))
                if not piece:
                    continue
                if stats.generated_tokens == 0:
                    stats.prompt_ms = (time.perf_counter() - started) * 1000
                stats.generated_tokens += 1  # one streamed chunk per token on llama.cpp, vLLM
                yield piece
                if budget.spent:
                    break
            if budget.spent:
                break
            if usage := event.get("usage"):
                stats.prompt_tokens = int(usage.get("prompt_tokens", 0))
                stats.generated_tokens = int(usage.get("completion_tokens",
                                                       stats.generated_tokens))
            if timings := event.get("timings"):  # llama.cpp's server
                stats.evaluated_tokens = int(timings.get("prompt_n", 0))
                stats.prompt_ms = float(timings.get("prompt_ms", stats.prompt_ms))
                stats.generate_ms = float(timings.get("predicted_ms", 0.0))
                timed = True
    if not timed:
        stats.generate_ms = (time.perf_counter() - started) * 1000 - stats.prompt_ms
