"""Workspace.gather on a real folder: real index, real git, real open documents."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
import subprocess
import threading
from collections.abc import Hashable
from dataclasses import dataclass
from pathlib import Path

import pytest

from lspilot.context.gather import Gathered
from lspilot.context.imports import Import
from lspilot.context.index import WorkspaceIndex
from lspilot.context.similar import WindowCache
from lspilot.context.snippet import Snippet, Source
from lspilot.context.sources import (
    DefinitionSource,
    ImportFiles,
    Late,
    OpenFiles,
    OpenFileSource,
    Request,
    ScopeSource,
    UsageSource,
)
from lspilot.context.symbols import analyze
from lspilot.context.window import fit_window
from lspilot.context.workspace import Workspace
from lspilot.lsp.documents import Documents
from lspilot.settings import CONTEXT_SOURCES, ContextSettings
from tests.polling import until, wait_until

ALL_SOURCES = ContextSettings(sources=",".join(CONTEXT_SOURCES))
"""The sources' machinery is tested with all of them (`definition` is off by default)."""

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
    workspace = Workspace(root, dataclasses.replace(ALL_SOURCES, **settings),
                          documents.all)
    workspace.start()
    assert workspace.index is not None and workspace.index.wait_ready(30)
    return workspace


def app_open(root: Path) -> tuple[Documents, str, Workspace]:
    """pkg/app.py open (as APP) in a started workspace with every source."""
    documents = Documents()
    uri = (root / "pkg" / "app.py").as_uri()
    documents.open(uri, "python", 1, APP)
    return documents, uri, started(root, documents)


async def gather(workspace: Workspace, documents: Documents, uri: str, line: int,
                 column: int, typing: bool = False) -> Gathered:
    doc = documents.get(uri)
    assert doc is not None
    lines = doc.text.split("\n")
    offset = sum(len(t) + 1 for t in lines[:line]) + column
    window = fit_window(doc.text[:offset], doc.text[offset:], 400, 0.1, words)
    return await workspace.gather(uri, "python", doc.text, offset, window, 200, words,
                                  typing=typing)


async def test_the_same_input_gives_the_same_context_and_secrets_stay_out(root: Path) -> None:
    documents = Documents()
    uri = (root / "pkg" / "app.py").as_uri()
    documents.open(uri, "python", 1, APP)
    documents.open((root / ".env").as_uri(), "dotenv", 1, "TOKEN=scale-secret-123\n")
    workspace = started(root, documents)
    try:
        first = await gather(workspace, documents, uri, 6, 11)
        fresh = started(root, documents)
        try:
            again = await gather(fresh, documents, uri, 6, 11)
        finally:
            fresh.stop()
    finally:
        workspace.stop()
    assert first.snippets == again.snippets and first.snippets
    assert {s.path for s in first.offered} == {"pkg/geometry.py"}
    assert all("secret" not in s.text for s in first.offered)


async def test_context_is_reused_inside_a_function_and_gathered_again_outside(root: Path) -> None:
    documents, uri, workspace = app_open(root)
    try:
        at_a = await gather(workspace, documents, uri, 4, 9)
        at_b = await gather(workspace, documents, uri, 5, 9)    # same function: reused as is
        elsewhere = await gather(workspace, documents, uri, 10, 11)
    finally:
        workspace.stop()
    assert at_b is at_a
    assert elsewhere is not at_a


REPORT = ("from pkg.geometry import scale\n\n\ndef report(rows):\n"
          "    return [scale(r.values, r.factor) for r in rows]\n")


@pytest.mark.parametrize(("typed", "expected"), [
    ("    b = scale(", "gathered again, with the calls of scale"),
    ("    b = scale(v, ", "gathered again, with the calls of scale"),
    ("    b = scale(v, 3)", "reused"),     # out of the call again
    ("    b = len(", "reused"),            # no call site of a library function to show
    ("    b = 2  # scale(", "reused"),     # a comment
])
async def test_opening_a_call_on_the_same_line_brings_its_usages(
        root: Path, typed: str, expected: str) -> None:
    (root / "pkg" / "report.py").write_text(REPORT)
    documents, uri, workspace = app_open(root)
    try:
        before = await gather(workspace, documents, uri, 5, 9)
        documents.open(uri, "python", 2, APP.replace("    b = 2", typed))
        after = await gather(workspace, documents, uri, 5, len(typed))
    finally:
        workspace.stop()
    usages = [s for s in after.offered if s.source == "usage"]
    assert [s.source for s in before.offered if s.source == "usage"] == []
    if expected == "reused":
        assert after is before and usages == []
    else:
        assert after is not before
        assert [(s.path, s.reason.split(" (")[0]) for s in usages] == [
            ("pkg/report.py", "calls scale()")]


