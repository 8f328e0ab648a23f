"""Multi-file edits on small projects: success, well-formed replies, time and tokens, per model
and edit format, through the real CLI (`lspilot edit ... --apply --json`).

Each task in bench/edit_tasks/NAME/ is a small project (`files/`), an instruction and the files
a user would pick (`task.json`), a check that runs the code and exits 0 when the edit is right
(`check.py PROJECT_DIR`, run in the project), and a reference solution (`solution/`: the
changed and the new files, laid over the project). tests/test_edit_tasks.py checks that every
check fails on the project and passes on its solution.

A run copies the project into a fresh git repository in a temporary folder, runs

    lspilot edit INSTRUCTION FILE... --apply --json --model ID --format F

there, reads the one JSON object it prints (applied, files, message, format, promptTokens,
generatedTokens, seconds, wellFormed), then runs the check. `--solution` lays the reference
solutions over the projects instead of calling a model, which checks the task set and the
runner itself.

    .venv/bin/python -m bench.edits --model qwen2.5-coder:1.5b [--model ...]
        [--format whole --format block ...] [--task NAME ...] [--json OUT]
    .venv/bin/python -m bench.edits --solution
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.stats import percentile

TASKS = Path(__file__).parent / "edit_tasks"
FORMATS = ("whole", "block", "search-replace")
CHECK_TIMEOUT = 120
EDIT_TIMEOUT = 900


@dataclass(frozen=True)
class Task:
    """One edit task as bench/edit_tasks/NAME/task.json describes it."""

    name: str
    folder: Path
    instruction: str
    files: tuple[str, ...]
    """What the user picks, in order (workspace-relative)."""
    language: str
    kind: str

    @property
    def project(self) -> Path:
        return self.folder / "files"

    @property
    def solution(self) -> Path:
        return self.folder / "solution"


def load_tasks(root: Path = TASKS, names: Iterable[str] = ()) -> list[Task]:
    """The tasks under `root` (only those named, when names are given), by name."""
    wanted = set(names)
    tasks = []
    for spec in sorted(root.glob("*/task.json")):
        folder = spec.parent
        if wanted and folder.name not in wanted:
            continue
        raw = json.loads(spec.read_text())
        tasks.append(Task(folder.name, folder, raw["instruction"], tuple(raw["files"]),
                          raw["language"], raw["kind"]))
    missing = wanted - {t.name for t in tasks}
    if missing:
        raise SystemExit(f"no such task: {', '.join(sorted(missing))}")
    return tasks


def project_files(folder: Path) -> list[Path]:
    """The files under `folder`, workspace-relative, sorted."""
    return sorted(p.relative_to(folder) for p in folder.rglob("*") if p.is_file())


def prepare(task: Task, workspace: Path) -> None:
    """Copy the project into `workspace` and make it a git repository with one commit (the
    CLI finds its workspace from git, and `git diff` shows what an edit did)."""
    shutil.copytree(task.project, workspace, dirs_exist_ok=True)
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost", "-C",
           str(workspace)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "project"], check=True)


def apply_solution(task: Task, workspace: Path) -> None:
    """Lay the reference solution over the project."""
    shutil.copytree(task.solution, workspace, dirs_exist_ok=True)


@dataclass(frozen=True)
class Check:
    passed: bool
    output: str


def check(task: Task, workspace: Path) -> Check:
    """Run the task's check on the project in `workspace`."""
    try:
        result = subprocess.run([sys.executable, str(task.folder / "check.py"), str(workspace)],
                                cwd=workspace, capture_output=True, text=True,
                                timeout=CHECK_TIMEOUT)
    except subprocess.TimeoutExpired:
        return Check(False, f"check timed out after {CHECK_TIMEOUT} s")
    output = (result.stdout + result.stderr).strip()
    return Check(result.returncode == 0, output[-2000:])


@dataclass(frozen=True)
class Outcome:
    """One task through one model and format."""

    task: str
    model: str
    format: str
    applied: bool
    well_formed: bool
    passed: bool
    seconds: float
    """Time to the applied edit, as the CLI reports it."""
    prompt_tokens: int
    generated_tokens: int
    message: str
    check_output: str = ""


def edit_command(task: Task, model: str, edit_format: str, settings: str | None = None
                 ) -> list[str]:
    """The CLI call that performs the task's edit."""
    return [sys.executable, "-m", "lspilot", "edit", task.instruction, *task.files, "--apply",
            "--json", "--model", model, "--format", edit_format,
            *(["--settings", settings] if settings else [])]


def run_edit(task: Task, workspace: Path, model: str, edit_format: str,
             settings: str | None = None) -> Outcome:
    """Edit the project in `workspace` through the CLI, then check it."""
    started = time.perf_counter()
    try:
        result = subprocess.run(edit_command(task, model, edit_format, settings), cwd=workspace,
                                capture_output=True, text=True, timeout=EDIT_TIMEOUT)
    except subprocess.TimeoutExpired:
        return Outcome(task.name, model, edit_format, False, False, False,
                       time.perf_counter() - started, 0, 0, f"timed out after {EDIT_TIMEOUT} s")
    report = read_report(result.stdout)
    if report is None:
        return Outcome(task.name, model, edit_format, False, False, False,
                       time.perf_counter() - started, 0, 0,
                       f"exit {result.returncode}, no JSON report: "
                       f"{(result.stdout + result.stderr).strip()[-500:]}")
    verdict = check(task, workspace)
    return Outcome(task.name, model, edit_format, bool(report.get("applied")),
                   bool(report.get("wellFormed")), verdict.passed,
                   float(report.get("seconds", time.perf_counter() - started)),
                   int(report.get("promptTokens", 0)), int(report.get("generatedTokens", 0)),
                   str(report.get("message", "")), verdict.output)


