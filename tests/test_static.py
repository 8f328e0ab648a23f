"""ruff and mypy --strict over the packages, run as part of the test suite (and so in CI)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The source folders install as subpackages of `lspilot` (pyproject's package-dir); mypy
# sees them through a tree of links with the installed shape.
PACKAGES = {"lsp": "lsp", "completion": "completion", "context": "context",
            "templates": "templates", "models": "models", "edits": "edits"}


def test_ruff() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "lspilot", *PACKAGES, "tests", "bench"],
        cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict(tmp_path: Path) -> None:
    package = tmp_path / "lspilot"
    package.mkdir()
    for entry in (ROOT / "lspilot").iterdir():
        if entry.name != "__pycache__":
            (package / entry.name).symlink_to(entry)
    for name, folder in PACKAGES.items():
        (package / name).symlink_to(ROOT / folder)
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"),
         "--cache-dir", str(tmp_path / ".mypy_cache"), "-p", "lspilot"],
        cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
