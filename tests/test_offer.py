"""What is offered to the editor: choices per trigger, the word a list item replaces."""

from __future__ import annotations

import pytest

from lspilot.completion.offer import choices, word_before


@pytest.mark.parametrize(("text", "invoked", "expected"), [
    ("", True, []),
    ("a + b", True, ["a + b"]),
    ("x = 1\ny = 2", False, ["x = 1\ny = 2"]),
    ("x = 1\ny = 2", True, ["x = 1\ny = 2", "x = 1"]),
    ("\n    x = 1\n    y = 2", True, ["\n    x = 1\n    y = 2", "\n    x = 1"]),
    ("x = 1\n", True, ["x = 1\n"]),           # one line and its end: nothing to cycle to
])
def test_choices(text: str, invoked: bool, expected: list[str]) -> None:
    assert choices(text, invoked) == expected


@pytest.mark.parametrize(("prefix", "word"), [
    ("x = pri", "pri"),
    ("x = ", ""),
    ("def f():\n    ret", "ret"),
    ("café = caf", "caf"),
    ("naïve_tötal = naïve_t", "naïve_t"),
    ("const $el = $e", "$e"),
    ("x = (a", "a"),
    ("", ""),
])
def test_word_before(prefix: str, word: str) -> None:
    assert word_before(prefix) == word
