"""`lspilot bench [DIR] [--model ID]...`: how right completions are on your own code.

Holes are cut out of the repository's own files (`completion/holes.py`: line holes and
block bodies, in every language lspilot parses), in a scratch copy of its tracked files, so
that nothing of yours is written to. Each model answers every hole twice: through the real
pipeline (`lspilot serve` over stdio, asked as an editor asks, with the workspace's
context), and bare (the plain FIM prompt at the same budget, cut as a plain client cuts:
`completion/baseline.py`). The table gives, per language, exact match and edit similarity
of what is shown, the share of holes with no suggestion, and the median latency.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from lspilot.completion.baseline import bare_complete
from lspilot.completion.holes import Case, sample
from lspilot.completion.scoring import Answer, score
from lspilot.editor_client import Trigger, serve
from lspilot.models.backends.base import BackendError
from lspilot.models.roles import RoleFile
from lspilot.models.slot import store_loader
from lspilot.models.store import ModelStore
from lspilot.settings import Settings, parse_settings

Progress = Callable[[int, int, str], None]

COPY_MAX_BYTES = 1_000_000
"""Larger files are not copied (data, bundles): the index skips them anyway."""
COPY_MAX_FILES = 20_000
_SKIP_DIRS = {".git", "node_modules", "target", "dist", "build", "__pycache__", ".venv",
              "venv", ".tox", ".mypy_cache"}


class Steps:
    """Progress through the holes on stderr: a live bar on a terminal, a line per 10% in logs."""

    def __init__(self) -> None:
        self._tty = sys.stderr.isatty()
        self._last: tuple[str, int] = ("", -1)

    def __call__(self, done: int, total: int, message: str) -> None:
        """Show `done` of `total` steps of `message`."""
        percent = done * 100 // total if total else 100
        step = percent if self._tty else percent // 10 * 10
        if (message, step) == self._last:
            return
        self._last = (message, step)
        bar = "#" * (percent // 4) + "." * (25 - percent // 4)
        line = f"{message}: [{bar}] {done}/{total}"
        if self._tty:
            sys.stderr.write("\r" + line + ("\n" if done >= total else ""))
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()


def tracked_files(folder: Path) -> list[Path]:
    """The files of `folder` to copy: git's tracked files in a repository, else every file
    outside hidden and build folders; each at most `COPY_MAX_BYTES`."""
    try:
        listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                                 "--exclude-standard"], cwd=folder, capture_output=True,
                                check=True).stdout.decode("utf-8", "replace")
        names = [folder / name for name in listed.split("\0") if name]
    except (OSError, subprocess.CalledProcessError):
        names = [path for path in folder.rglob("*")
                 if not {p for p in path.relative_to(folder).parts[:-1]} & _SKIP_DIRS
                 and not any(p.startswith(".") for p in path.relative_to(folder).parts[:-1])]
    found = []
    for path in sorted(names):
        try:
            if path.is_file() and not path.is_symlink() and \
                    path.stat().st_size <= COPY_MAX_BYTES:
                found.append(path)
        except OSError:
            continue
        if len(found) >= COPY_MAX_FILES:
            break
    return found


def copy_workspace(folder: Path, scratch: Path) -> Path:
    """A copy of the folder's files under `scratch`, named like it, outside any repository."""
    target = scratch / (folder.name or "workspace")
    for path in tracked_files(folder):
        dest = target / path.relative_to(folder)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, dest)
    return target


@dataclass(frozen=True)
class Result:
    """One hole's answers, pipeline and bare, for one model."""

    case: Case
    ours: Answer
    bare: Answer


def figures(results: Sequence[Result]) -> dict[str, dict[str, dict[str, float]]]:
    """Per language (and `all`), per runner: exact, similarity, no suggestion, p50 latency."""
    groups: dict[str, list[Result]] = defaultdict(list)
    for result in results:
        groups[result.case.language].append(result)
        groups["all"].append(result)
    table: dict[str, dict[str, dict[str, float]]] = {}
    for language, group in groups.items():
        table[language] = {}
        for runner in ("lspilot", "bare"):
            answers = [r.ours if runner == "lspilot" else r.bare for r in group]
            scores = [score(a.text, r.case.expected, r.case.kind)
                      for a, r in zip(answers, group, strict=True)]
            table[language][runner] = {
                "n": len(group),
                "exact": statistics.fmean(s.exact for s in scores),
                "similarity": statistics.fmean(s.similarity for s in scores),
                "no_suggestion": statistics.fmean(not a.text.strip() for a in answers),
                "latency_p50_ms": statistics.median(a.latency_ms for a in answers),
            }
    return table


