"""FIM templates: exact prompts per family (golden files) and detection from the vocabulary."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lspilot.templates import TEMPLATES, Special, TemplateError, detect_template, render

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("LSPILOT_UPDATE_GOLDEN") == "1"


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda t: t.family)
def test_rendered_prompt_matches_golden_file(template: object) -> None:
    from lspilot.templates import FimTemplate

    assert isinstance(template, FimTemplate)
    prompt = render(template, "def add(a, b):\n    return ", "\n\nprint(add(1, 2))\n")
    golden = GOLDEN / f"fim-{template.family}.txt"
    if UPDATE:
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(prompt.text)
    assert prompt.text == golden.read_text(), "run with LSPILOT_UPDATE_GOLDEN=1 to update"


def test_special_tokens_stay_separate_from_user_text() -> None:
    qwen = TEMPLATES[0]
    prompt = render(qwen, "x = '<|fim_middle|>'", "")
    specials = [s for s in prompt.segments if isinstance(s, Special)]
    assert [s.text for s in specials] == ["<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>"]
    assert "x = '<|fim_middle|>'" in prompt.segments


QWEN_VOCAB = {"<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>", "<|fim_pad|>",
              "<|repo_name|>", "<|file_sep|>", "<|endoftext|>"}


@pytest.mark.parametrize(("vocab", "family"), [
    (QWEN_VOCAB, "qwen2.5-coder"),
    (QWEN_VOCAB | {"<|im_start|>", "<|im_end|>"}, "qwen2.5-coder"),
])
def test_family_is_read_from_the_vocabulary(vocab: set[str], family: str) -> None:
    assert detect_template(vocab.__contains__).family == family


@pytest.mark.parametrize("vocab", [
    set(),
    {"<|endoftext|>", "<|im_start|>"},
    # looks like qwen by its FIM tokens, but lacks the repo-level tokens: not guessed
    {"<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>"},
])
def test_unknown_family_is_a_clear_error(vocab: set[str]) -> None:
    with pytest.raises(TemplateError, match="no fill-in-the-middle tokens of a known family"):
        detect_template(vocab.__contains__)
