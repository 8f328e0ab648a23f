"""One completion: cursor -> window -> context -> redact -> template -> backend -> postprocess."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from tree_sitter import Tree

from lspilot.completion.cursor import CursorContext, cursor_at
from lspilot.completion.postprocess import is_multiline, line_below, postprocess, stop_reached
from lspilot.completion.redaction import (
    Redaction,
    cut_secrets,
    redact_gathered,
    redact_window,
    window_redactions,
)
from lspilot.context.gather import ContextProvider, Gathered
from lspilot.context.languages import LANGUAGES
from lspilot.context.snippet import Snippet
from lspilot.context.window import Window, fit_window
from lspilot.models.backends.base import Backend, GenerationParams, GenerationStats
from lspilot.settings import CompletionSettings, PrivacySettings
from lspilot.templates import ContextFile, FimTemplate, Prompt, render

Trigger = Literal["automatic", "invoked"]

MIN_SPARE_TOKENS = 16
"""Context budget left unused that is worth widening the file's window for."""

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
    typing: bool = False
    """An automatic request typed on or backspaced from the document's last one (the scheduler
    says): the model read this prompt up to near the cursor for the last request."""
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
    redactions: tuple[Redaction, ...] = ()
    """Secrets kept out of the prompt (their kinds and places, never their values)."""


async def complete(request: CompletionRequest, backend: Backend,
                   settings: CompletionSettings, anchor: int | None = None,
                   stats: GenerationStats | None = None, context: ContextProvider | None = None,
                   context_tokens: int = 0,
                   on_text: Callable[[str], None] | None = None, *,
                   privacy: PrivacySettings | None = None) -> Completion:
    """Run the whole pipeline for one cursor; `anchor` is the last window's start line.

    With a `context` provider, `context_tokens` of the prompt budget go to code from other
    files, the rest to the cursor's own file; the split does not depend on what was found,
    so that the file's window (and the KV cache) stays put while the context changes.
    `stats` is filled in as the backend works, also when the request is cancelled;
    `on_text` sees the raw middle so far after every piece. With `privacy.redact_secrets`
    no text reaches the prompt unredacted, and the completion never inserts a secret.
    """
    started = time.perf_counter()
    if len(request.text) > LARGE_DOCUMENT_CHARS:
        context = None
    privacy = privacy if privacy is not None else PrivacySettings()
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
    window = file_window(cursor, budget, settings, request.typing, backend, anchor)
    gathered = None
    redactions: tuple[Redaction, ...] = ()
    context_found: tuple[Redaction, ...] = ()
    if context is not None and context_tokens > 0:
        # The sources place the window by its lines in the file: they get it as it is.
        gathered = await context.gather(request.uri, request.language_id, request.text,
                                        request.offset, window, context_tokens,
                                        backend.count_tokens, typing=request.typing)
    shown = window
    if privacy.redact_secrets:
        path = gathered.path if gathered is not None else request.uri.rsplit("/", 1)[-1]
        shown, redactions = _redacted_window(request, cursor, path, window, budget, settings,
                                             backend)
        if gathered is not None:
            gathered, context_found = redact_gathered(gathered)
            redactions += context_found
    if gathered is not None:
        prompt, gathered = _repo_prompt(template, shown, gathered, request.language_id, total,
                                        backend)
        spare = total - backend.count_prompt_tokens(prompt)
        # What the context left unused goes back to the file: the bare model given the whole
        # budget sees that much more of it, and completes better (bench/fim). Never more
        # than the file gets with context off: room the window itself left unused (a short
        # prefix) is not spare twice, or the suffix outgrows its share (bench/fim: 11 such
        # cursors on the report split, the bare model exact on 3, the pipeline on 1). The
        # window stays put while the context does, so the KV cache keeps its tokens.
        wider = min(shown.prefix_tokens + shown.suffix_tokens + spare,
                    total - backend.count_prompt_tokens(render(template, "", "")))
        if spare >= MIN_SPARE_TOKENS and wider > budget:
            window = file_window(cursor, wider, settings, request.typing, backend, anchor)
            shown = window
            if privacy.redact_secrets:
                # The wider window is new text: it is redacted like the first one.
                shown, redactions = _redacted_window(request, cursor, gathered.path, window,
                                                     wider, settings, backend)
                redactions += context_found
            prompt, gathered = _repo_prompt(template, shown, _outside(gathered, window, cursor),
                                            request.language_id, total, backend)
    else:
        prompt = render(template, shown.prefix, shown.suffix)
    stats = stats if stats is not None else GenerationStats()
    raw = ""
    # A request typed on (or backspaced) from the last one races the next keystroke: plain greedy.
    params = GenerationParams(max_tokens=settings.max_tokens, first_line_branches=1
                              if request.typing else settings.first_line_branches,
                              first_line_not=line_below(cursor) if multiline else None,
                              lookahead=lookahead(shown.suffix)
                              if multiline and not request.typing else None,
                              comment_starts=LANGUAGES.comment_starts(request.language_id))
    stream = backend.stream(prompt, params, stats)
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
    middle = cut_secrets(raw, cursor) if privacy.redact_secrets else raw
    text = postprocess(middle, cursor, multiline, settings.max_lines, request.language_id,
                       checked)
    return Completion(text=text, raw=raw, prompt=prompt, model=backend.name,
                      template=template.family, multiline=multiline, stats=stats,
                      total_ms=(time.perf_counter() - started) * 1000,
                      window_start=shown.start_line, context=gathered, redactions=redactions)


