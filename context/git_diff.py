"""The user's uncommitted work (staged, unstaged, new files) as code the way it reads now.

A raw `+`/`-` diff confuses small models (Continue#3094), so each hunk becomes the new side
of the file only: removed lines dropped, markers stripped, with its line in the file today.
`GitDiff.refresh()` runs git off the event loop and keeps the parsed hunks in memory;
`GitDiff.snippets()` then ranks them for a cursor without touching the disk.
"""

from __future__ import annotations

import asyncio
import heapq
import os
import re
import stat
import subprocess
import threading
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lspilot.context.snippet import Snippet

RunGit = Callable[[Sequence[str], Path], "bytes | None"]
"""Runs `git` with these arguments in this folder: its stdout, or None when it failed."""

Excluded = Callable[[str], bool]

GIT_TIMEOUT_S = 5.0
MAX_DIFF_BYTES = 2 << 20
# git's own test for binary content: a NUL byte in the first 8000 bytes.
BINARY_SNIFF_BYTES = 8000
_HUNK_HEADER = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")
_OCTAL = re.compile(r"[0-7]{3}")
_ESCAPES = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}


@dataclass(frozen=True)
class Hunk:
    """Changed code as it now reads: the new side of one diff hunk, or a new file."""

    path: str
    """Workspace-relative, `/`-separated."""
    start_line: int
    """0-based line of `path` where `lines` start."""
    lines: tuple[str, ...]
    added: int
    """How many of `lines` are new or changed (the rest are context)."""
    untracked: bool = False


def run_git(args: Sequence[str], cwd: Path, timeout: float = GIT_TIMEOUT_S) -> bytes | None:
    """Run git without a pager, prompt or optional locks; None when missing, failing or slow."""
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0", "GIT_TERMINAL_PROMPT": "0",
           "LC_ALL": "C"}
    try:
        result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, timeout=timeout,
                                env=env, stdin=subprocess.DEVNULL, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout if result.returncode == 0 else None


def parse_diff(diff: str) -> list[Hunk]:
    """The new side of every hunk of a unified git diff; deleted and binary files give none.

    Hunks that only remove lines are dropped too: with the `-` lines gone they would show
    unchanged code.
    """
    hunks: list[Hunk] = []
    path: str | None = None
    start = 0
    lines: list[str] = []
    added = 0
    in_hunk = False

    def close() -> None:
        if in_hunk and path is not None and added:
            hunks.append(Hunk(path, start, tuple(lines), added))

    for line in diff.split("\n"):
        if line.startswith("diff --git "):
            close()
            path, in_hunk = None, False
        elif not in_hunk and line.startswith("+++ "):
            target = line[4:].rstrip("\t")
            path = None if target == "/dev/null" else _strip_prefix(_unquote(target))
        elif line.startswith("@@ "):
            close()
            match = _HUNK_HEADER.match(line)
            in_hunk = match is not None
            start = max(int(match.group(1)) - 1, 0) if match else 0
            lines, added = [], 0
        elif in_hunk:
            if line.startswith("+"):
                lines.append(line[1:])
                added += 1
            elif line.startswith(" "):
                lines.append(line[1:])
            elif not line.startswith(("-", "\\")):
                # Anything else ends the hunk's body (the final empty split, a new header).
                close()
                in_hunk = False
    close()
    return hunks


def _strip_prefix(path: str) -> str:
    """`b/src/x.py` -> `src/x.py`: the destination prefix git puts on new-side paths."""
    return path[2:] if path.startswith("b/") else path


def _unquote(path: str) -> str:
    """A path as git writes it: C-style quoted with octal UTF-8 bytes when unusual."""
    if not (len(path) >= 2 and path[0] == path[-1] == '"'):
        return path
    body, out, i = path[1:-1], bytearray(), 0
    while i < len(body):
        if body[i] != "\\" or i + 1 == len(body):
            out.extend(body[i].encode())
            i += 1
        elif _OCTAL.fullmatch(body[i + 1:i + 4]):
            out.append(int(body[i + 1:i + 4], 8))
            i += 4
        else:
            out.append(_ESCAPES.get(body[i + 1], ord(body[i + 1])))
            i += 2
    return out.decode("utf-8", "surrogateescape")


