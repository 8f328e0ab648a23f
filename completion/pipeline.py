"""One completion, start to end: cursor -> window -> template -> backend -> postprocess."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from tree_sitter import Tree

from lspilot.completion.cursor import cursor_at
from lspilot.completion.postprocess import is_multiline, postprocess, stop_reached
from lspilot.context.gather import ContextProvider, Gathered
from lspilot.context.snippet import Snippet
from lspilot.context.window import Window, fit_window
from lspilot.models.backends.base import Backend, GenerationParams, GenerationStats
from lspilot.settings import CompletionSettings
from lspilot.templates import ContextFile, FimTemplate, Prompt, render

Trigger = Literal["automatic", "invoked"]

WHOLE_FILE_CHECK_CHARS = 200_000
"""Files up to this size are syntax-checked whole (tree-sitter parses that in milliseconds)."""

LARGE_DOCUMENT_CHARS = 1_000_000
"""A document longer than this gets the file-level prompt: finding context for it (its
symbols, its windows) would cost seconds per request. The server's other documents do not
read it either (`lsp.documents`)."""


@dataclass(frozen=True)
class CompletionRequest:
    """A cursor in a document's text, in our own terms (offsets are code-point indexes)."""

    uri: str
    text: str
    offset: int
    language_id: str = ""
    trigger: Trigger = "automatic"
    tree: Tree | None = field(default=None, compare=False)
    """The syntax tree of `text`, when the caller keeps one (the server does per document)."""


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
    context: Gathered | None = None
    """Code from other files that went into the prompt, and how it was found."""


async def complete(request: CompletionRequest, backend: Backend,
                   settings: CompletionSettings, anchor: int | None = None,
                   stats: GenerationStats | None = None, context: ContextProvider | None = None,
                   context_tokens: int = 0,
                   on_text: Callable[[str], None] | None = None) -> Completion:
    """Run the whole pipeline for one cursor; `anchor` is the last window's start line.

    With a `context` provider, `context_tokens` of the prompt budget go to code from other
    files, the rest to the cursor's own file; the split does not depend on what was found,
    so that the file's window (and the KV cache) stays put while the context changes.
    `stats` is filled in as the backend works, also when the request is cancelled;
    `on_text` sees the raw middle so far after every piece.
    """
    started = time.perf_counter()
    if len(request.text) > LARGE_DOCUMENT_CHARS:
        context = None
    cursor = cursor_at(request.text, request.offset)
    multiline = is_multiline(cursor, request.language_id, request.tree)
    template = backend.template
    total = min(settings.prompt_tokens, backend.context_size - settings.max_tokens)
    context_tokens = min(context_tokens, total // 2) if context is not None else 0
    if context is not None and context_tokens > 0:
        repo, path = context.location(request.uri)
        empty = render(template, "", "", path=path, repo=repo, language_id=request.language_id)
    else:
        empty = render(template, "", "")
    fim_tokens = backend.count_prompt_tokens(empty)
    budget = total - context_tokens - fim_tokens
    window = fit_window(cursor.prefix, cursor.suffix, budget,
                        suffix_share(settings, request.trigger, budget), backend.count_tokens,
                        anchor)
    gathered = None
    if context is not None and context_tokens > 0:
        gathered = context.gather(request.uri, request.language_id, request.text,
                                  request.offset, window, context_tokens, backend.count_tokens)
        prompt, gathered = _repo_prompt(template, window, gathered, request.language_id, total,
                                        backend)
    else:
        prompt = render(template, window.prefix, window.suffix)
    stats = stats if stats is not None else GenerationStats()
    raw = ""
    stream = backend.stream(prompt, GenerationParams(max_tokens=settings.max_tokens), stats)
    try:
        async for piece in stream:
            raw += piece
            if on_text is not None:
                on_text(raw)
            if settings.early_stop and stop_reached(raw, cursor, multiline, settings.max_lines):
                break
    finally:
        await stream.aclose()
    # The syntax check reads the whole file: a window may start inside a string or a block,
    # which makes valid completions look broken. Only huge files are checked on the window.
    checked = None if len(request.text) <= WHOLE_FILE_CHECK_CHARS else \
        (window.prefix, window.suffix)
    text = postprocess(raw, cursor, multiline, settings.max_lines, request.language_id, checked)
    return Completion(text=text, raw=raw, prompt=prompt, model=backend.name,
                      template=template.family, multiline=multiline, stats=stats,
                      total_ms=(time.perf_counter() - started) * 1000,
                      window_start=window.start_line, context=gathered)


def suffix_share(settings: CompletionSettings, trigger: Trigger, budget: int) -> float:
    """The window's share for text after the cursor.

    With PSM prompts every keystroke changes the end of the prefix, so the model re-reads
    the whole suffix: while typing it is kept short (`typingSuffixTokens`); a request the
    user invoked, and waits for, gets the full `suffixShare`, which completes better
    (bench/crossfile: edit similarity 0.506 at 0.25 against 0.425 at 0.06).
    """
    if trigger == "invoked" or budget <= 0:
        return settings.suffix_share
    return min(settings.suffix_share, settings.typing_suffix_tokens / budget)


def context_files(snippets: tuple[Snippet, ...]) -> list[ContextFile]:
    """Snippets as files for a repo-level prompt: one per path, in the snippets' order."""
    by_path: dict[str, list[str]] = {}
    for snippet in snippets:
        by_path.setdefault(snippet.path, []).append(snippet.text)
    return [ContextFile(path, "\n\n".join(texts)) for path, texts in by_path.items()]


def _repo_prompt(template: FimTemplate, window: Window, gathered: Gathered, language_id: str,
                 total: int, backend: Backend) -> tuple[Prompt, Gathered]:
    """The repo-level prompt, dropping the last snippets while it is over `total` tokens.

    Without snippets it is the file-level prompt, as with context off.

    `fit` counts each snippet on its own; file separators and joins can add a few tokens,
    and the budget is hard.
    """
    snippets = gathered.snippets
    while snippets:
        prompt = render(template, window.prefix, window.suffix, path=gathered.path,
                        files=context_files(snippets), repo=gathered.repo,
                        language_id=language_id)
        if backend.count_prompt_tokens(prompt) <= total:
            return prompt, dataclasses.replace(gathered, snippets=snippets)
        snippets = snippets[:-1]
    # Nothing found (or nothing fits): the same prompt as with context off.
    return render(template, window.prefix, window.suffix), \
        dataclasses.replace(gathered, snippets=())
