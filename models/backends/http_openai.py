"""OpenAI-compatible servers: `/v1/completions` with a raw FIM prompt, `/v1/chat/completions`
for instruct models (edits), `/v1/models`. The API key comes from an environment variable
and is sent only as a header, never logged."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from contextlib import aclosing
from typing import Any

from lspilot.models.backends.base import (
    BackendError,
    GenerationParams,
    GenerationStats,
    OpenAIConfig,
)
from lspilot.models.backends.http_client import (
    Budget,
    HttpServer,
    ServerBackend,
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
        budget = Budget.of(params.max_tokens)
        async with aclosing(_pieces(self.server, "/completions", body, stats,
                                    _completion_text)) as pieces:
            async for piece in pieces:
                if piece := budget.take(piece):
                    yield piece
                if budget.spent:
                    break

    async def chat(self, messages: Sequence[Mapping[str, str]], params: GenerationParams,
                   stats: GenerationStats) -> AsyncGenerator[str, None]:
        """An instruct model's answer to chat messages, piece by piece (for edits)."""
        body = {"model": self.model, "messages": list(messages),
                "max_tokens": params.max_tokens, "temperature": params.temperature,
                "stream": True}
        async for piece in _pieces(self.server, "/chat/completions", body, stats, _chat_text):
            yield piece


def _completion_text(choice: Mapping[str, Any]) -> str:
    return str(choice.get("text") or "")


def _chat_text(choice: Mapping[str, Any]) -> str:
    return str((choice.get("delta") or {}).get("content") or "")


async def _pieces(server: HttpServer, path: str, body: Mapping[str, Any],
                  stats: GenerationStats,
                  text_of: Callable[[Mapping[str, Any]], str]) -> AsyncGenerator[str, None]:
    started = time.perf_counter()
    async for line in server.stream_lines(path, body):
        event = parse_event(KIND, line)
        if event is None:
            break
        for choice in event.get("choices") or ():
            piece = text_of(choice)
            if not piece:
                continue
            if stats.generated_tokens == 0:
                stats.prompt_ms = (time.perf_counter() - started) * 1000
            stats.generated_tokens += 1  # one streamed chunk per token on llama.cpp and vLLM
            yield piece
        if usage := event.get("usage"):
            stats.prompt_tokens = int(usage.get("prompt_tokens", 0))
            stats.generated_tokens = int(usage.get("completion_tokens", stats.generated_tokens))
    stats.generate_ms = (time.perf_counter() - started) * 1000 - stats.prompt_ms
