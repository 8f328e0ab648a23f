"""Static checks run as part of the suite (and so in CI): ruff, mypy --strict on the package,
and basedpyright's import resolution, which is what contributors' editors (Pylance) rely on.

Each tool runs on the checkout as it is: the package folders are linked into `lspilot/`
(`lspilot/lsp -> ../lsp`), so `lspilot.*` resolves from the repository root.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Top-level folders that are packages of their own, run from the checkout, not installed.
NOT_INSTALLED = {"tests", "bench", "lspilot"}
# What editors report when an import does not resolve.
IMPORT_RULES = {"reportMissingImports", "reportMissingModuleSource"}


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *command], cwd=ROOT, capture_output=True,
                          text=True)


def test_ruff() -> None:
    result = run("ruff", "check")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict() -> None:
    result = run("mypy")  # pyproject: strict, packages = ["lspilot"]
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow  # the whole project, about 10 s; `make check` runs it too
def test_pyright_resolves_every_import() -> None:
    result = run("basedpyright", "--pythonpath", sys.executable, "--outputjson")
    report = json.loads(result.stdout)
    assert report["summary"]["filesAnalyzed"] > 50, report["summary"]
    unresolved = [
        f"{d['file']}:{d['range']['start']['line'] + 1}: {d['message']}"
        for d in report["generalDiagnostics"]
        if d.get("rule") in IMPORT_RULES or "is unknown import symbol" in d["message"]]
    assert unresolved == []


def test_every_package_folder_is_linked_into_lspilot() -> None:
    folders = {p.parent.name for p in ROOT.glob("*/__init__.py")} - NOT_INSTALLED
    linked = {p.name: p for p in (ROOT / "lspilot").iterdir() if p.is_symlink()}
    missing = [f"ln -s ../{name} lspilot/{name}" for name in sorted(folders - set(linked))]
    assert missing == [], "link each package folder into lspilot/"
    for name, link in linked.items():
        assert link.readlink() == Path("..") / name and link.is_dir(), link


def test_the_makefile_builds_the_pinned_llama_cpp_python() -> None:
    built = re.search(r"^LLAMA_CPP_VERSION := (\S+)$", (ROOT / "Makefile").read_text(), re.M)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert built is not None
    assert f"llama-cpp-python=={built.group(1)}" in project["dependencies"]
