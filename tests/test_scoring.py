"""completion/scoring.py: what is scored of a suggestion, and when the pipeline lost."""

from __future__ import annotations

import pytest

from lspilot.completion.scoring import Score, lost, score, similarity, wins_back


@pytest.mark.parametrize(("shown", "expected", "kind", "exact"), [
    ("n = n / factor;\n  }", "n = n / factor;", "line", True),  # first line of a line hole
    ("  n = n / factor;  ", "n = n / factor;", "line", True),
    ("n = n * factor;", "n = n / factor;", "line", False),
    ("a()\n    b()  \n", "a()\n    b()", "block", True),
    ("a()\n    b()\n    c()", "a()\n    b()", "block", False),  # runs past the hole
    ("", "a()", "line", False),
])
def test_scores(shown: str, expected: str, kind: str, exact: bool) -> None:
    assert score(shown, expected, kind).exact is exact  # type: ignore[arg-type]


@pytest.mark.parametrize(("a", "b", "expected"), [
    ("abc", "abc", 1.0), ("abc", "abd", 2 / 3), ("", "", 1.0), ("", "ab", 0.0),
    (" x ", "x", 1.0), ("kitten", "sitting", 1 - 3 / 7),
])
def test_edit_similarity(a: str, b: str, expected: float) -> None:
    assert similarity(a, b) == pytest.approx(expected)


def test_a_loss_is_worse_than_the_bare_model() -> None:
    assert lost(Score(False, 0.9), Score(True, 1.0))
    assert lost(Score(False, 0.4), Score(False, 0.5))
    assert not lost(Score(True, 1.0), Score(True, 1.0))
    assert not lost(Score(False, 0.6), Score(False, 0.5))


def test_winning_back_is_doing_as_well_as_the_bare_model() -> None:
    assert wins_back(Score(True, 1.0), Score(True, 1.0))
    assert not wins_back(Score(False, 0.9), Score(True, 1.0))
    assert wins_back(Score(False, 0.5), Score(False, 0.5))
    assert not wins_back(Score(False, 0.4), Score(False, 0.5))
