"""The cursor's file cut to a token budget: nearest lines kept, budget never exceeded."""

from __future__ import annotations

import pytest

from lspilot.completion.pipeline import suffix_share
from lspilot.context.window import fit_window
from lspilot.settings import CompletionSettings


def words(text: str) -> int:
    """A stand-in tokenizer: one token per whitespace-separated word, one per line break."""
    return len(text.split()) + text.count("\n")


PREFIX = "\n".join(f"p{i} a b" for i in range(10)) + "\n    ret"
SUFFIX = "urn x\n" + "\n".join(f"s{i} c d" for i in range(10))


@pytest.mark.parametrize("budget", [0, 1, 3, 8, 20, 40, 1000])
@pytest.mark.parametrize("share", [0.0, 0.25, 0.5])
def test_budget_is_never_exceeded(budget: int, share: float) -> None:
    window = fit_window(PREFIX, SUFFIX, budget, share, words)
    assert words(window.prefix) + words(window.suffix) <= budget
    assert PREFIX.endswith(window.prefix) and SUFFIX.startswith(window.suffix)


def test_lines_nearest_the_cursor_win() -> None:
    window = fit_window(PREFIX, SUFFIX, 20, 0.25, words)
    assert window.prefix.endswith("p9 a b\n    ret")
    assert window.suffix.startswith("urn x")
    assert "p0" not in window.prefix


def test_everything_fits_in_a_large_budget() -> None:
    window = fit_window(PREFIX, SUFFIX, 1000, 0.25, words)
    assert (window.prefix, window.suffix) == (PREFIX, SUFFIX)


def test_unused_suffix_budget_goes_to_the_prefix() -> None:
    window = fit_window(PREFIX, "", 30, 0.5, words)
    assert words(window.prefix) > 15


def test_an_overlong_cursor_line_is_cut_by_characters() -> None:
    line = " ".join(f"w{i}" for i in range(50))
    window = fit_window(line, "", 10, 0.25, words)
    assert line.endswith(window.prefix) and 0 < words(window.prefix) <= 10


LONG = "\n".join(f"p{i} a b" for i in range(100)) + "\n    ret"


def test_the_window_start_stays_put_while_typing() -> None:
    first = fit_window(LONG, SUFFIX, 60, 0.25, words)
    assert first.start_line > 0
    typed = LONG
    for extra in ["urn", " x", " +", " y"]:
        typed += extra
        window = fit_window(typed, SUFFIX, 60, 0.25, words, anchor=first.start_line)
        assert window.start_line == first.start_line
        assert typed.endswith(window.prefix)
        assert words(window.prefix) + words(window.suffix) <= 60


def test_a_new_start_leaves_room_to_type() -> None:
    window = fit_window(LONG, SUFFIX, 60, 0.25, words)
    budget = 60 - window.suffix_tokens
    assert window.prefix_tokens <= int(budget * 0.85)


@pytest.mark.parametrize(("suffix", "typing_suffix", "full"), [
    (SUFFIX, 4, True),      # typed-on requests keep 4 suffix tokens: their prefix has room
    (SUFFIX, 15, False),    # they keep all 15: no room there, the new start leaves some
    (SUFFIX, None, False),  # no typing cap: the new start leaves room
    ("", 4, False),         # no suffix to give up: the new start leaves room
])
def test_a_new_start_fills_the_prefix_where_typing_has_room_anyway(
        suffix: str, typing_suffix: int | None, full: bool) -> None:
    window = fit_window(LONG, suffix, 60, 0.25, words, typing_suffix=typing_suffix)
    budget = 60 - window.suffix_tokens
    assert (window.prefix_tokens > int(budget * 0.85)) == full
    assert window.prefix_tokens <= budget
    # a request typed on from it keeps its start
    typed = fit_window(LONG + "urn x", suffix, 60,
                       0.25 if typing_suffix is None else min(0.25, typing_suffix / 60), words,
                       anchor=window.start_line)
    assert typed.start_line == window.start_line


def test_a_stale_anchor_is_replaced() -> None:
    window = fit_window(LONG, SUFFIX, 60, 0.25, words, anchor=0)  # far too much text now
    assert window.start_line > 0 and words(window.prefix) + words(window.suffix) <= 60


@pytest.mark.parametrize(("typing", "budget", "expected"), [
    (False, 1000, 0.25),     # the first request at a place, or invoked: the full share
    (True, 1000, 0.064),     # typed on from the last request: at most 64 tokens
    (True, 100, 0.25),       # a small budget: the share is already under 64 tokens
    (True, 0, 0.25),
])
def test_typing_keeps_the_suffix_short(typing: bool, budget: int, expected: float) -> None:
    settings = CompletionSettings(suffix_share=0.25, typing_suffix_tokens=64)
    assert suffix_share(settings, typing, budget) == pytest.approx(expected)
