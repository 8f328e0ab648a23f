"""How long the per-keystroke context sources take: open-file similarity, recent edits, and
uncommitted hunks, on real source files (modules of Python's own standard library).

Twenty open files of 800-1,500 lines each; cursors spread over another module. The figures
are per call, in milliseconds: p50 and p95 over the cursors.

    .venv/bin/python -m bench.context_sources [--cursors 200] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sysconfig
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.stats import percentile
from lspilot.context.git_diff import GitDiff
from lspilot.context.similar import RecentEdits, WindowCache, similar_snippets

OPEN_FILES = 20
CURSOR_FILE = "argparse.py"


def never(path: str) -> bool:
    """Exclude nothing."""
    return False


def open_files() -> list[tuple[str, str]]:
    """The first 20 standard-library modules (by name) of 800 to 1,500 lines."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    found = []
    for path in sorted(stdlib.glob("*.py")):
        text = path.read_text("utf-8", "replace")
        if 800 <= text.count("\n") <= 1500 and path.name != CURSOR_FILE:
            found.append((path.name, text))
    return found[:OPEN_FILES]


def timed(call: Callable[[], object]) -> float:
    """Milliseconds one call takes."""
    start = time.perf_counter()
    call()
    return (time.perf_counter() - start) * 1000


def figures(name: str, samples: list[float]) -> dict[str, float]:
    """p50/p95 of a series, named."""
    return {f"{name}_p50_ms": round(percentile(samples, 50), 4),
            f"{name}_p95_ms": round(percentile(samples, 95), 4)}


def bench_similar(files: list[tuple[str, str]], cursors: list[str]) -> dict[str, float]:
    """Similarity with a cache kept across keystrokes, cold, and with one file edited."""
    cache = WindowCache()
    cold = timed(lambda: similar_snippets(cursors[0], files, excluded=never, cache=cache))
    warm = [timed(lambda c=cursor: similar_snippets(c, files, excluded=never, cache=cache))
            for cursor in cursors]
    edited = []
    for i, cursor in enumerate(cursors):
        # Another open file changed since the last keystroke: it is cut into windows again.
        index = i % len(files)
        files[index] = (files[index][0], files[index][1] + f"\n# edit {i}")
        edited.append(timed(lambda c=cursor: similar_snippets(c, files, excluded=never,
                                                              cache=cache)))
    return {"similar_cold_ms": round(cold, 3), **figures("similar_warm", warm),
            **figures("similar_one_file_edited", edited)}


def bench_recent(cursors: int, text: str) -> dict[str, float]:
    """RecentEdits.record and .snippets with the region list full."""
    recent = RecentEdits(never)
    lines = text.count("\n")
    record, snippets = [], []
    for i in range(cursors):
        line = (i * 37) % lines
        record.append(timed(lambda n=line, t=float(i): recent.record(
            f"f{n % 5}.py", n, n, "x = 1\n", t)))
        snippets.append(timed(lambda n=line: recent.snippets(
            "f0.py", n, lambda _: text, limit=4)))
    return {**figures("recent_record", record), **figures("recent_snippets", snippets)}


def bench_git(files: list[tuple[str, str]], cursors: int, every: int) -> dict[str, float]:
    """GitDiff on a repository of the open files, each changed every `every` lines."""
    git = shutil.which("git")
    if git is None:
        return {}
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        env = {"GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@example.com",
               "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@example.com",
               "PATH": str(Path(git).parent)}
        subprocess.run([git, "init", "-q"], cwd=root, check=True, env=env)
        for name, text in files:
            (root / name).write_text(text)
        subprocess.run([git, "add", "-A"], cwd=root, check=True, env=env)
        subprocess.run([git, "commit", "-qm", "base"], cwd=root, check=True, env=env)
        for name, text in files:
            lines = text.split("\n")
            for i in range(0, len(lines), every):
                lines[i] += "  # changed"
            (root / name).write_text("\n".join(lines))
        diff = GitDiff(root, never)
        run = timed(diff.refresh_blocking)
        skipped = [timed(diff.refresh_blocking) for _ in range(20)]
        names = [name for name, _ in files]
        snippets = [timed(lambda i=i: diff.snippets(names[i % len(names)],
                                                    {names[(i + 1) % len(names)]}, i * 7 % 800))
                    for i in range(cursors)]
        name = f"git_{len(diff.hunks)}_hunks"
        return {f"{name}_refresh_ran_ms": round(run, 2),
                **figures(f"{name}_refresh_skipped", skipped),
                **figures(f"{name}_snippets", snippets)}


def main() -> None:
    """Print (and optionally write) the figures."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cursors", type=int, default=200)
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    files = open_files()
    cursor_text = (Path(sysconfig.get_paths()["stdlib"]) / CURSOR_FILE).read_text()
    cursor_lines = cursor_text.split("\n")
    step = max(1, (len(cursor_lines) - 20) // args.cursors)
    cursors = ["\n".join(cursor_lines[i:i + 20])
               for i in range(0, len(cursor_lines) - 20, step)][:args.cursors]
    report: dict[str, float] = {
        "open_files": len(files), "open_lines": sum(t.count("\n") for _, t in files),
        **bench_similar(files, cursors), **bench_recent(len(cursors), cursor_text),
        **bench_git(files, len(cursors), 250), **bench_git(files, len(cursors), 25)}
    for key, value in report.items():
        print(f"{key:34} {value}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