async def test_typing_on_keeps_the_calls_the_context_was_gathered_for(root: Path) -> None:
    # New context costs a re-read of the prompt after it: opening a call while typing adds
    # none, closing it takes none away; the cursor arriving in one (a move) does.
    (root / "pkg" / "report.py").write_text(REPORT)
    documents, uri, workspace = app_open(root)

    def usages(gathered: Gathered) -> list[str]:
        return [s.reason.split(" (")[0] for s in gathered.offered if s.source == "usage"]

    try:
        before = await gather(workspace, documents, uri, 5, 9)
        documents.open(uri, "python", 2, APP.replace("    b = 2", "    b = scale("))
        typed = await gather(workspace, documents, uri, 5, 14, typing=True)
        arrived = await gather(workspace, documents, uri, 5, 14)
        documents.open(uri, "python", 3, APP.replace("    b = 2", "    b = scale(v, 3)"))
        closed = await gather(workspace, documents, uri, 5, 19, typing=True)
    finally:
        workspace.stop()
    assert typed is before and usages(before) == []
    assert usages(arrived) == ["calls scale()"]
    assert closed is arrived


async def test_only_the_sources_the_settings_name_are_asked(root: Path) -> None:
    documents = Documents()
    uri = (root / "pkg" / "app.py").as_uri()
    documents.open(uri, "python", 1, APP)
    workspace = started(root, documents)
    try:
        everything = await gather(workspace, documents, uri, 6, 11)
        # A settings change applies at once, and the last context is not reused across it.
        workspace.settings = dataclasses.replace(workspace.settings, sources="scope,usage")
        fewer = await gather(workspace, documents, uri, 6, 11)
        workspace.settings = dataclasses.replace(workspace.settings, sources="")
        none = await gather(workspace, documents, uri, 6, 11)
    finally:
        workspace.stop()
    assert "definition" in {s.source for s in everything.offered}
    assert set(fewer.source_ms) == {"scope", "usage"}
    assert {s.source for s in fewer.offered} <= {"scope", "usage"}
    assert none.source_ms == {} and none.snippets == () and none.late == ()


async def test_the_default_sources_leave_definitions_out(root: Path) -> None:
    # Measured to cost more than they gave (see DEFAULT_CONTEXT_SOURCES); `usage`, which
    # finds the calls of a function whose arguments the cursor is in, stays.
    documents = Documents()
    uri = (root / "pkg" / "app.py").as_uri()
    documents.open(uri, "python", 1, APP)
    workspace = started(root, documents, sources=ContextSettings().sources)
    try:
        gathered = await gather(workspace, documents, uri, 6, 11)
    finally:
        workspace.stop()
    assert "usage" in gathered.source_ms and "definition" not in gathered.source_ms
    assert "definition" not in {s.source for s in gathered.offered}


async def test_uncommitted_hunks_come_as_code(root: Path) -> None:
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
        gathered = await gather(workspace, documents, uri, 6, 11)
    finally:
        workspace.stop()
    [hunk] = [s for s in gathered.offered if s.source == "git_diff"]
    assert hunk.path == "pkg/geometry.py" and "def spin(v):" in hunk.text
    assert not any(line.startswith("+") for line in hunk.text.split("\n"))


async def test_a_passed_deadline_skips_the_remaining_sources(root: Path) -> None:
    documents = Documents()
    uri = (root / "pkg" / "app.py").as_uri()
    documents.open(uri, "python", 1, APP)
    ticks = iter(range(10**6))
    # A clock that moves one second per reading: only the first source starts in time.
    workspace = Workspace(root, dataclasses.replace(ALL_SOURCES, deadline_ms=1500),
                          documents.all, clock=lambda: float(next(ticks)))
    workspace.start()
    try:
        assert workspace.index is not None and workspace.index.wait_ready(30)
        gathered = await gather(workspace, documents, uri, 6, 11)
    finally:
        workspace.stop()
    assert list(gathered.source_ms) == ["scope"]
    assert gathered.late == ("definition", "usage", "import_usage", "git_diff", "open_file",
                            "recent_edit")


