"""`lspilot edit` as a user runs it: a real subprocess, a real git repository, tiny real
instruct models whose scripted answers run through the real llama.cpp."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_edits_lsp import ANSWER, DATES, JOBS, NEW_DATES, NEW_JOBS, RENAME, git
from tests.tiny_gguf import build, chat_model

LSPILOT = [sys.executable, "-m", "lspilot"]


@pytest.fixture(scope="module")
def rename_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("cli-edit") / "rename.gguf", chat_model(ANSWER))


@pytest.fixture(scope="module")
def escape_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    answer = f"dates.py\n```python\n{NEW_DATES}```\n\n/etc/cron.d/x\n```\n* * * * * rm -rf /\n```\n"
    return build(tmp_path_factory.mktemp("cli-escape") / "escape.gguf", chat_model(answer))


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "dates.py").write_text(DATES)
    (root / "jobs.py").write_bytes(JOBS.replace("\n", "\r\n").encode())  # a CRLF file
    git(root, "init", "-q")
    return root


def edit(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LSPILOT_HOME": str(root.parent / "home")}
    return subprocess.run([*LSPILOT, "edit", *args], capture_output=True, text=True,
                          timeout=180, cwd=root, env=env)


def test_a_diff_is_printed_and_nothing_written(repo: Path, rename_model: Path) -> None:
    result = edit(repo, RENAME, "dates.py", "--model", str(rename_model), "--format", "whole")
    assert result.returncode == 0, result.stderr
    assert "-def parse_date(text):\n+def parse_iso_date(text):\n" in result.stdout
    assert "+++ b/jobs.py" in result.stdout  # found through the index: not named by the user
    assert (repo / "dates.py").read_text() == DATES
    assert "would change dates.py, jobs.py (whole format" in result.stderr


def test_apply_writes_every_file_in_its_own_style(repo: Path, rename_model: Path) -> None:
    result = edit(repo, RENAME, "dates.py", "--apply", "--json", "--model", str(rename_model),
                  "--format", "whole")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["applied"] is True and report["files"] == ["dates.py", "jobs.py"]
    assert report["format"] == "whole" and report["wellFormed"] is True
    assert report["promptTokens"] > 0 and report["generatedTokens"] > 0
    assert (repo / "dates.py").read_text() == NEW_DATES
    assert (repo / "jobs.py").read_bytes() == NEW_JOBS.replace("\n", "\r\n").encode()


def test_show_prompt_prints_the_messages_and_the_answer(repo: Path, rename_model: Path) -> None:
    result = edit(repo, RENAME, "dates.py", "--show-prompt", "--model", str(rename_model),
                  "--format", "whole")
    assert result.returncode == 0, result.stderr
    assert "--- system ---" in result.stderr and "--- user ---" in result.stderr
    assert RENAME in result.stderr and "--- answer ---\ndates.py" in result.stderr


def test_a_hostile_answer_writes_nothing(repo: Path, escape_model: Path) -> None:
    result = edit(repo, RENAME, "dates.py", "--apply", "--json", "--model", str(escape_model),
                  "--format", "whole")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["applied"] is False and "refused" in report["message"]
    assert (repo / "dates.py").read_text() == DATES


def test_outside_a_repository_only_the_named_files_are_read(tmp_path: Path,
                                                            rename_model: Path) -> None:
    folder = tmp_path / "loose"
    (folder / "deep").mkdir(parents=True)
    (folder / "dates.py").write_text(DATES)
    (folder / "deep" / "jobs.py").write_text(JOBS)
    result = edit(folder, RENAME, "dates.py", "--json", "--model", str(rename_model),
                  "--format", "whole")
    report = json.loads(result.stdout)
    # Not indexed: jobs.py is not part of the edit, so the answer's jobs.py is refused.
    assert report["applied"] is False and "jobs.py" in report["message"]


def test_a_missing_file_is_a_clear_error(repo: Path, rename_model: Path) -> None:
    result = edit(repo, RENAME, "nope.py", "--model", str(rename_model))
    assert result.returncode == 1 and "nope.py does not exist" in result.stderr


def test_secrets_never_reach_the_prompt_and_stay_in_the_files(tmp_path: Path) -> None:
    key = "q8Zf3kLx9Vb2Wm7Np4Rt6Yh1Jc5Gd0Sa8Ue3Io2P"
    root = tmp_path / "repo"
    root.mkdir()
    (root / "config.py").write_text(f'DATABASE_URL = "sqlite://"\nSECRET_KEY = "{key}"\n')
    git(root, "init", "-q")
    # The model answers with the placeholder it was shown, as a model keeping the line would.
    answer = ('config.py\n```python\nDB_URL = "sqlite://"\n'
              'SECRET_KEY = "<secret-1>"\n```\n')
    model = build(tmp_path / "keeper.gguf", chat_model(answer))
    result = edit(root, "rename DATABASE_URL to DB_URL", "config.py", "--apply",
                  "--show-prompt", "--model", str(model), "--format", "whole")
    assert result.returncode == 0, result.stderr
    assert key not in result.stderr and "<secret-1>" in result.stderr
    assert (root / "config.py").read_text() == f'DB_URL = "sqlite://"\nSECRET_KEY = "{key}"\n'


@pytest.mark.parametrize(("settings", "rounds"), [
    (None, 1), ('{"edit": {"reflections": 1}}', 2)])
def test_reflections_send_a_refused_answer_back(repo: Path, escape_model: Path,
                                                settings: str | None, rounds: int) -> None:
    # The tiny model answers every round the same, so the answer stays refused; what the
    # setting changes is how many times the model wrote it.
    once = json.loads(edit(repo, RENAME, "dates.py", "--json", "--model", str(escape_model),
                           "--format", "whole").stdout)["generatedTokens"]
    result = edit(repo, RENAME, "dates.py", "--json", "--model", str(escape_model),
                  "--format", "whole", *(["--settings", settings] if settings else []))
    report = json.loads(result.stdout)
    assert report["applied"] is False and "refused" in report["message"]
    assert report["generatedTokens"] == once * rounds


def test_bad_settings_json_is_a_usage_error(repo: Path, rename_model: Path) -> None:
    result = edit(repo, RENAME, "dates.py", "--model", str(rename_model), "--settings", "{oops")
    assert result.returncode == 2 and "--settings: not JSON" in result.stderr
