"""Uncommitted work as snippets: real git repositories in temporary folders, real `git`."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

from lspilot.context import git_diff
from lspilot.context.git_diff import GitDiff, Hunk, parse_diff, rank_hunks, run_git

GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
           "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}


def git(root: Path, *args: str) -> str:
    """Run git in `root` as a user would, failing the test when git fails."""
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True,
                          text=True, env={**os.environ, **GIT_ENV}).stdout


def write(root: Path, path: str, text: str | bytes, mtime: float | None = None) -> None:
    """Write a file (parents made); `mtime` pins its modification time for recency tests."""
    target = root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        target.write_bytes(text)
    else:
        target.write_text(text)
    if mtime is not None:
        os.utime(target, (mtime, mtime))


def numbered(name: str, count: int) -> str:
    """`count` distinct lines `name0`, `name1`, ... ending with a newline."""
    return "".join(f"{name}{i}\n" for i in range(count))


def never(path: str) -> bool:
    """An exclusion rule that excludes nothing."""
    return False


def secrets(path: str) -> bool:
    """The exclusion rule of these tests: dotenv files are secret."""
    return path.rsplit("/", 1)[-1].startswith(".env")


class Counting:
    """The real git runner, counting its calls."""

    def __init__(self) -> None:
        self.calls: list[Sequence[str]] = []

    def __call__(self, args: Sequence[str], cwd: Path) -> bytes | None:
        self.calls.append(args)
        return run_git(args, cwd)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository with one commit of a.py (20 lines), d.py, e.py, .env and logo.bin."""
    git(tmp_path, "init", "-q")
    write(tmp_path, "a.py", numbered("a", 20))
    write(tmp_path, "d.py", numbered("d", 5))
    write(tmp_path, "e.py", numbered("e", 12))
    write(tmp_path, ".env", "TOKEN=old\n")
    write(tmp_path, "logo.bin", b"\x00\x01\x02")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "start")
    return tmp_path


def by_path(hunks: Sequence[Hunk]) -> dict[str, list[tuple[int, list[str], int]]]:
    """Hunks as {path: [(start_line, lines, added)]} for exact comparison."""
    found: dict[str, list[tuple[int, list[str], int]]] = {}
    for hunk in hunks:
        found.setdefault(hunk.path, []).append((hunk.start_line, list(hunk.lines), hunk.added))
    return found


PARSE_CASES = {
    "change": ("""diff --git a/x.py b/x.py
index 1..2 100644
--- a/x.py
+++ b/x.py
@@ -2,4 +2,4 @@ def f():
 keep1
-old
+new
 keep2
\\ No newline at end of file
""", [Hunk("x.py", 1, ("keep1", "new", "keep2"), 1)]),
    "two hunks, header without counts": ("""diff --git a/x.py b/x.py
--- a/x.py
+++ b/x.py
@@ -1 +1 @@
-a
+b
@@ -9,2 +9,3 @@
 c
+d
 e
""", [Hunk("x.py", 0, ("b",), 1), Hunk("x.py", 8, ("c", "d", "e"), 1)]),
    "deleted file": ("""diff --git a/gone.py b/gone.py
deleted file mode 100644
--- a/gone.py
+++ /dev/null
@@ -1,2 +0,0 @@
-x
-y
""", []),
    "only removals": ("""diff --git a/x.py b/x.py
--- a/x.py
+++ b/x.py
@@ -1,3 +1,2 @@
 a
-b
 c
""", []),
    "binary": ("""diff --git a/i.png b/i.png
index 1..2 100644
Binary files a/i.png and b/i.png differ
""", []),
    "pure rename": ("""diff --git a/old.py b/new.py
similarity index 100%
rename from old.py
rename to new.py
""", []),
    "rename with an edit": ("""diff --git a/old.py b/new.py
similarity index 90%
rename from old.py
rename to new.py
--- a/old.py
+++ b/new.py
@@ -3,1 +3,1 @@
-x
+y
""", [Hunk("new.py", 2, ("y",), 1)]),
    "quoted path, added lines that look like headers": (
        'diff --git "a/sp ace\\303\\251.py" "b/sp ace\\303\\251.py"\n'
        """--- "a/sp ace\\303\\251.py"
+++ "b/sp ace\\303\\251.py"
@@ -0,0 +1,2 @@
++++ b/not-a-path
+@@ not a header
""", [Hunk("sp aceé.py", 0, ("+++ b/not-a-path", "@@ not a header"), 2)]),
}