def print_table(model: str, table: dict[str, dict[str, dict[str, float]]]) -> None:
    """The per-language table of one model."""
    print(f"\n{model}")
    print(f"{'language':12} {'runner':8} {'n':>4} {'exact':>7} {'similarity':>10} "
          f"{'no suggestion':>13} {'p50 ms':>8}")
    for language in [*sorted(k for k in table if k != "all"), "all"]:
        for runner, f in table[language].items():
            print(f"{language:12} {runner:8} {int(f['n']):4} {100 * f['exact']:6.1f}% "
                  f"{f['similarity']:10.2f} {100 * f['no_suggestion']:12.1f}% "
                  f"{f['latency_p50_ms']:8.0f}")


async def _bare(cases: Sequence[Case], model: str, settings: Settings, store: ModelStore,
                steps: Progress, bar: Progress) -> list[Answer]:
    backend = await asyncio.to_thread(store_loader(store), model, settings, bar)
    answers = []
    try:
        for number, case in enumerate(cases):
            steps(number, len(cases), f"{model}: bare model")
            answers.append(await bare_complete(backend, case.text, case.offset, case.kind,
                                               settings.completion))
        steps(len(cases), len(cases), f"{model}: bare model")
    finally:
        await backend.aclose()
    return answers


def run_bench(args: argparse.Namespace, bar: Progress) -> int:
    """Sample the holes, run every model both ways, print a table per model."""
    folder = Path(args.dir).resolve()
    if not folder.is_dir():
        print(f"lspilot: {folder} is not a folder", file=sys.stderr)
        return 2
    overrides = json.loads(args.settings) if args.settings else {}
    store = ModelStore.from_env()
    settings, errors = parse_settings(overrides, RoleFile.in_store(store).apply(Settings()))
    if errors:
        print("lspilot: " + "; ".join(errors), file=sys.stderr)
        return 2
    models = args.model or [settings.models.autocomplete]
    languages = frozenset(args.languages.split(",")) if args.languages else None
    trigger: Trigger = args.trigger
    steps = Steps()
    report: dict[str, Any] = {"dir": str(folder), "trigger": trigger, "models": {}}
    with tempfile.TemporaryDirectory(prefix="lspilot-bench-") as scratch:
        root = copy_workspace(folder, Path(scratch))
        cases = sample(root, args.lines, args.blocks, seed=args.seed, package=root.name,
                       languages=languages)
        if not cases:
            print(f"lspilot: no holes to cut in {folder}: no source files of a language "
                  "lspilot parses (or none with indented code)", file=sys.stderr)
            return 1
        counts = ", ".join(f"{language} {n}" for language, n in sorted(
            _count(c.language for c in cases).items()))
        print(f"lspilot bench: {len(cases)} holes in {folder} ({counts}), trigger {trigger}",
              file=sys.stderr)
        for model in models:
            try:
                bare = asyncio.run(_bare(cases, model, settings, store, steps, bar))
            except BackendError as exc:
                print(f"lspilot: {model}: {exc}", file=sys.stderr)
                return 1
            done = 0

            def progress(case: Case, answer: Answer, model: str = model) -> None:
                nonlocal done
                done += 1
                steps(done, len(cases), f"{model}: lspilot")

            started = time.perf_counter()
            steps(0, len(cases), f"{model}: lspilot")
            try:
                ours = asyncio.run(serve(cases, root, model, trigger, overrides,
                                         progress=progress,
                                         log_file=Path(scratch) / "serve.log"))
            except RuntimeError as exc:
                print(f"lspilot: {model}: {exc}", file=sys.stderr)
                return 1
            results = [Result(c, o, b) for c, o, b in zip(cases, ours, bare, strict=True)]
            table = figures(results)
            print_table(model, table)
            report["models"][model] = {
                "figures": table, "wall_s": round(time.perf_counter() - started, 1),
                "cases": [{"case": asdict(r.case) | {"text": None},
                           "lspilot": asdict(r.ours), "bare": asdict(r.bare)}
                          for r in results]}
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n")
    return 0


def _count(items: Any) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for item in items:
        counts[item] += 1
    return counts