_UNSEEN = -1.0


@dataclass(frozen=True)
class _State:
    """One refresh's result, swapped in whole so that readers on other threads see either."""

    hunks: tuple[Hunk, ...] = ()
    mtimes: dict[str, float] = field(default_factory=dict)
    """Modification time of each dirty file: the newest is what the user works on now."""
    seen: dict[str, float | None] = field(default_factory=dict)
    """Modification time (None: gone) of each dirty or touched file when git last ran."""
    repo: tuple[object, ...] = ()
    """Index, HEAD and refs as they were when git last ran."""
    ran_at: float | None = None


class GitDiff:
    """Uncommitted changes of the git repository around a workspace root, held in memory.

    `refresh()` is async and runs git on a worker thread; `refresh_blocking()` is the same
    work for callers already off the event loop. Both are safe to call often: git only runs
    when `.git/index`, HEAD, a dirty file or a file passed as `touched` changed since the
    last run, or when the last run is older than `stale_after` seconds (edits to clean files
    made outside the editor show up then). `snippets()` reads memory only.
    """

    def __init__(self, root: Path, excluded: Excluded, *, run: RunGit = run_git,
                 stale_after: float = 60.0, untracked_bytes: int = 32_768,
                 untracked_files: int = 50, clock: Callable[[], float] = time.monotonic
                 ) -> None:
        self.root = root
        self.excluded = excluded
        self._run = run
        self._stale_after = stale_after
        self._untracked_bytes = untracked_bytes
        self._untracked_files = untracked_files
        self._clock = clock
        self._git_dirs: tuple[Path, Path] | None = None
        self._state = _State()
        self._lock = threading.Lock()
        self.version = 0
        """Moves each time a refresh finds other hunks (or other times of the dirty files,
        which rank them): a key for callers' caches."""

    @property
    def hunks(self) -> tuple[Hunk, ...]:
        """The hunks from the last refresh that ran git."""
        return self._state.hunks

    async def refresh(self, touched: Collection[str] = ()) -> bool:
        """Re-read the changes on a worker thread if anything changed; True when git ran."""
        return await asyncio.to_thread(self.refresh_blocking, touched)

    def refresh_blocking(self, touched: Collection[str] = ()) -> bool:
        """Re-read the changes if anything changed (blocks on git); True when git ran.

        `touched`: workspace-relative paths the caller knows were written (didSave), so that
        a file that was clean until now is noticed without waiting for `stale_after`.
        A refresh already running on another thread makes this one a no-op.
        """
        if not self._lock.acquire(blocking=False):
            return False
        try:
            return self._refresh(touched)
        finally:
            self._lock.release()

    def _refresh(self, touched: Collection[str]) -> bool:
        now = self._clock()
        state = self._state
        if state.ran_at is not None and now - state.ran_at < self._stale_after:
            if self._git_dirs is None:
                return False  # not a repository, or no git: looked at again once stale
            if self._repo_stamp() == state.repo and all(
                    self._mtime(path) == state.seen.get(path, _UNSEEN)
                    for path in (*state.mtimes, *touched)):
                return False
        if self._git_dirs is None:
            self._git_dirs = self._find_git_dirs()
            if self._git_dirs is None:
                self._swap(_State(ran_at=now))
                return True
        # Stamped before git reads them, so that a commit or `git add` racing the read
        # shows up as a change next time. A file written during the read is only noticed
        # once stale, or when touched again.
        repo = self._repo_stamp()
        hunks = self._read_diff() + self._read_untracked()
        seen = {path: self._mtime(path) for path in {*(h.path for h in hunks), *touched}}
        dirty = {hunk.path: seen[hunk.path] or 0.0 for hunk in hunks}
        self._swap(_State(tuple(hunks), dirty, seen, repo, now))
        return True

    def _swap(self, state: _State) -> None:
        """Take a refresh's result; readers on other threads see the old state or the new."""
        old = self._state
        self._state = state
        # After the swap: a reader that sees the new version also sees the new state.
        if state.hunks != old.hunks or state.mtimes != old.mtimes:
            self.version += 1

    def _find_git_dirs(self) -> tuple[Path, Path] | None:
        """The repository's git dir and common dir (they differ in a linked worktree)."""
        out = self._run(["rev-parse", "--path-format=absolute", "--git-dir",
                         "--git-common-dir"], self.root)
        if out is None:
            return None
        parts = out.decode("utf-8", "surrogateescape").splitlines()
        return (Path(parts[0]), Path(parts[1])) if len(parts) >= 2 else None

    def _repo_stamp(self) -> tuple[object, ...]:
        """What changes when the user stages, commits or switches branch: index, HEAD, refs."""
        assert self._git_dirs is not None
        git_dir, common_dir = self._git_dirs
        head = _read(git_dir / "HEAD")
        ref = head[5:].strip() if head.startswith("ref: ") else ""
        return (_stat(git_dir / "index"), head,
                _stat(common_dir / ref) if ref else None, _stat(common_dir / "packed-refs"))

    def _unborn(self) -> bool:
        """Whether HEAD names a branch with no commit yet (a new repository)."""
        assert self._git_dirs is not None
        _, common_dir = self._git_dirs
        head = _read(self._git_dirs[0] / "HEAD")
        if not head.startswith("ref: "):
            return False  # detached: HEAD is a commit
        ref = head[5:].strip()
        return not (common_dir / ref).exists() and \
            f" {ref}\n" not in _read(common_dir / "packed-refs")

    def _mtime(self, path: str) -> float | None:
        try:
            return os.stat(self.root / path).st_mtime
        except OSError:
            return None

    def _read_diff(self) -> list[Hunk]:
        args = ["-c", "core.quotePath=false", "diff", "--no-color", "--no-ext-diff",
                "--no-textconv", "-U3", "--find-renames", "--relative",
                "--ignore-submodules", "--src-prefix=a/", "--dst-prefix=b/"]
        base = "HEAD"
        if self._unborn():
            # No commit yet: everything in the index and work tree is new against the empty
            # tree (asked of git, since its id differs between SHA-1 and SHA-256 repos).
            empty = self._run(["hash-object", "-t", "tree", "/dev/null"], self.root)
            if empty is None:
                return []
            base = empty.decode().strip()
        out = self._run([*args, base], self.root)
        if out is None:
            return []
        # A regenerated lock file can make a diff of many megabytes: read its start only.
        if len(out) > MAX_DIFF_BYTES:
            out = out[:out.rfind(b"\n", 0, MAX_DIFF_BYTES) + 1]
        text = out.decode("utf-8", "surrogateescape")
        return [hunk for hunk in parse_diff(text) if not self.excluded(hunk.path)]

    def _read_untracked(self) -> list[Hunk]:
        """New files git does not ignore, whole, newest first; large or binary ones skipped."""
        out = self._run(["-c", "core.quotePath=false", "ls-files", "-z", "--others",
                         "--exclude-standard"], self.root)
        if out is None:
            return []
        # A folder of thousands of new files (an unignored build output) is not what the
        # user is writing: only the first few hundred names are looked at.
        names = [name for name in out.decode("utf-8", "surrogateescape").split("\0")[:500]
                 if name and not self.excluded(name)]
        found: list[tuple[float, str, bytes]] = []
        for name in names:
            path = self.root / name
            try:
                # lstat: a new link may point anywhere, even outside the workspace.
                info = path.lstat()
                if info.st_size > self._untracked_bytes or not stat.S_ISREG(info.st_mode):
                    continue
                data = path.read_bytes()
            except OSError:
                continue
            if b"\0" not in data[:BINARY_SNIFF_BYTES]:
                found.append((info.st_mtime, name, data))
        found.sort(key=lambda item: (-item[0], item[1]))
        hunks = []
        for _, name, data in found[:self._untracked_files]:
            lines = data.decode("utf-8", "replace").split("\n")
            if lines and lines[-1] == "":
                lines.pop()
            if lines:
                hunks.append(Hunk(name, 0, tuple(lines), len(lines), untracked=True))
        return hunks

    def snippets(self, cursor_path: str, related: Collection[str], cursor_line: int, *,
                 skip_lines: range | None = None, max_hunks: int = 8, max_lines: int = 40
                 ) -> list[Snippet]:
        """The uncommitted hunks worth showing at a cursor, best first; memory only."""
        state = self._state
        return rank_hunks(state.hunks, state.mtimes, cursor_path, related, cursor_line,
                          excluded=self.excluded, skip_lines=skip_lines,
                          max_hunks=max_hunks, max_lines=max_lines)