@pytest.mark.parametrize(("diff", "expected"), PARSE_CASES.values(), ids=PARSE_CASES.keys())
def test_parse_diff_keeps_the_new_side_only(diff: str, expected: list[Hunk]) -> None:
    assert parse_diff(diff) == expected


def test_a_worked_on_repository(repo: Path,
                                tmp_path_factory: pytest.TempPathFactory) -> None:
    write(repo, "a.py", numbered("a", 20).replace("a10\n", "a10 = changed\n"))
    (repo / "d.py").unlink()
    write(repo, "e.py", numbered("e", 12).replace("e11\n", "e11 + renamed\n"))
    git(repo, "mv", "e.py", "f.py")
    write(repo, "f.py", numbered("e", 12).replace("e11\n", "e11 + renamed\n"))
    git(repo, "add", "f.py")
    write(repo, "b.py", "staged = 1\n")
    git(repo, "add", "b.py")
    write(repo, "b.py", "staged = 1\nunstaged = 2\n")
    write(repo, "new/c.py", "brand\nnew\n")
    write(repo, "new/blob.dat", b"\x00binary")
    write(repo, "logo.bin", b"\x00\x09\x08")
    write(repo, ".env", "TOKEN=secret\n")
    write(repo, "sub/.env.local", "TOKEN=secret\n")
    outside = tmp_path_factory.mktemp("outside")
    write(outside, "secret.py", "TOKEN=secret\n")
    (repo / "link.py").symlink_to(outside / "secret.py")
    diff = GitDiff(repo, secrets)
    assert diff.refresh_blocking()
    assert by_path(diff.hunks) == {
        "a.py": [(7, ["a7", "a8", "a9", "a10 = changed", "a11", "a12", "a13"], 1)],
        "b.py": [(0, ["staged = 1", "unstaged = 2"], 2)],
        "f.py": [(8, ["e8", "e9", "e10", "e11 + renamed"], 1)],
        "new/c.py": [(0, ["brand", "new"], 2)],
    }
    assert [h.untracked for h in diff.hunks] == [False, False, False, True]
    snippets = diff.snippets("zzz.py", (), 0)
    assert {s.path for s in snippets} == {"a.py", "b.py", "f.py", "new/c.py"}
    assert all("secret" not in s.text and "+" != s.text[:1] for s in snippets)


