"""bench/edits.py's task set cannot rot: every check runs the code, fails on the project as
it is and passes on the reference solution; and the runner's report adds up."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bench.edits import (
    Outcome,
    Row,
    Task,
    apply_solution,
    check,
    load_tasks,
    prepare,
    project_files,
    read_report,
    run_all,
    run_solution,
    summarize,
    table,
)

TASKS = load_tasks()


def test_there_are_at_least_twelve_tasks_in_python_and_javascript() -> None:
    assert len(TASKS) >= 12
    languages = [t.language for t in TASKS]
    assert set(languages) == {"python", "javascript"} and languages.count("python") >= 10


@pytest.mark.parametrize("task", TASKS, ids=[t.name for t in TASKS])
def test_the_task_is_a_small_real_looking_project(task: Task) -> None:
    files = project_files(task.project)
    assert 2 <= len(files) <= 5, files
    for path in files:
        lines = (task.project / path).read_text().count("\n")
        assert 30 <= lines <= 200, f"{path}: {lines} lines"
    assert task.instruction.strip() and task.kind
    picked = [Path(p) for p in task.files]
    assert picked and all(p in files for p in picked), "the user picks files of the project"
    changed = project_files(task.solution)
    assert changed, "the solution changes something"
    for path in changed:
        if path in files:
            assert (task.solution / path).read_text() != (task.project / path).read_text(), (
                f"{path} is in the solution unchanged")


@pytest.mark.parametrize("task", TASKS, ids=[t.name for t in TASKS])
def test_the_check_fails_on_the_project_and_passes_on_the_solution(
        task: Task, tmp_path: Path) -> None:
    workspace = tmp_path / "project"
    prepare(task, workspace)
    before = check(task, workspace)
    assert not before.passed, "the check passes before the edit"
    assert "Error" in before.output  # it failed by an assertion or an error, not a timeout
    apply_solution(task, workspace)
    after = check(task, workspace)
    assert after.passed, after.output
    # the workspace is a git repository whose one commit is the untouched project
    status = subprocess.run(["git", "-C", str(workspace), "status", "--porcelain"],
                            capture_output=True, text=True, check=True).stdout
    assert {line[3:] for line in status.splitlines()} >= {
        str(p) for p in project_files(task.solution) if (task.project / p).exists()}


def test_the_runner_in_solution_mode_passes_every_task() -> None:
    outcomes = run_all(TASKS[:2], [("solution", "solution")],
                       lambda task, workspace, model, fmt: run_solution(task, workspace))
    assert [o.passed for o in outcomes] == [True, True]
    [row] = summarize(outcomes)
    assert (row.tasks, row.success, row.well_formed) == (2, 1.0, 1.0)


def outcome(task: str, passed: bool, well_formed: bool, seconds: float,
            model: str = "m", edit_format: str = "whole") -> Outcome:
    return Outcome(task, model, edit_format, passed, well_formed, passed, seconds, 1000, 200,
                   "")


def test_summarize_reports_rates_percentiles_and_means_per_model_and_format() -> None:
    outcomes = [outcome("a", True, True, 10.0), outcome("b", False, True, 20.0),
                outcome("c", False, False, 30.0), outcome("d", True, True, 40.0),
                outcome("a", True, True, 5.0, edit_format="block")]
    rows = summarize(outcomes)
    assert rows == [Row("m", "whole", 4, 0.5, 0.75, 25.0, 38.5, 1000.0, 200.0),
                    Row("m", "block", 1, 1.0, 1.0, 5.0, 5.0, 1000.0, 200.0)]
    assert table(rows).splitlines()[2] == (
        "| m | whole | 4 | 50% | 75% | 25.0 | 38.5 | 1000 | 200 |")


@pytest.mark.parametrize(("stdout", "expected"), [
    ('{"applied": true, "files": ["a.py"], "seconds": 3.5}\n',
     {"applied": True, "files": ["a.py"], "seconds": 3.5}),
    # progress lines before the report are skipped
    ('loading model...\n{"applied": false, "message": "no change"}\n\n',
     {"applied": False, "message": "no change"}),
    ("Traceback (most recent call last):\n  ...\n", None),
    ("[1, 2]\n", None),
    ("", None),
])
def test_read_report_takes_the_json_object_the_cli_printed(
        stdout: str, expected: dict[str, object] | None) -> None:
    assert read_report(stdout) == expected
