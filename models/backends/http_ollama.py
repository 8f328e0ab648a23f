"""Ollama: `/api/generate` with a raw FIM prompt (our template), `keep_alive` so the model
stays loaded between keystrokes, `/api/chat` for edits (Ollama applies the model's chat
template), `/api/tags` for the model list.

API: https://github.com/ollama/ollama/blob/main/docs/api.md
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from typing import Any

from lspilot.models.backends.base import (
    BackendError,
    GenerationParams,
    GenerationStats,
    Message,
    OllamaConfig,
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

log = logging.getLogger(__name__)

KIND = "Ollama server"


def open_server(servers: ServersSettings) -> HttpServer:
    """The configured Ollama server."""
    return HttpServer(KIND, servers.ollama_url, servers)


def model_names(server: HttpServer) -> list[str]:
    """The models `/api/tags` lists (blocking)."""
    tags = server.get_json("/api/tags")
    try:
        return [str(m["name"]) for m in tags["models"]]
    except (KeyError, TypeError) as exc:
        raise BackendError(f"the {KIND} sent an unexpected model list: {exc!r}") from exc


def _same_model(wanted: str, listed: str) -> bool:
    # Ollama lists `name:tag`; a name without a tag means `:latest`.
    return listed == wanted or (":" not in wanted and listed == f"{wanted}:latest")


class OllamaBackend(ServerBackend):
    """A model served by Ollama, prompted raw with our FIM template."""

    def __init__(self, config: OllamaConfig, server: HttpServer) -> None:
        super().__init__(config.name, server, template_named(config.servers.template),
                         config.servers.context_size)
        self.model = config.model
        self.keep_alive = config.servers.ollama_keep_alive

    @classmethod
    def connect(cls, config: OllamaConfig) -> OllamaBackend:
        """Check the model is pulled, then have Ollama load it (blocking)."""
        server = open_server(config.servers)
        names = model_names(server)
        if not any(_same_model(config.model, n) for n in names):
            raise BackendError(f"the {KIND} at {server.base_url} has no model "
                               f"{config.model!r}: run `ollama pull {config.model}`")
        # A generate request without a prompt loads the model and returns at once.
        loaded = server.post_json("/api/generate", {"model": config.model,
                                                    "keep_alive": config.servers.ollama_keep_alive})
        if not isinstance(loaded, dict) or not loaded.get("done"):
            raise BackendError(f"the {KIND} did not load {config.model}: {loaded!r:.200}")
        return cls(config, server)

    async def stream(self, prompt: Prompt, params: GenerationParams,
                     stats: GenerationStats) -> AsyncGenerator[str, None]:
        """The completion of a raw FIM prompt, piece by piece."""
        body = {"model": self.model, "prompt": prompt.text, "raw": True, "stream": True,
                "keep_alive": self.keep_alive,
                "options": {"temperature": params.temperature, "num_predict": params.max_tokens,
                            "stop": list(self.template.stop)}}
        stats.prompt_tokens = self.count_prompt_tokens(prompt)
        async for piece in self._pieces("/api/generate", body, params, stats, _generated):
            yield piece

    async def chat(self, messages: Sequence[Message], params: GenerationParams,
                   stats: GenerationStats) -> AsyncGenerator[str, None]:
        """The model's answer through its own chat template (Ollama applies it)."""
        body = {"model": self.model, "messages": chat_messages(messages), "stream": True,
                "keep_alive": self.keep_alive,
                "options": {"temperature": params.temperature, "num_predict": params.max_tokens}}
        stats.prompt_tokens = self.count_chat_tokens(messages)
        async for piece in self._pieces("/api/chat", body, params, stats, _said):
            yield piece

    async def _pieces(self, path: str, body: Mapping[str, Any], params: GenerationParams,
                      stats: GenerationStats, text_of: Callable[[Mapping[str, Any]], str]
                      ) -> AsyncGenerator[str, None]:
        started = time.perf_counter()
        budget = Budget.of(params.max_tokens)
        async with self.server.lines(path, body) as lines:
            async for line in lines:
                event = parse_event(KIND, line)
                if not event:
                    continue
                if piece := budget.take(text_of(event)):
                    if stats.generated_tokens == 0:
                        stats.prompt_ms = (time.perf_counter() - started) * 1000
                    stats.generated_tokens += 1
                    yield piece
                    if budget.spent:
                        break  # Ollama ignored num_predict: hang up
                if event.get("done"):
                    # Ollama's own counts and durations (nanoseconds) replace the estimates.
                    stats.prompt_tokens = int(event.get("prompt_eval_count",
                                                        stats.prompt_tokens))
                    stats.evaluated_tokens = stats.prompt_tokens
                    stats.generated_tokens = int(event.get("eval_count",
                                                           stats.generated_tokens))
                    stats.prompt_ms = event.get("prompt_eval_duration", 0) / 1e6 or stats.prompt_ms
                    stats.generate_ms = event.get("eval_duration", 0) / 1e6
                    return
        stats.generate_ms = (time.perf_counter() - started) * 1000 - stats.prompt_ms

    async def aclose(self) -> None:
        """Ask Ollama to unload the model (its memory returns), then close the connections."""
        try:
            async for _ in self.server.stream_lines(
                    "/api/generate", {"model": self.model, "keep_alive": 0, "stream": False}):
                pass
        except BackendError as exc:
            log.info("could not unload %s: %s", self.model, exc)
        await super().aclose()


def _generated(event: Mapping[str, Any]) -> str:
    return str(event.get("response") or "")


def _said(event: Mapping[str, Any]) -> str:
    return str((event.get("message") or {}).get("content") or "")