OTHER = "def grow_more(v):\n    return scale(v, 3)\n"


async def test_an_edit_that_keeps_another_files_length_is_seen(root: Path) -> None:
    # The reuse key once held the other documents' lengths: this edit was served stale.
    documents = Documents()
    uri, other = (root / "pkg" / "app.py").as_uri(), (root / "pkg" / "other.py").as_uri()
    documents.open(uri, "python", 1, APP)
    documents.open(other, "python", 1, OTHER)
    workspace = started(root, documents)
    try:
        before = await gather(workspace, documents, uri, 6, 11)
        documents.open(other, "python", 2, OTHER.replace("3", "4"))
        after = await gather(workspace, documents, uri, 6, 11)
    finally:
        workspace.stop()
    assert [s.text for s in before.offered if s.source == "open_file"] == [OTHER]
    assert [s.text for s in after.offered if s.source == "open_file"] == \
        [OTHER.replace("3", "4")]


async def test_every_refresh_that_finds_new_hunks_is_seen(root: Path) -> None:
    # The reuse key once held the id() of the hunks' tuple: with two refreshes between two
    # requests, the third tuple took the first one's freed id, and the first hunks were served.
    # (A text file: its edits move no index generation, which would hide the bug.)
    (root / "notes.txt").write_text("base\n")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], cwd=root, check=True)
    subprocess.run([*git, "add", "-A"], cwd=root, check=True)
    subprocess.run([*git, "commit", "-qm", "x"], cwd=root, check=True)
    documents = Documents()
    uri = (root / "pkg" / "app.py").as_uri()
    documents.open(uri, "python", 1, APP)
    workspace = started(root, documents)
    seen = []
    try:
        assert workspace.git is not None
        for number in range(6):
            (root / "notes.txt").write_text(f"note{number}\n")
            os.utime(root / "notes.txt", (1_000 + number, 1_000 + number))
            assert workspace.git.refresh_blocking()
            if number % 2 == 0:
                gathered = await gather(workspace, documents, uri, 6, 11)
                seen += [name for s in gathered.offered if s.source == "git_diff"
                         for name in re.findall(r"note\d", s.text)]
    finally:
        workspace.stop()
    assert seen == ["note0", "note2", "note4"]


@dataclass(frozen=True)
class Waiting:
    """A source that answers once `go` is set, or gives up after a while."""

    go: threading.Event
    name: Source = "usage"
    deadline: float = 1.0

    def version(self, path: str, documents: OpenFiles) -> Hashable:
        return 0

    def snippets(self, request: Request, late: Late) -> list[Snippet]:
        if not self.go.wait(timeout=30):
            return []
        return [Snippet(self.name, "waited.py", "answered()", 1.0)]


async def test_sources_run_off_the_event_loop(root: Path) -> None:
    documents = Documents()
    uri = (root / "pkg" / "app.py").as_uri()
    documents.open(uri, "python", 1, APP)
    workspace = started(root, documents, deadline_ms=60_000)
    go = threading.Event()
    workspace.sources = (ScopeSource(), Waiting(go))
    try:
        # The source answers only once the event loop has run this callback: a gather on
        # the loop would wait out the source's 30 s and come back without its snippet.
        asyncio.get_running_loop().call_soon(go.set)
        gathered = await gather(workspace, documents, uri, 6, 11)
    finally:
        workspace.stop()
    assert [s.text for s in gathered.offered if s.source == "usage"] == ["answered()"]
    assert gathered.late == ()


async def test_a_source_still_running_at_the_deadline_is_dropped(root: Path) -> None:
    documents = Documents()
    uri = (root / "pkg" / "app.py").as_uri()
    documents.open(uri, "python", 1, APP)
    workspace = started(root, documents, deadline_ms=500)
    go = threading.Event()
    workspace.sources = (ScopeSource(), Waiting(go), OpenFileSource(workspace.excluded,
                                                                     WindowCache()))
    try:
        gathered = await gather(workspace, documents, uri, 6, 11)
        go.set()  # the worker finishes its late answer, which nobody takes any more
        again = await gather(workspace, documents, uri, 10, 11)
    finally:
        workspace.stop()
    assert list(gathered.source_ms) == ["scope"]
    assert gathered.late == ("usage", "open_file")
    assert all(s.path != "waited.py" for s in gathered.offered)
    assert [s.path for s in again.offered].count("waited.py") == 1, "only its own answer"