def rank_hunks(hunks: Sequence[Hunk], mtimes: dict[str, float], cursor_path: str,
               related: Collection[str], cursor_line: int, *, excluded: Excluded,
               skip_lines: range | None = None, max_hunks: int = 8, max_lines: int = 40
               ) -> list[Snippet]:
    """Score hunks for a cursor and keep the best `max_hunks`, each cut to `max_lines`.

    Score = base + nearness + size, within 0..1:
    - base: the cursor's own file 0.8, a `related` file 0.6, any other file 0.2;
    - nearness (up to 0.15): in the cursor's file, closeness to the cursor line; elsewhere,
      how recently the file was modified, by rank among the dirty files;
    - size (up to 0.05): smaller hunks cost less of the budget.
    Hunks of the cursor's file that overlap `skip_lines` (the lines already in the prompt;
    default the cursor's line) are left out.
    """
    skip = skip_lines if skip_lines is not None else range(cursor_line, cursor_line + 1)
    # The exclusion rule may be slow (glob matching): asked once per file, not per hunk.
    allowed = {path: not excluded(path) for path in {*mtimes, *(h.path for h in hunks)}}
    newest = sorted((path for path in mtimes if allowed[path]),
                    key=lambda path: (-mtimes[path], path))
    recency = {path: 1 - rank / len(newest) for rank, path in enumerate(newest)}
    scored: list[tuple[float, str, int, Hunk]] = []
    for hunk in hunks:
        if not allowed[hunk.path]:
            continue
        end = hunk.start_line + len(hunk.lines)
        if hunk.path == cursor_path:
            if hunk.start_line < skip.stop and skip.start < end:
                continue
            distance = max(hunk.start_line - cursor_line, cursor_line - end + 1, 0)
            base, nearness = 0.8, 1 / (1 + distance / 20)
        else:
            base = 0.6 if hunk.path in related else 0.2
            nearness = recency.get(hunk.path, 0.0)
        size = 1 - min(len(hunk.lines), max_lines) / max(max_lines, 1)
        score = round(min(1.0, base + 0.15 * nearness + 0.05 * size), 4)
        scored.append((-score, hunk.path, hunk.start_line, hunk))
    # Only the kept hunks become snippets: there may be hundreds, on every keystroke.
    best = heapq.nsmallest(max_hunks, scored, key=lambda item: item[:3])
    return [Snippet("git_diff", hunk.path, "\n".join(hunk.lines[:max_lines]), -score,
                    hunk.start_line, _reason(hunk, cursor_path, related))
            for score, _, _, hunk in best]


def _reason(hunk: Hunk, cursor_path: str, related: Collection[str]) -> str:
    if hunk.path == cursor_path:
        return "uncommitted change in this file"
    kind = "new file" if hunk.untracked else "uncommitted change"
    return f"{kind} in a related file" if hunk.path in related else kind


def _read(path: Path) -> str:
    try:
        return path.read_text("utf-8", "replace")
    except OSError:
        return ""


def _stat(path: Path) -> tuple[int, int, int] | None:
    """Enough of a file's stat to see it replaced: git renames a new index into place."""
    try:
        info = path.stat()
    except OSError:
        return None
    return (info.st_mtime_ns, info.st_size, info.st_ino)
