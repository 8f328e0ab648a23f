"""bench/fim.py: a whole run on the tiny GGUF, the loss attribution and the source lift.

The whole run drives the real `lspilot serve` over stdio and the bare model through the
real llama.cpp, both with the tiny model, which answers `a + b` at every cursor. The hole
sampler, the scores and the bare model are the package's (tests/test_holes.py,
test_scoring.py, test_baseline.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.fim import Row, Source, evaluate, source_lift, unrelated
from lspilot.completion.holes import sample
from lspilot.completion.scoring import Answer
from tests.lsp_client import SMALL_RUNTIME

SETTINGS = {"llamaCpp": SMALL_RUNTIME}


@pytest.mark.slow  # the whole harness, server and bare model: in `make test`, not test-fast
def test_a_run_through_the_server_and_the_bare_model(tmp_path: Path, tiny_model: Path) -> None:
    root = tmp_path / "pkg"
    root.mkdir()
    # The tiny model answers `a + b`, and the two lines are the same. At the second, post-
    # processing drops a copy of the line above; at the first, the first-line branches pass
    # over writing the next line again and take the tiny model's next likeliest line. The
    # pipeline loses both cursors to the bare model; the branch choice, inside the backend,
    # is no stage the attribution can switch off.
    (root / "add.py").write_text("def add(a, b):\n    a + b\n    a + b\n")
    cursors = sample(root, 2, 0)
    assert sorted((c.line, c.expected) for c in cursors) == [(1, "a + b"), (2, "a + b")]
    result = evaluate(cursors, {"pkg": root}, tiny_model, ("automatic",), SETTINGS)
    rows = {row["cursor"]["line"]: row for row in result["rows"]}
    assert rows[1]["bare"]["text"] == "a + b"
    assert not rows[1]["ours"]["automatic"]["raw"].startswith("a + b")
    assert rows[2]["scores"]["bare"]["exact"] and not rows[2]["scores"]["automatic"]["exact"]
    losses = {loss["cursor"]: loss for loss in result["losses"]}
    assert set(losses) == {"pkg/add.py:2:line", "pkg/add.py:3:line"}
    assert all(loss["replayed"] for loss in losses.values())
    assert losses["pkg/add.py:3:line"]["stage"] == "rule: repetition"
    assert losses["pkg/add.py:3:line"]["stages"]["rule: repetition"] == "a + b"
    assert losses["pkg/add.py:2:line"]["stage"] == "unattributed"
    figures = result["figures"]["python"]
    assert figures["n"] == 2
    assert figures["bare"]["exact"] == 1.0
    assert figures["automatic"]["latency_p50_ms"] > 0


def test_a_source_lift_runs_again_only_where_the_source_put_snippets(
        tmp_path: Path, tiny_model: Path) -> None:
    root = tmp_path / "pkg"
    root.mkdir()
    (root / "add.py").write_text("class Adder:\n    def add(self, a, b):\n        a + b\n")
    [case] = sample(root, 1, 0)
    # As an earlier run found it: the prompt held a scope snippet and nothing else.
    row = Row(case, Answer("a + b"), {"automatic": Answer("a + b", sources=("scope",))})
    lifts = source_lift([row], {"pkg": root}, tiny_model, SETTINGS)
    assert lifts["scope"]["pairs"] == 1 and lifts["scope"]["exact_with"] == 1
    assert lifts["scope"]["cases"][0]["without"] == "a + b"  # the tiny model ignores context
    assert lifts["usage"]["pairs"] == 0 and lifts["usage"]["cases"] == []
    assert "definition" not in lifts  # a source the settings do not ask is not measured


def test_unrelated_files_come_from_other_packages_of_the_same_language_first(
        tmp_path: Path) -> None:
    sources = [Source("python", "a", "1", "pypi", "a.whl", ""),
               Source("go", "b", "1", "deb", "b.deb", ""),
               Source("python", "c", "1", "pypi", "c.whl", "")]
    roots = {}
    for source, name in zip(sources, ("a.py", "b.go", "c.py"), strict=True):
        roots[source.folder] = tmp_path / source.folder
        roots[source.folder].mkdir()
        (roots[source.folder] / name).write_text("x = 1\n")
    opened = unrelated(sources, roots, 2)
    assert [(p.name, language) for p, language in opened["python-a"]] == \
        [("c.py", "python"), ("b.go", "go")]
    assert unrelated(sources, roots, 0) == {}