async def test_each_source_has_its_own_share_of_the_deadline(root: Path) -> None:
    documents = Documents()
    uri = (root / "pkg" / "app.py").as_uri()
    documents.open(uri, "python", 1, APP)
    ticks = iter(range(10**6))
    # One second per clock reading, ten in all: a source with a tenth of them is late by the
    # time its turn comes, the one after it, with all ten, is not.
    workspace = Workspace(root, dataclasses.replace(ALL_SOURCES, deadline_ms=10_000),
                          documents.all,
                          clock=lambda: float(next(ticks)))
    workspace.start()
    workspace.sources = (ScopeSource(),
                         DefinitionSource(workspace.index, workspace.import_files, deadline=0.1),
                         UsageSource(workspace.index))
    try:
        assert workspace.index is not None and workspace.index.wait_ready(30)
        gathered = await gather(workspace, documents, uri, 6, 11)
    finally:
        workspace.stop()
    assert list(gathered.source_ms) == ["scope", "usage"]
    assert gathered.late == ("definition",)


async def test_imports_resolve_to_a_new_file_once_the_index_has_it(root: Path) -> None:
    documents = Documents()
    uri = (root / "pkg" / "app.py").as_uri()
    text = "from .fresh import bloom\n\n\ndef grow(v):\n    return bloom(v)\n"
    documents.open(uri, "python", 1, text)
    workspace = started(root, documents)
    try:
        before = await gather(workspace, documents, uri, 4, 11)
        version = workspace.import_files.version
        (root / "pkg" / "fresh.py").write_text("def bloom(v):\n    return v\n")
        workspace.saved((root / "pkg" / "fresh.py").as_uri())
        await until(lambda: workspace.import_files.version > version,
                    what="the file list with fresh.py")
        after = await gather(workspace, documents, uri, 4, 11)
    finally:
        workspace.stop()
    assert not [s for s in before.offered if s.source == "definition"]
    assert [s.text for s in after.offered if s.source == "definition"] == \
        ["def bloom(v):", "def bloom(v):\n    return v"]


class HeldIndex(WorkspaceIndex):
    """The real index, whose file list can be made to wait (to hold a rebuild midway)."""

    hold = threading.Event()
    holding = threading.Event()
    release = threading.Event()

    def files(self) -> frozenset[str]:
        if self.hold.is_set():
            self.holding.set()
            self.release.wait(30)
        return super().files()


def test_a_request_resolves_against_the_last_file_list_while_a_new_one_is_built(
        tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text("import util\n")
    (tmp_path / "util.py").write_text("def f():\n    pass\n")
    index = HeldIndex(tmp_path, analyze, watch=False)
    files = ImportFiles(index, lambda path: None)
    index.start()
    imp = Import("util", (), (), 0)
    try:
        assert index.wait_ready(30)
        files.refresh()
        assert files.version == 1
        (tmp_path / "util.pyi").write_text("def f() -> None: ...\n")
        index.update("util.pyi")
        wait_until(lambda: "util.pyi" in index.files(), what="util.pyi in the index")
        index.hold.set()
        rebuild = threading.Thread(target=files.refresh)
        rebuild.start()
        assert index.holding.wait(30)
        during = files.resolver()("python", "main.py", imp)
        index.hold.clear()
        index.release.set()
        rebuild.join(30)
        after = files.resolver()("python", "main.py", imp)
    finally:
        index.release.set()
        index.stop()
    assert during == ["util.py"]
    assert after == ["util.py", "util.pyi"] and files.version == 2


def test_a_shallow_workspace_indexes_its_own_folders_files_only(tmp_path: Path) -> None:
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    for rel in ("main.py", "helper.py", "sub/deep.py", "sub/deeper/deepest.py"):
        (tmp_path / rel).write_text("def f():\n    return 1\n")
    workspace = Workspace(tmp_path, ContextSettings(), list, shallow=True)
    workspace.start()
    try:
        assert workspace.index is not None and workspace.index.wait_ready(30)
        assert workspace.index.files() == {"main.py", "helper.py"}
        assert workspace.excluded("sub/deep.py")
    finally:
        workspace.stop()
