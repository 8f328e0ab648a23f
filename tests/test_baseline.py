"""completion/baseline.py: the plain client's prompt and cut, and the bare model through the
real llama.cpp (the tiny GGUF answers `a + b`)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from lspilot.completion.baseline import bare_complete, plain_cut, plain_prompt
from lspilot.models.backends.base import EmbeddedConfig, make_backend
from lspilot.settings import CompletionSettings, LlamaCppSettings
from lspilot.templates import render
from tests.conftest import at_cursor


@pytest.mark.parametrize(("raw", "kind", "cut_text", "done"), [
    ("a + b\nc", "line", "a + b", True),
    ("a + b", "line", "a + b", False),
    ("\na + b", "line", "", True),  # a plain client takes the first line as it comes
    ("x = 1\n    y = 2\nreturn", "block", "x = 1\n    y = 2", True),  # dedent ends it
    ("x = 1\n\n    y = 2\n", "block", "x = 1\n\n    y = 2", False),  # blank lines do not
    ("a\n    b\n    c\n    d", "block", "a\n    b\n    c", True),  # at most max_lines
])
def test_plain_client_cut(raw: str, kind: str, cut_text: str, done: bool) -> None:
    max_lines = 3 if raw.startswith("a\n") else 8
    assert plain_cut(raw, kind, 4, max_lines) == (cut_text, done)  # type: ignore[arg-type]


def test_the_plain_prompt_keeps_the_text_next_to_the_cursor_within_budget(
        tiny_model: Path) -> None:
    backend = make_backend(EmbeddedConfig("tiny", tiny_model,
                                          LlamaCppSettings(context_size=1024, threads=1)))
    prefix = "".join(f"x{n} = {n}\n" for n in range(400))
    suffix = "".join(f"y{n} = {n}\n" for n in range(400))
    settings = CompletionSettings(prompt_tokens=200, max_tokens=16, suffix_share=0.25)
    prompt = plain_prompt(backend, prefix, suffix, settings)
    text = prompt.text
    assert backend.count_prompt_tokens(prompt) <= 200
    shown_prefix = text.split("<|fim_prefix|>")[1].split("<|fim_suffix|>")[0]
    shown_suffix = text.split("<|fim_suffix|>")[1].split("<|fim_middle|>")[0]
    assert prefix.endswith(shown_prefix) and suffix.startswith(shown_suffix)
    # The suffix gets a quarter of what the FIM tokens leave (cut by characters: to the
    # token), the prefix the rest.
    share = int((200 - backend.count_prompt_tokens(render(backend.template, "", ""))) * 0.25)
    assert share - 2 <= backend.count_tokens(shown_suffix) <= share
    assert backend.count_prompt_tokens(prompt) >= 196
    asyncio.run(backend.aclose())


def test_the_bare_model_answers_with_its_first_line(tiny_model: Path) -> None:
    backend = make_backend(EmbeddedConfig("tiny", tiny_model,
                                          LlamaCppSettings(context_size=1024, threads=1)))
    text, offset = at_cursor("def add(a, b):\n    return █\n")
    answer = asyncio.run(bare_complete(backend, text, offset, "line", CompletionSettings()))
    assert answer.text == "a + b"
    assert answer.prompt_tokens > 0 and answer.latency_ms > 0
    asyncio.run(backend.aclose())
