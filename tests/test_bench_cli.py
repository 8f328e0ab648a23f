"""`lspilot bench` end to end: a small git repository, two tiny real models (they answer
`a + b` everywhere), the real server over stdio and the bare model through llama.cpp."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lspilot.bench_cli import copy_workspace, tracked_files

PYTHON = "def add(a, b):\n    print(a)\n    a + b\n"
GO = "package calc\n\nfunc Add(a, b int) int {\n\tx := 1\n\treturn a + b\n}\n"
RUNTIME = '{"llamaCpp": {"contextSize": 1024, "threads": 1}}'


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True,
                          text=True).stdout


def make_repo(root: Path) -> Path:
    repo = root / "calc"
    (repo / "calc").mkdir(parents=True)
    (repo / "calc" / "add.py").write_text(PYTHON)
    (repo / "calc" / "add.go").write_text(GO)
    (repo / "notes.txt").write_text("not code\n")
    (repo / ".gitignore").write_text("build/\n")
    (repo / "build").mkdir()
    (repo / "build" / "gen.py").write_text(PYTHON)  # ignored: never copied nor sampled
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "-c", "user.email=a@b.c", "-c", "user.name=a", "commit", "-qm", "calc")
    return repo


@pytest.mark.slow  # the whole `lspilot bench` run: in `make test`, not test-fast
def test_bench_prints_a_table_per_model_and_leaves_the_repository_alone(
        tmp_path: Path, tiny_model: Path) -> None:
    repo = make_repo(tmp_path)
    second = tmp_path / "second.gguf"
    shutil.copyfile(tiny_model, second)
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, "-m", "lspilot", "bench", str(repo), "--model", str(tiny_model),
         "--model", str(second), "--lines", "2", "--blocks", "1", "--settings", RUNTIME,
         "--json", str(out)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    # One table per model: per language, lspilot and the bare model, then all languages.
    assert result.stdout.count("language     runner") == 2
    for model in (tiny_model, second):
        assert f"\n{model}\n" in result.stdout
    rows = [line.split() for line in result.stdout.splitlines()
            if line.startswith(("python", "go ", "all"))]
    assert [r[:3] for r in rows[:6]] == [
        ["go", "lspilot", "3"], ["go", "bare", "3"], ["python", "lspilot", "3"],
        ["python", "bare", "3"], ["all", "lspilot", "6"], ["all", "bare", "6"]]
    assert "lspilot bench: 6 holes" in result.stderr
    assert f"{second}: lspilot: [#########################] 6/6" in result.stderr
    report = json.loads(out.read_text())
    figures = report["models"][str(tiny_model)]["figures"]
    # `a + b` is right at one of the three Python holes (the line `a + b`), both ways.
    assert figures["python"]["bare"]["exact"] == figures["python"]["lspilot"]["exact"] == 1 / 3
    cases = report["models"][str(tiny_model)]["cases"]
    assert {c["case"]["path"] for c in cases} == {"calc/add.py", "calc/add.go"}
    assert all(c["bare"]["text"] == "a + b" for c in cases if c["case"]["kind"] == "line")
    # The holes were cut in a scratch copy: the repository is as it was.
    assert git(repo, "status", "--porcelain") == ""
    assert (repo / "calc" / "add.py").read_text() == PYTHON


def test_bench_says_when_there_is_nothing_to_cut(tmp_path: Path, tiny_model: Path) -> None:
    (tmp_path / "notes.txt").write_text("just text\n")
    result = subprocess.run([sys.executable, "-m", "lspilot", "bench", str(tmp_path),
                             "--model", str(tiny_model)], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 1
    assert "no holes to cut" in result.stderr


def test_the_copy_holds_the_tracked_files_only(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    (repo / "calc" / "new.py").write_text("x = 1\n")  # untracked, not ignored: copied
    assert [p.relative_to(repo).as_posix() for p in tracked_files(repo)] == [
        ".gitignore", "calc/add.go", "calc/add.py", "calc/new.py", "notes.txt"]
    copy = copy_workspace(repo, tmp_path / "scratch")
    assert copy.name == "calc" and (copy / "calc" / "add.py").read_text() == PYTHON
    assert not (copy / "build").exists() and not (copy / ".git").exists()


def test_outside_a_repository_hidden_and_build_folders_are_left_out(tmp_path: Path) -> None:
    for folder in ("src", ".venv", "node_modules"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "a.py").write_text("x = 1\n")
    assert [p.relative_to(tmp_path).as_posix() for p in tracked_files(tmp_path)] == ["src/a.py"]
