"""The fair baseline: the bare model with the plain FIM prompt, cut like a plain client cuts.

The same model, greedy, through the same backend, at the same budget
(`completion.promptTokens`, less the FIM tokens): the suffix gets at most
`completion.suffixShare` of it, the prefix the rest, both cut next to the cursor by the
model's own token count; no context from other files, at most `completion.maxTokens`
tokens. The answer is cut the way a plain client cuts it: for a line hole, the first line
of the answer (as it comes, even if empty); for a block hole, at most `completion.maxLines`
lines, ending before the first non-blank line indented less than the cursor (a dedent: the
model left the block). Blank lines do not stop it (bodies have them). Generation stops as
soon as the cut is known.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from lspilot.completion.holes import Kind
from lspilot.completion.scoring import Answer
from lspilot.context.window import cut_chars
from lspilot.models.backends.base import Backend, GenerationParams, GenerationStats
from lspilot.settings import CompletionSettings
from lspilot.templates import Prompt, render

CountTokens = Callable[[str], int]

MAX_CHARS_PER_TOKEN = 24
"""No token spans more characters than this in code: text that far from the cursor is
never in a prompt, and is not counted."""


def _width(line: str) -> int:
    return len(line[: len(line) - len(line.lstrip(" \t"))].expandtabs(4))


def plain_cut(raw: str, kind: Kind, indent_width: int, max_lines: int) -> tuple[str, bool]:
    """A plain client's cut of a raw answer, and whether nothing after it can change it."""
    if kind == "line":
        head, newline, _ = raw.partition("\n")
        return head, bool(newline)
    lines = raw.split("\n")
    kept = [lines[0]]
    for line in lines[1:-1]:
        if len(kept) >= max_lines or (line.strip() and _width(line) < indent_width):
            return "\n".join(kept).rstrip(), True
        kept.append(line)
    done = len(kept) >= max_lines or (len(lines) > 1 and bool(lines[-1].strip())
                                      and _width(lines[-1]) < indent_width)
    if len(lines) > 1 and not done and len(kept) < max_lines:
        kept.append(lines[-1])
    return "\n".join(kept[:max_lines]).rstrip(), done


def _longest(text: str, budget: int, count_tokens: CountTokens, *, keep_end: bool) -> str:
    """The longest end (or start) of `text` that takes at most `budget` tokens."""
    if budget <= 0:
        return ""
    reach = budget * MAX_CHARS_PER_TOKEN
    text = text[max(len(text) - reach, 0):] if keep_end else text[:reach]
    if count_tokens(text) <= budget:
        return text
    return cut_chars(text, budget, count_tokens, keep_end=keep_end)


def plain_prompt(backend: Backend, prefix: str, suffix: str,
                 settings: CompletionSettings) -> Prompt:
    """The file-level FIM prompt at the pipeline's budget: suffix share first, prefix the rest."""
    total = min(settings.prompt_tokens, backend.context_size - settings.max_tokens)
    budget = total - backend.count_prompt_tokens(render(backend.template, "", ""))
    after = _longest(suffix, int(budget * settings.suffix_share), backend.count_tokens,
                     keep_end=False)
    before = _longest(prefix, budget - backend.count_tokens(after), backend.count_tokens,
                      keep_end=True)
    return render(backend.template, before, after)


async def bare_complete(backend: Backend, text: str, offset: int, kind: Kind,
                        settings: CompletionSettings) -> Answer:
    """The bare model's answer at `offset` of `text`, cut as a plain client cuts it."""
    started = time.perf_counter()
    prompt = plain_prompt(backend, text[:offset], text[offset:], settings)
    line_start = text.rfind("\n", 0, offset) + 1
    indent = len(text[line_start:offset].expandtabs(4))
    stats = GenerationStats()
    raw = ""
    stream = backend.stream(prompt, GenerationParams(max_tokens=settings.max_tokens), stats)
    try:
        async for piece in stream:
            raw += piece
            if plain_cut(raw, kind, indent, settings.max_lines)[1]:
                break
    finally:
        await stream.aclose()
    shown = plain_cut(raw, kind, indent, settings.max_lines)[0]
    return Answer(shown, raw, round((time.perf_counter() - started) * 1000, 1),
                  stats.prompt_tokens or backend.count_prompt_tokens(prompt))