LOOKAHEAD_LINES = 2
"""Lines with text after the cursor's line that a first line is read on with."""


def lookahead(suffix: str, lines: int = LOOKAHEAD_LINES) -> str:
    """The code a first line should lead into: the rest of the cursor's line, and the lines
    after it up to the `lines`-th with text (`GenerationParams.lookahead`)."""
    parts = suffix.split("\n")
    kept, found = [parts[0]], 0
    for part in parts[1:]:
        if found == lines:
            break
        kept.append(part)
        found += bool(part.strip())
    return "\n".join(kept)


def _outside(gathered: Gathered, window: Window, cursor: CursorContext) -> Gathered:
    """The snippets without those of the cursor's own file that the window now shows."""
    line = cursor.prefix.count("\n")
    first, last = line - window.prefix.count("\n"), line + window.suffix.count("\n")
    kept = tuple(s for s in gathered.snippets
                 if s.path != gathered.path or s.end_line < first or s.start_line > last)
    return dataclasses.replace(gathered, snippets=kept)


def file_window(cursor: CursorContext, budget: int, settings: CompletionSettings,
                typing: bool, backend: Backend, anchor: int | None) -> Window:
    """The cursor's file cut to `budget` tokens, its suffix at the share this request gets."""
    return fit_window(cursor.prefix, cursor.suffix, budget, suffix_share(settings, typing, budget),
                      backend.count_tokens, anchor, typing_suffix=settings.typing_suffix_tokens)


def suffix_share(settings: CompletionSettings, typing: bool, budget: int) -> float:
    """The window's share for text after the cursor.

    With PSM prompts every keystroke changes the end of the prefix, so a request typed on
    from the last one re-reads the whole suffix, and little else (the KV cache holds the
    rest): there, the suffix is kept short (`typingSuffixTokens`). Any other request (the
    first at a place, after opening a file or moving the cursor; an invoked one) reads most
    of its prompt anyway and gets the full `suffixShare`, which completes much better
    (bench/fim: exact match 11% with a 64-token suffix, 24% with the full share; a full
    suffix on every typed-on request cut the characters predicted per keystroke of
    bench/typing from 0.45 to 0.14, as each model call took seconds).
    """
    if not typing or budget <= 0:
        return settings.suffix_share
    return min(settings.suffix_share, settings.typing_suffix_tokens / budget)


def _redacted_window(request: CompletionRequest, cursor: CursorContext, path: str,
                     window: Window, budget: int, settings: CompletionSettings,
                     backend: Backend) -> tuple[Window, tuple[Redaction, ...]]:
    """The window as the prompt shows it: secrets replaced, still within `budget` tokens.

    A placeholder is usually shorter than the secret it stands for; where it is longer
    (`pw = "abc1"` -> `pw = "<password>"`), the window is fitted again with less room.
    """
    for _ in range(4):
        redacted = redact_window(request.text, len(cursor.prefix), window)
        if not redacted.findings:
            return window, ()
        prefix_tokens = backend.count_tokens(redacted.prefix)
        suffix_tokens = backend.count_tokens(redacted.suffix)
        over = prefix_tokens + suffix_tokens - budget
        shown = dataclasses.replace(window, prefix=redacted.prefix, suffix=redacted.suffix,
                                    prefix_tokens=prefix_tokens, suffix_tokens=suffix_tokens)
        if over <= 0 or budget <= 0:
            return shown, window_redactions(request.text, redacted, path)
        budget -= over
        window = file_window(cursor, budget, settings, request.typing, backend,
                             window.start_line)
    return dataclasses.replace(window, prefix="", suffix="", prefix_tokens=0,
                               suffix_tokens=0), ()


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
