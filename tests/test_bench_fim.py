"""bench/fim.py: the hole sampler, the scores, and a whole run on the tiny GGUF.

The whole run drives the real `lspilot serve` over stdio and the bare model through the
real llama.cpp, both with the tiny model, which answers `a + b` at every cursor.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.fim import Cursor, Score, cut, evaluate, holes, lost, plain_cut, sample, score
from tests.conftest import at_cursor
from tests.lsp_client import SMALL_RUNTIME

JS = """function scale(values, factor) {
  let n = values.length;
  while (n > 0) {
    n = n / factor;
    values.push(n);
  }
  // done
  return values;
}
"""


def test_holes_take_code_lines_and_block_bodies() -> None:
    found = {(h.kind, h.start, h.end) for h in holes(JS, "javascript")}
    lines = {start for kind, start, _ in found if kind == "line"}
    assert lines == {1, 2, 3, 4, 5, 7}  # not the comment, not the unindented lines
    assert ("block", 3, 5) in found  # the while body
    assert not any(kind == "block" and start == 1 for kind, start, _ in found)  # 7 lines


def test_a_hole_leaves_its_indentation_and_the_cursor_at_its_end() -> None:
    [hole] = [h for h in holes(JS, "javascript") if h.kind == "block"]
    text, line, column, expected = cut(JS, hole)
    marked, offset = at_cursor(
        "function scale(values, factor) {\n  let n = values.length;\n  while (n > 0) {\n"
        "    █\n  }\n  // done\n  return values;\n}\n")
    assert text == marked
    assert sum(len(x) + 1 for x in text.split("\n")[:line]) + column == offset
    assert expected == "n = n / factor;\n    values.push(n);"


def test_sampling_is_seeded_and_splits_by_place(tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "scale.js").write_text(JS)
    (tmp_path / "lib" / "scale.test.js").write_text(JS)  # tests are not sampled
    first = sample(tmp_path, 3, 1, package="p")
    assert first == sample(tmp_path, 3, 1, package="p")
    assert {c.path for c in first} == {"lib/scale.js"}
    assert [c.kind for c in first].count("line") == 3
    tune = sample(tmp_path, 9, 9, split="tune", package="p")
    report = sample(tmp_path, 9, 9, split="report", package="p")
    assert {c.key for c in tune}.isdisjoint({c.key for c in report})
    # All holes but the lone `}`: closers alone are at most a tenth of 9 line holes.
    assert len(tune) + len(report) == len(holes(JS, "javascript")) - 1


@pytest.mark.parametrize(("shown", "expected", "kind", "exact"), [
    ("n = n / factor;\n  }", "n = n / factor;", "line", True),  # first line of a line hole
    ("  n = n / factor;  ", "n = n / factor;", "line", True),
    ("n = n * factor;", "n = n / factor;", "line", False),
    ("a()\n    b()  \n", "a()\n    b()", "block", True),
    ("a()\n    b()\n    c()", "a()\n    b()", "block", False),  # runs past the hole
])
def test_scores(shown: str, expected: str, kind: str, exact: bool) -> None:
    assert score(shown, expected, kind).exact is exact  # type: ignore[arg-type]


def test_a_loss_is_worse_than_the_bare_model() -> None:
    assert lost(Score(False, 0.9), Score(True, 1.0))
    assert lost(Score(False, 0.4), Score(False, 0.5))
    assert not lost(Score(True, 1.0), Score(True, 1.0))
    assert not lost(Score(False, 0.6), Score(False, 0.5))


@pytest.mark.parametrize(("raw", "kind", "cut_text", "done"), [
    ("a + b\nc", "line", "a + b", True),
    ("a + b", "line", "a + b", False),
    ("\na + b", "line", "", True),  # a plain client takes the first line as it comes
    ("x = 1\n    y = 2\nreturn", "block", "x = 1\n    y = 2", True),  # dedent ends it
    ("x = 1\n\n    y = 2\n", "block", "x = 1\n\n    y = 2", False),  # blank lines do not
])
def test_plain_client_cut(raw: str, kind: str, cut_text: str, done: bool) -> None:
    assert plain_cut(raw, kind, 4, 8) == (cut_text, done)  # type: ignore[arg-type]


def test_a_run_through_the_server_and_the_bare_model(tmp_path: Path, tiny_model: Path) -> None:
    root = tmp_path / "pkg"
    root.mkdir()
    # The tiny model answers `a + b`. The second line repeats the first: post-processing
    # drops a copy of the line above, so the pipeline loses that cursor to the bare model.
    (root / "add.py").write_text("def add(a, b):\n    a + b\n    a + b\n")
    cursors = sample(root, 2, 0)
    assert sorted((c.line, c.expected) for c in cursors) == [(1, "a + b"), (2, "a + b")]
    result = evaluate(cursors, {"pkg": root}, tiny_model, ("automatic",), SETTINGS)
    rows = {row["cursor"]["line"]: row for row in result["rows"]}
    assert rows[1]["bare"]["text"] == "a + b"
    assert rows[1]["scores"]["automatic"]["exact"]
    assert rows[2]["scores"]["bare"]["exact"]
    [loss] = result["losses"]
    assert loss["replayed"]
    assert loss["stage"] == "rule: repetition"
    assert loss["stages"]["rule: repetition"] == "a + b"
    figures = result["figures"]["python"]
    assert figures["n"] == 2
    assert figures["bare"]["exact"] == 1.0
    assert figures["automatic"]["latency_p50_ms"] > 0


SETTINGS = {"llamaCpp": SMALL_RUNTIME}


def test_cursor_offset_is_its_line_and_column() -> None:
    cursor = Cursor("python", "p", "a.py", "line", 1, 4, "x", "tune", "a\n    \nb")
    assert cursor.offset == 6
