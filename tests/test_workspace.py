"""Workspace.gather on a real folder: real index, real git, real open documents."""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

import pytest

from lspilot.context.window import fit_window
from lspilot.context.workspace import Workspace
from lspilot.lsp.documents import Documents
from lspilot.settings import ContextSettings

GEOMETRY = ('def scale(v, k):\n    """Scale `v` by `k`."""\n    return [x * k for x in v]\n\n\n'
            "def shift(v, d):\n    return [x + d for x in v]\n")
APP = ("from .geometry import scale, shift\n\n\n"
       "def grow(v):\n    a = 1\n    b = 2\n    return scale(v, 2)\n\n\n"
       "def move(v):\n    return shift(v, 1)\n")


def words(text: str) -> int:
    return len(text.split())


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "geometry.py").write_text(GEOMETRY)
    (tmp_path / "pkg" / "app.py").write_text(APP)
    (tmp_path / ".env").write_text("TOKEN=scale-secret-123\n")
    return tmp_path


def started(root: Path, documents: Documents, **settings: object) -> Workspace:
    workspace = Workspace(root, dataclasses.replace(ContextSettings(), **settings),
                          documents.all)
    workspace.start()
    assert workspace.index is not None and workspace.index.wait_ready(30)
    return workspace


def gather(workspace: Workspace, documents: Documents, uri: str, line: int, column: int):  # type: ignore[no-untyped-def]
    doc = documents.get(uri)
    assert doc is not None
    lines = doc.text.split("\n")
    offset = sum(len(t) + 1 for t in lines[:line]) + column
    window = fit_window(doc.text[:offset], doc.text[offset:], 400, 0.1, words)
    return workspace.gather(uri, "python", doc.text, offset, window, 200, words)


def test_the_same_input_gives_the_same_context_and_secrets_stay_out(root: Path) -> None:
    documents = Documents()
    uri = (root / "pkg" / "app.py").as_uri()
    documents.open(uri, "python", 1, APP)
    documents.open((root / ".env").as_uri(), "dotenv", 1, "TOKEN=scale-secret-123\n")
    workspace = started(root, documents)
    try:
        first = gather(workspace, documents, uri, 6, 11)
        fresh = started(root, documents)
        try:
            again = gather(fresh, documents, uri, 6, 11)
        finally:
            fresh.stop()
    finally:
        workspace.stop()
    assert first.snippets == again.snippets and first.snippets
    assert {s.path for s in first.offered} == {"pkg/geometry.py"}
    assert all("secret" not in s.text for s in first.offered)


def test_context_is_reused_inside_a_function_and_gathered_again_outside(root: Path) -> None:
    documents = Documents()
    uri = (root / "pkg" / "app.py").as_uri()
    documents.open(uri, "python", 1, APP)
    workspace = started(root, documents)
    try:
        at_a = gather(workspace, documents, uri, 4, 9)
        at_b = gather(workspace, documents, uri, 5, 9)    # same function: reused as is
        elsewhere = gather(workspace, documents, uri, 10, 11)
    finally:
        workspace.stop()
    assert at_b is at_a
    assert elsewhere is not at_a


def test_uncommitted_hunks_come_as_code(root: Path) -> None:
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], cwd=root, check=True)
    subprocess.run([*git, "add", "-A"], cwd=root, check=True)
    subprocess.run([*git, "commit", "-qm", "x"], cwd=root, check=True)
    (root / "pkg" / "geometry.py").write_text(GEOMETRY + "\n\ndef spin(v):\n    return v[::-1]\n")
    documents = Documents()
    uri = (root / "pkg" / "app.py").as_uri()
    documents.open(uri, "python", 1, APP)
    workspace = started(root, documents)
    try:
        assert workspace.git is not None and workspace.git.refresh_blocking()
        gathered = gather(workspace, documents, uri, 6, 11)
    finally:
        workspace.stop()
    [hunk] = [s for s in gathered.offered if s.source == "git_diff"]
    assert hunk.path == "pkg/geometry.py" and "def spin(v):" in hunk.text
    assert not any(line.startswith("+") for line in hunk.text.split("\n"))


def test_a_passed_deadline_skips_the_remaining_sources(root: Path) -> None:
    documents = Documents()
    uri = (root / "pkg" / "app.py").as_uri()
    documents.open(uri, "python", 1, APP)
    ticks = iter(range(10**6))
    # A clock that moves one second per reading: only the first source starts in time.
    workspace = Workspace(root, ContextSettings(deadline_ms=1500), documents.all,
                          clock=lambda: float(next(ticks)))
    workspace.start()
    try:
        assert workspace.index is not None and workspace.index.wait_ready(30)
        gathered = gather(workspace, documents, uri, 6, 11)
    finally:
        workspace.stop()
    assert list(gathered.source_ms) == ["scope"]
    assert gathered.late == ("definition", "usage", "git_diff", "open_file", "recent_edit")
