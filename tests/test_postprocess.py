"""Each post-processing rule, table-driven, cursor marked with █ in the fixture text."""

from __future__ import annotations

import pytest

from lspilot.completion.cursor import cursor_at
from lspilot.completion.postprocess import is_multiline, postprocess, stop_reached
from tests.conftest import at_cursor


def run(fixture: str, middle: str, max_lines: int = 8) -> str:
    cursor = cursor_at(*at_cursor(fixture))
    return postprocess(middle, cursor, is_multiline(cursor), max_lines)


@pytest.mark.parametrize(("fixture", "multiline"), [
    ("def f(x):\n    █\n", True),
    ("█", True),
    ("def f(x):█", True),
    ("items = [█", True),
    ("function f() {█", True),
    ("def f(x):\n    return █", False),
    ("print(█)", False),
    ("x = █ + 1", False),
    ("x = 1█   \ny", False),
])
def test_multiline_only_on_blank_lines_and_after_openers(fixture: str, multiline: bool) -> None:
    assert is_multiline(cursor_at(*at_cursor(fixture))) is multiline


@pytest.mark.parametrize(("fixture", "middle", "expected"), [
    # mid-line: stop at the end of the line
    ("print(█)", "a, b)\nprint(c)", "a, b"),
    # never repeat the text right of the cursor
    ("foo(█)", "x)", "x"),
    ("foo(█):", "x):", "x"),
    ("d = {█}", "'a': 1}", "'a': 1"),
    ("x = █ + 1", "y + 1", "y"),
    ("call(█)", ")", ""),
    # partial repeats only count for closing punctuation
    ("f(█b)", "a", "a"),
    # special-token text and whitespace-only results are dropped
    ("def f():\n    █", "   \n  ", ""),
    ("def f():\n    █", "", ""),
    # multi-line: stop before the line that repeats what follows the cursor
    ("def f():\n    █\n    return y\n", "y = 1\n    return y\n", "y = 1"),
    ("def f():\n    █\n\n    return y", "y = 1\n    z = 2\n    return y", "y = 1\n    z = 2"),
    # multi-line: at most max_lines lines
    ("█", "1\n2\n3\n4\n5\n6\n7\n8\n9\n10", "1\n2\n3\n4\n5\n6\n7\n8"),
    # trailing whitespace goes, leading indentation stays
    ("def f():\n█", "    return 1  \n", "    return 1"),
])
def test_postprocess(fixture: str, middle: str, expected: str) -> None:
    assert run(fixture, middle) == expected


@pytest.mark.parametrize(("fixture", "streamed", "done"), [
    ("print(█)", "a, b", False),
    ("print(█)", "a, b)\n", True),
    ("def f():\n    █", "x = 1\n", False),
    ("def f():\n    █", "1\n2\n3\n", True),
])
def test_stream_stops_early(fixture: str, streamed: str, done: bool) -> None:
    cursor = cursor_at(*at_cursor(fixture))
    assert stop_reached(streamed, cursor, is_multiline(cursor), max_lines=3) is done