def read_report(stdout: str) -> dict[str, Any] | None:
    """The JSON object `lspilot edit --json` printed (its last non-empty line)."""
    for line in reversed(stdout.strip().splitlines()):
        try:
            value = json.loads(line)
        except ValueError:
            continue
        return value if isinstance(value, dict) else None
    return None


def run_solution(task: Task, workspace: Path) -> Outcome:
    """The reference solution in place of a model's edit, then the check."""
    started = time.perf_counter()
    apply_solution(task, workspace)
    verdict = check(task, workspace)
    return Outcome(task.name, "solution", "solution", True, True, verdict.passed,
                   time.perf_counter() - started, 0, 0, "reference solution", verdict.output)


def run_all(tasks: Sequence[Task], runs: Sequence[tuple[str, str]],
            edit: Callable[[Task, Path, str, str], Outcome],
            progress: Callable[[Outcome], None] = lambda outcome: None) -> list[Outcome]:
    """Every task through every (model, format) run, each in a fresh copy of its project."""
    outcomes = []
    for model, edit_format in runs:
        for task in tasks:
            with tempfile.TemporaryDirectory(prefix=f"lspilot-edit-{task.name}-") as folder:
                workspace = Path(folder) / "project"
                prepare(task, workspace)
                outcome = edit(task, workspace, model, edit_format)
            outcomes.append(outcome)
            progress(outcome)
    return outcomes


@dataclass(frozen=True)
class Row:
    """The figures of one model and format over the task set."""

    model: str
    format: str
    tasks: int
    success: float
    well_formed: float
    p50_seconds: float
    p95_seconds: float
    prompt_tokens: float
    """Mean over the tasks."""
    generated_tokens: float


def summarize(outcomes: Iterable[Outcome]) -> list[Row]:
    """One row per (model, format), in the order they first appear."""
    groups: dict[tuple[str, str], list[Outcome]] = {}
    for outcome in outcomes:
        groups.setdefault((outcome.model, outcome.format), []).append(outcome)
    rows = []
    for (model, edit_format), group in groups.items():
        count = len(group)
        seconds = [o.seconds for o in group]
        rows.append(Row(model, edit_format, count,
                        sum(o.passed for o in group) / count,
                        sum(o.well_formed for o in group) / count,
                        percentile(seconds, 50), percentile(seconds, 95),
                        sum(o.prompt_tokens for o in group) / count,
                        sum(o.generated_tokens for o in group) / count))
    return rows


def table(rows: Sequence[Row]) -> str:
    """The rows as a Markdown table."""
    lines = ["| model | format | tasks | success | well-formed | p50 s | p95 s | prompt tokens "
             "| generated tokens |", "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r.model} | {r.format} | {r.tasks} | {r.success:.0%} | "
                     f"{r.well_formed:.0%} | {r.p50_seconds:.1f} | {r.p95_seconds:.1f} | "
                     f"{r.prompt_tokens:.0f} | {r.generated_tokens:.0f} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", action="append", default=[],
                        help="a model id (catalog name, .gguf path, BACKEND:MODEL); repeatable")
    parser.add_argument("--format", action="append", choices=FORMATS, default=[],
                        help="edit format; repeatable (default: all)")
    parser.add_argument("--task", action="append", default=[], help="only these tasks")
    parser.add_argument("--solution", action="store_true",
                        help="apply the reference solutions instead of a model's edits")
    parser.add_argument("--settings", metavar="JSON",
                        help="settings for every edit (lspilot edit --settings), e.g. "
                        "'{\"llamaCpp\": {\"promptLookup\": 0}}'")
    parser.add_argument("--json", type=Path, help="write every outcome here")
    args = parser.parse_args(argv)
    tasks = load_tasks(names=args.task)
    if args.solution:
        runs, edit = [("solution", "solution")], (
            lambda task, workspace, model, fmt: run_solution(task, workspace))
    elif args.model:
        runs = [(m, f) for m in args.model for f in (args.format or FORMATS)]
        def edit(task: Task, workspace: Path, model: str, fmt: str) -> Outcome:
            return run_edit(task, workspace, model, fmt, args.settings)
    else:
        parser.error("give --model ID (repeatable) or --solution")

    def progress(o: Outcome) -> None:
        mark = "pass" if o.passed else "FAIL"
        print(f"{mark} {o.task:<22} {o.model} {o.format:<14} {o.seconds:6.1f} s  "
              f"prompt {o.prompt_tokens:>5}  generated {o.generated_tokens:>5}  {o.message[:60]}",
              flush=True)

    outcomes = run_all(tasks, runs, edit, progress)
    print()
    print(table(summarize(outcomes)))
    if args.json:
        args.json.write_text(json.dumps([asdict(o) for o in outcomes], indent=2))
    return 0 if all(o.passed for o in outcomes) or not args.solution else 1


if __name__ == "__main__":
    sys.exit(main())