def test_a_repository_without_commits(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    write(tmp_path, "staged.py", "one\n")
    git(tmp_path, "add", "staged.py")
    write(tmp_path, "staged.py", "one\ntwo\n")
    write(tmp_path, "loose.py", "three\n")
    diff = GitDiff(tmp_path, never)
    assert diff.refresh_blocking()
    assert by_path(diff.hunks) == {"staged.py": [(0, ["one", "two"], 2)],
                                   "loose.py": [(0, ["three"], 1)]}


def test_a_workspace_inside_a_repository_gets_its_own_paths(repo: Path) -> None:
    write(repo, "pkg/mod.py", "x = 1\n")
    git(repo, "add", "pkg/mod.py")
    git(repo, "commit", "-q", "-m", "pkg")
    write(repo, "pkg/mod.py", "x = 2\n")
    write(repo, "pkg/extra.py", "y = 1\n")
    write(repo, "a.py", "outside the workspace\n")
    diff = GitDiff(repo / "pkg", never)
    diff.refresh_blocking()
    assert by_path(diff.hunks) == {"mod.py": [(0, ["x = 2"], 1)],
                                   "extra.py": [(0, ["y = 1"], 1)]}


def test_outside_a_repository_nothing_runs_twice(tmp_path: Path) -> None:
    write(tmp_path, "a.py", "x\n")
    runner = Counting()
    diff = GitDiff(tmp_path, never, run=runner)
    diff.refresh_blocking()
    diff.refresh_blocking()
    assert diff.hunks == () and diff.snippets("a.py", (), 0) == []
    assert len(runner.calls) == 1


def test_without_git_it_is_a_no_op(repo: Path, tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    write(repo, "a.py", "changed\n")
    monkeypatch.setenv("PATH", str(tmp_path / "no-bin"))
    diff = GitDiff(repo, never)
    diff.refresh_blocking()
    assert diff.hunks == ()


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_refresh_runs_git_only_when_something_changed(repo: Path) -> None:
    write(repo, "a.py", "first\n", mtime=1_000)
    runner, clock = Counting(), Clock()
    diff = GitDiff(repo, never, run=runner, clock=clock, stale_after=60)
    steps: list[tuple[str, bool]] = []

    def step(name: str, touched: tuple[str, ...] = ()) -> None:
        clock.now += 1
        steps.append((name, diff.refresh_blocking(touched)))

    step("first")
    step("nothing changed")
    write(repo, "a.py", "second\n", mtime=2_000)
    step("a dirty file changed")
    git(repo, "add", "a.py")
    step("staged")
    step("nothing changed again")
    write(repo, "d.py", "edited outside the editor\n", mtime=3_000)
    step("a clean file changed, unknown to the caller")
    step("the caller saved it", touched=("d.py",))
    step("saved again, unchanged", touched=("d.py",))
    git(repo, "commit", "-qam", "more")
    step("committed")
    write(repo, "e.py", "edited outside the editor\n", mtime=4_000)
    clock.now += 60
    step("stale")
    assert steps == [("first", True), ("nothing changed", False),
                     ("a dirty file changed", True), ("staged", True),
                     ("nothing changed again", False),
                     ("a clean file changed, unknown to the caller", False),
                     ("the caller saved it", True), ("saved again, unchanged", False),
                     ("committed", True), ("stale", True)]
    assert [h.path for h in diff.hunks] == ["e.py"]
    # One skipped refresh costs no subprocess at all.
    count = len(runner.calls)
    step("skipped")
    assert len(runner.calls) == count


def test_the_version_moves_when_the_hunks_do(repo: Path) -> None:
    # Callers cache what they built from the hunks under this version; it used to be the
    # id() of the hunks' tuple, which a later tuple may take over once the first is freed.
    clock = Clock()
    diff = GitDiff(repo, never, clock=clock, stale_after=60)
    versions = []
    for text, mtime, touched in (("one\n", 1_000, ()), ("two\n", 2_000, ()), ("two\n", 3_000, ()),
                                 ("three\n", 4_000, ()), ("three\n", 4_000, ("e.py",))):
        write(repo, "a.py", text, mtime=mtime)
        clock.now += 1
        assert diff.refresh_blocking(touched)
        versions.append(diff.version)
    # New hunks, new hunks, the same hunks with a newer time (which ranks them), new hunks,
    # then git ran again (a touched file) and found everything as it was.
    assert versions == [1, 2, 3, 4, 4]


async def test_refresh_off_the_event_loop(repo: Path) -> None:
    write(repo, "a.py", "async\n")
    diff = GitDiff(repo, never)
    assert await diff.refresh()
    assert [h.lines for h in diff.hunks] == [("async",)]


def test_new_files_are_capped_in_size_and_count(repo: Path) -> None:
    for i in range(4):
        write(repo, f"n{i}.py", f"n{i}\n", mtime=1_000 + i)
    write(repo, "big.py", "x" * 100 + "\n", mtime=2_000)
    diff = GitDiff(repo, never, untracked_bytes=50, untracked_files=2)
    diff.refresh_blocking()
    assert [h.path for h in diff.hunks] == ["n3.py", "n2.py"]


def hunk(path: str, start: int, count: int, untracked: bool = False) -> Hunk:
    """A hunk of `count` lines `path:start`, ... (all added)."""
    return Hunk(path, start, tuple(f"{path}:{start + i}" for i in range(count)), count,
                untracked)


HUNKS = [hunk("cur.py", 10, 3), hunk("cur.py", 100, 3), hunk("cur.py", 40, 3),
         hunk("rel.py", 0, 3), hunk("old.py", 0, 3), hunk("new.py", 0, 3, untracked=True),
         hunk(".env", 0, 1)]
MTIMES = {"cur.py": 5.0, "rel.py": 1.0, "old.py": 2.0, "new.py": 3.0, ".env": 9.0}

# (cursor line, lines in the prompt, max hunks, max lines) -> [(path, line, score)]
RANK_CASES = {
    "cursor file first, nearest hunk first; related; others by recency": (
        (41, range(38, 45), 8, 40),
        [("cur.py", 10, 0.8 + 0.15 / (1 + 29 / 20) + 0.05 * 37 / 40),
         ("cur.py", 100, 0.8 + 0.15 / (1 + 59 / 20) + 0.05 * 37 / 40),
         ("rel.py", 0, 0.6 + 0.15 * (1 - 3 / 4) + 0.05 * 37 / 40),
         ("new.py", 0, 0.2 + 0.15 * (1 - 1 / 4) + 0.05 * 37 / 40),
         ("old.py", 0, 0.2 + 0.15 * (1 - 2 / 4) + 0.05 * 37 / 40)]),
    "the hunk at the cursor is skipped by default": (
        (11, None, 8, 40),
        [("cur.py", 40, 0.8 + 0.15 / (1 + 29 / 20) + 0.05 * 37 / 40),
         ("cur.py", 100, 0.8 + 0.15 / (1 + 89 / 20) + 0.05 * 37 / 40),
         ("rel.py", 0, 0.6 + 0.15 * (1 - 3 / 4) + 0.05 * 37 / 40),
         ("new.py", 0, 0.2 + 0.15 * (1 - 1 / 4) + 0.05 * 37 / 40),
         ("old.py", 0, 0.2 + 0.15 * (1 - 2 / 4) + 0.05 * 37 / 40)]),
    "capped hunks and lines": (
        (41, range(38, 45), 2, 2),
        [("cur.py", 10, 0.8 + 0.15 / (1 + 29 / 20)),
         ("cur.py", 100, 0.8 + 0.15 / (1 + 59 / 20))]),
}


@pytest.mark.parametrize(("cursor", "expected"), RANK_CASES.values(), ids=RANK_CASES.keys())
def test_ranking(cursor: tuple[int, range | None, int, int],
                 expected: list[tuple[str, int, float]]) -> None:
    line, skip, max_hunks, max_lines = cursor
    snippets = rank_hunks(HUNKS, MTIMES, "cur.py", {"rel.py"}, line, excluded=secrets,
                          skip_lines=skip, max_hunks=max_hunks, max_lines=max_lines)
    assert [(s.path, s.start_line, s.score) for s in snippets] == [
        (path, start, round(score, 4)) for path, start, score in expected]
    for snippet in snippets:
        assert snippet.text == "\n".join(f"{snippet.path}:{snippet.start_line + i}"
                                         for i in range(min(3, max_lines)))
        assert snippet.source == "git_diff" and 0 <= snippet.score <= 1


def test_a_huge_diff_is_read_from_its_start(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(repo, "a.py", numbered("a", 20).replace("a", "b"))
    monkeypatch.setattr(git_diff, "MAX_DIFF_BYTES", 200)
    diff = GitDiff(repo, never)
    diff.refresh_blocking()
    [hunk] = diff.hunks
    assert hunk.start_line == 0 and 0 < len(hunk.lines) < 20
    assert hunk.lines == tuple(f"b{i}" for i in range(len(hunk.lines)))


@pytest.mark.parametrize("setup", [["pack-refs", "--all"], ["checkout", "-q", "--detach"]],
                         ids=["branch in packed-refs", "detached HEAD"])
def test_a_repository_with_commits_diffs_against_head(repo: Path, setup: list[str]) -> None:
    git(repo, *setup)
    write(repo, "a.py", numbered("a", 20).replace("a0\n", "a0 = 1\n"))
    diff = GitDiff(repo, never)
    diff.refresh_blocking()
    assert by_path(diff.hunks) == {"a.py": [(0, ["a0 = 1", "a1", "a2", "a3"], 1)]}
