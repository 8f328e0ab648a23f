"""One completion, start to end: cursor -> window -> template -> backend -> postprocess."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

from lspilot.completion.backends.base import Backend, GenerationParams, GenerationStats
from lspilot.completion.cursor import cursor_at
from lspilot.completion.postprocess import is_multiline, postprocess, stop_reached
from lspilot.context.window import fit_window
from lspilot.settings import CompletionSettings
from lspilot.templates import Prompt, render

Trigger = Literal["automatic", "invoked"]


@dataclass(frozen=True)
class CompletionRequest:
    """A cursor in a document's text, in our own terms (offsets are code-point indexes)."""

    uri: str
    text: str
    offset: int
    language_id: str = ""
    trigger: Trigger = "automatic"


@dataclass(frozen=True)
class Completion:
    """What the pipeline produced for one request, with what it cost."""

    text: str
    """The text to insert at the cursor; empty when there is nothing worth showing."""
    raw: str
    prompt: Prompt
    model: str
    template: str
    multiline: bool
    stats: GenerationStats = field(default_factory=GenerationStats)
    total_ms: float = 0.0
    window_start: int = 0
    cached: bool = False
    """Served from the typed-ahead cache, without a model call."""


async def complete(request: CompletionRequest, backend: Backend,
                   settings: CompletionSettings, anchor: int | None = None,
                   stats: GenerationStats | None = None) -> Completion:
    """Run the whole pipeline for one cursor; `anchor` is the last window's start line.

    `stats` is filled in as the backend works, also when the request is cancelled.
    """
    started = time.perf_counter()
    cursor = cursor_at(request.text, request.offset)
    multiline = is_multiline(cursor)
    template = backend.template
    fim_tokens = backend.count_prompt_tokens(render(template, "", ""))
    budget = min(settings.prompt_tokens, backend.context_size - settings.max_tokens) - fim_tokens
    window = fit_window(cursor.prefix, cursor.suffix, budget, settings.suffix_share,
                        backend.count_tokens, anchor)
    prompt = render(template, window.prefix, window.suffix)
    stats = stats if stats is not None else GenerationStats()
    raw = ""
    stream = backend.stream(prompt, GenerationParams(max_tokens=settings.max_tokens), stats)
    try:
        async for piece in stream:
            raw += piece
            if settings.early_stop and stop_reached(raw, cursor, multiline, settings.max_lines):
                break
    finally:
        await stream.aclose()
    text = postprocess(raw, cursor, multiline, settings.max_lines, request.language_id,
                       (window.prefix, window.suffix))
    return Completion(text=text, raw=raw, prompt=prompt, model=backend.name,
                      template=template.family, multiline=multiline, stats=stats,
                      total_ms=(time.perf_counter() - started) * 1000,
                      window_start=window.start_line)
