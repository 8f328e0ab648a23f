"""bench/crossfile.py's case rule and scores, on a tiny package (no model, no download)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.crossfile import Case, find_cases, in_arguments, pick, similarity, truncated
from tests.conftest import at_cursor

UTIL = ("def join_words(words, sep):\n    return sep.join(words)\n\n\n"
        "def shout(text, times=1):\n    return text.upper() * times\n")


def package(root: Path, core: str) -> list[Case]:
    """The cases of a package `pkg` with `util.py` and `core.py` (= `core`)."""
    (root / "pkg").mkdir()
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "util.py").write_text(UTIL)
    (root / "pkg" / "core.py").write_text(core)
    return find_cases(root, "pkg")


@pytest.mark.parametrize("fixture", [
    "from .util import join_words\n\nx = █join_words(['a'], sep='-')\n",
    "from pkg.util import join_words as jw\n\nx = █jw(['a'], '-')\n",
    "from . import util\n\nprint(util.█shout('a', 2))\n",
    "import pkg.util as u\n\ny = u.█shout('b')\n",
    "from .util import shout\n\ndef f(t):\n    █shout(t, 3)\n",
])
def test_a_call_of_a_name_from_a_sibling_module_is_a_case(tmp_path: Path, fixture: str
                                                          ) -> None:
    text, offset = at_cursor(fixture)
    [case] = package(tmp_path, text)
    line = text[:offset].count("\n")
    column = offset - (text.rfind("\n", 0, offset) + 1)
    assert (case.file, case.line, case.column) == ("pkg/core.py", line, column)
    assert case.expected == text[offset:].split("\n", 1)[0]
    assert case.module == "pkg.util"


@pytest.mark.parametrize("text", [
    "import json\n\nx = json.dumps(1)\n",
    "from .util import join_words\n\ndef join_words(w, s):\n    pass\n\nx = join_words([], '')\n",
    "from .util import join_words\n\nx = join_words(['a'], '-')\ny = join_words(['a'], '-')\n",
    "from .util import shout\n\nx = shout('an error message the model cannot know')\n",
    "from .util import join_words\n\nx = join_words(\n    ['a'], '-')\n",
    "from .util import shout\n\nx = shout('a')  # loud\n",
    "from . import util\n\ndef f(util):\n    return util.shout('a')\n",
])
def test_no_case_where_the_file_itself_gives_the_answer_or_none_is_knowable(
        tmp_path: Path, text: str) -> None:
    assert package(tmp_path, text) == []


def test_pick_spreads_over_files_and_is_stable() -> None:
    cases = [Case(f"pkg/m{f}.py", line, 0, "n", "pkg.x", "n()", "n()")
             for f in range(3) for line in range(5)]
    picked = pick(cases, 3)
    assert len({case.file for case in picked}) == 3
    assert pick(list(reversed(cases)), 3) == picked
    assert pick(cases, 100) == pick(cases, 15) and len(pick(cases, 100)) == 15


@pytest.mark.parametrize(("completion", "expected", "score"), [
    ("abc", "abc", 1.0),
    ("  abc ", "abc", 1.0),
    ("", "abc", 0.0),
    ("abd", "abc", 2 / 3),
    ("ab", "abcd", 0.5),
    ("", "", 1.0),
])
def test_edit_similarity(completion: str, expected: str, score: float) -> None:
    assert similarity(completion, expected) == pytest.approx(score)


def test_truncated_removes_the_rest_of_the_line_only() -> None:
    case = Case("pkg/core.py", 1, 4, "f", "pkg.x", "f(1)", "f(1) + 2")
    assert truncated("a\nx = f(1) + 2\nb\n", case) == "a\nx = \nb\n"


@pytest.mark.parametrize(("fixture", "expected"), [
    ("from .util import join_words\n\nx = join_words(█['a'], sep='-')\n", "['a'], sep='-')"),
    ("from . import util\n\nprint(util.shout(█'a', 2))\n", "'a', 2))"),
    ("from .util import shout\n\ny = shout() + 1\n", None),  # no arguments to write
])
def test_the_cursor_can_sit_in_the_calls_arguments(tmp_path: Path, fixture: str,
                                                    expected: str | None) -> None:
    text, offset = at_cursor(fixture) if "█" in fixture else (fixture, -1)
    [case] = package(tmp_path, text)
    moved = in_arguments(case)
    if expected is None:
        assert moved is None
        return
    assert moved is not None
    assert (moved.line, moved.column) == (case.line, offset - (text.rfind("\n", 0, offset) + 1))
    assert moved.expected == expected == text[offset:].split("\n", 1)[0]
    assert moved.name == case.name and truncated(text, moved) == text[:offset] + text[
        text.index("\n", offset):]
