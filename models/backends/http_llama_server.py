"""llama.cpp's own server (`llama-server`): `/infill`, where the server applies the model's
FIM template and takes repo context as `input_extra`, or `/completion` with our template;
both with `cache_prompt` so the server reuses its KV cache between keystrokes. Chat (edits)
goes to its OpenAI-compatible `/v1/chat/completions`, where it applies the model's own chat
template.

API: https://github.com/ggml-org/llama.cpp/blob/master/tools/server/README.md
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from typing import Any

from lspilot.models.backends.base import (
    BackendError,
    GenerationParams,
    GenerationStats,
    LlamaServerConfig,
    Message,
)
from lspilot.models.backends.http_client import (
    Budget,
    HttpServer,
    ServerBackend,
    chat_messages,
    parse_event,
    template_named,
)
from lspilot.models.backends.http_openai import chat_text, pieces
from lspilot.templates import FimTemplate, Prompt, Special

KIND = "llama.cpp server"


@dataclass(frozen=True)
class InfillParts:
    """A FIM prompt taken apart again for `/infill`."""

    prefix: str
    suffix: str
    extra: tuple[tuple[str, str], ...]
    """Repo-level context: (file name, text) per file, in prompt order."""


def infill_parts(prompt: Prompt, template: FimTemplate) -> InfillParts:
    """The prefix, suffix and repo files of a rendered prompt."""
    # Files laid out before the FIM part (`<|file_sep|>path\ntext`) go to input_extra;
    # layouts that put them inside the prefix (comment headers) stay in the prefix.
    file_sep = None if template.repo.files_in_prefix else template.repo.file or None
    fields = {template.prefix: "", template.suffix: ""}
    extra: list[tuple[str, str]] = []
    current: str | None = None
    for segment in prompt.segments:
        if isinstance(segment, Special):
            current = segment.text
            continue
        if current in fields:
            fields[current] += segment
        elif current is not None and current == file_sep:
            name, _, text = segment.partition("\n")
            extra.append((name, text))
    return InfillParts(fields[template.prefix], fields[template.suffix], tuple(extra))


class LlamaServerBackend(ServerBackend):
    """A model served by `llama-server`."""

    def __init__(self, config: LlamaServerConfig, server: HttpServer,
                 context_size: int) -> None:
        super().__init__(config.name, server, template_named(config.servers.template),
                         context_size)
        self.endpoint = config.servers.llama_server_endpoint
        self.model = config.model

    @classmethod
    def connect(cls, config: LlamaServerConfig) -> LlamaServerBackend:
        """Check the server is up and has loaded its model; read its context size (blocking)."""
        server = HttpServer(KIND, config.servers.llama_server_url, config.servers)
        health = server.get_json("/health")
        if not isinstance(health, dict) or health.get("status") != "ok":
            raise BackendError(f"the {KIND} at {server.base_url} is not ready: {health!r:.200}")
        props = server.get_json("/props")
        settings = props.get("default_generation_settings", {}) if isinstance(props, dict) else {}
        context_size = int(settings.get("n_ctx") or config.servers.context_size)
        return cls(config, server, context_size)

    async def stream(self, prompt: Prompt, params: GenerationParams,
                     stats: GenerationStats) -> AsyncGenerator[str, None]:
        """The completion, piece by piece, from `/infill` or `/completion`."""
        body: dict[str, Any] = {"n_predict": params.max_tokens,
                                "temperature": params.temperature, "cache_prompt": True,
                                "stream": True}
        if self.endpoint == "infill":
            parts = infill_parts(prompt, self.template)
            body |= {"input_prefix": parts.prefix, "input_suffix": parts.suffix,
                     "input_extra": [{"filename": n, "text": t} for n, t in parts.extra]}
        else:
            body |= {"prompt": prompt.text, "stop": list(self.template.stop)}
        stats.prompt_tokens = self.count_prompt_tokens(prompt)
        started = time.perf_counter()
        budget = Budget.of(params.max_tokens)
        async with self.server.lines("/" + self.endpoint, body) as lines:
            async for line in lines:
                event = parse_event(KIND, line)
                if event is None:
                    break
                if piece := budget.take(str(event.get("content") or "")):
                    if stats.generated_tokens == 0:
                        stats.prompt_ms = (time.perf_counter() - started) * 1000
                    stats.generated_tokens += 1
                    yield piece
                    if budget.spent:
                        break  # the server ignored n_predict: hang up
                if event.get("stop"):
                    timings = event.get("timings") or {}
                    stats.prompt_tokens = int(event.get("tokens_evaluated",
                                                        stats.prompt_tokens))
                    stats.evaluated_tokens = int(timings.get("prompt_n", stats.prompt_tokens))
                    stats.generated_tokens = int(timings.get("predicted_n",
                                                             stats.generated_tokens))
                    stats.prompt_ms = float(timings.get("prompt_ms", stats.prompt_ms))
                    stats.generate_ms = float(timings.get("predicted_ms", 0.0))
                    return
        stats.generate_ms = (time.perf_counter() - started) * 1000 - stats.prompt_ms

    async def chat(self, messages: Sequence[Message], params: GenerationParams,
                   stats: GenerationStats) -> AsyncGenerator[str, None]:
        """The answer of the server's model, through the model's own chat template, piece
        by piece; `cache_prompt` keeps the files of an edit in the server's KV cache."""
        body = {"model": self.model, "messages": chat_messages(messages),
                "max_tokens": params.max_tokens, "temperature": params.temperature,
                "stream": True, "cache_prompt": True}
        stats.prompt_tokens = self.count_chat_tokens(messages)
        async for piece in pieces(self.server, "/v1/chat/completions", body, params, stats,
                                  chat_text):
            yield piece
