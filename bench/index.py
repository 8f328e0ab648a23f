"""The workspace index on a 2,000-file workspace: build time, memory, update latency, lookups.

The workspace is `bench/workspace.py`'s (Python's standard library and installed packages,
plus ignored, secret, binary, huge and generated files). Reported:

- full build (`start()` to `wait_ready()`), with the test analyzer (`tests/regex_symbols.py`)
  and with the real one (`context/symbols.py: analyze`); the walk alone, and a build
  with an analyzer that finds nothing (the index's own cost);
- memory the index keeps (tracemalloc), and how much of it is file text;
- one changed file end to end: write the file, then poll until its new definition is in the
  index (watchdog event, coalescing pause, read, analyze, swap), p50/p95;
- `definitions()`/`callers()`/`text()` lookups, p50/p95/max, next to reading a file from disk,
  and how long a lookup waits (lock, GIL) while the build runs.

    .venv/bin/python -m bench.index [--files 2000] [--edits 50] [--json OUT]
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

from bench.stats import percentile
from bench.workspace import make_workspace
from lspilot.context.ignore import Exclusions, read_source, walk
from lspilot.context.index import Analyze, WorkspaceIndex
from lspilot.context.symbols import FileSymbols, analyze
from tests.regex_symbols import regex_analyze


def build(root: Path, analyze: Analyze, probes: list[float] | None = None
          ) -> tuple[WorkspaceIndex, float]:
    """A started index and the seconds its first build took.

    With `probes`, lookups are made every millisecond during the build (as completion
    requests would) and their durations in microseconds are appended to it.
    """
    index = WorkspaceIndex(root, analyze)
    started = time.perf_counter()
    index.start()
    while probes is not None and not index.ready:
        probe = time.perf_counter_ns()
        # A name with no matches: what is measured is the wait for the lock and the GIL.
        index.definitions("no_such_name")
        probes.append((time.perf_counter_ns() - probe) / 1000)
        time.sleep(0.001)
    if not index.wait_ready(600):
        raise RuntimeError("the index was not built within 10 minutes")
    return index, time.perf_counter() - started


def kept_bytes(root: Path, analyze: Analyze) -> tuple[int, int]:
    """Bytes the built index keeps (tracemalloc), and the bytes of its files' text."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    index, _ = build(root, analyze)
    gc.collect()
    kept = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    text = sum(sys.getsizeof(index.text(path)) for path in index.files())
    index.stop()
    return kept, text


def wait_for(index: WorkspaceIndex, done: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll the index (a cheap generation check first) until `done()` holds."""
    deadline = time.perf_counter() + timeout
    seen = -1
    while time.perf_counter() < deadline:
        if index.generation != seen:
            seen = index.generation
            if done():
                return
        time.sleep(0.0002)
    raise TimeoutError("the index did not see the change")


def edit_latencies(index: WorkspaceIndex, edits: int, tag: str) -> list[float]:
    """Milliseconds from writing a changed file until the index has its new definition.

    `tag` makes the new names differ from those of an earlier run on the same workspace.
    """
    chosen = random.Random(0).sample(sorted(index.files()), edits)
    latencies = []
    for number, rel in enumerate(chosen):
        name = f"bench_edit_{tag}_{number}"
        text = (index.text(rel) or "") + f"\n\ndef {name}():\n    pass\n"
        started = time.perf_counter()
        (index.root / rel).write_text(text)
        wait_for(index, lambda name=name: bool(index.definitions(name)))
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


def timed_us(function: Callable[[str], object], names: list[str]) -> list[float]:
    """Microseconds per call of `function` for each name."""
    times = []
    for name in names:
        started = time.perf_counter_ns()
        function(name)
        times.append((time.perf_counter_ns() - started) / 1000)
    return times


def lookups(index: WorkspaceIndex) -> dict[str, object]:
    """Lookup times for names that occur in the workspace, and for the busiest ones."""
    defined: set[str] = set()
    called: set[str] = set()
    for path in index.files():
        symbols = index.symbols(path)
        if symbols is not None:
            defined.update(d.name for d in symbols.definitions)
            called.update(c.name for c in symbols.calls)
    rng = random.Random(1)
    def_names = rng.sample(sorted(defined), min(500, len(defined)))
    call_names = rng.sample(sorted(called), min(500, len(called)))
    paths = rng.sample(sorted(index.files()), min(500, len(index.files())))
    busiest = max(called, key=lambda name: len(index.callers(name)))
    report: dict[str, object] = {}
    for label, function, names in (
            ("definitions", index.definitions, def_names), ("callers", index.callers, call_names),
            ("text", index.text, paths),
            ("read_from_disk", lambda rel: read_source(index.root / rel), paths)):
        times = timed_us(function, names)
        report[f"{label}_us"] = {"p50": percentile(times, 50), "p95": percentile(times, 95),
                                 "max": max(times)}
    report["busiest_callers"] = {"name": busiest, "matches": len(index.callers(busiest)),
                                 "us": timed_us(index.callers, [busiest] * 20)[-1]}
    return report


def measure(root: Path, name: str, analyze: Analyze, edits: int) -> dict[str, object]:
    """All the figures for one analyzer."""
    probes: list[float] = []
    index, seconds = build(root, analyze, probes)
    figures: dict[str, object] = {"analyzer": name, "build_s": seconds,
                                  "files": len(index.files())}
    figures["lookups_during_build_us"] = {"n": len(probes), "p50": percentile(probes, 50),
                                          "p95": percentile(probes, 95), "max": max(probes)}
    figures["per_file_ms"] = seconds * 1000 / max(1, len(index.files()))
    figures["lookups"] = lookups(index)
    latencies = edit_latencies(index, edits, tag=name.rpartition(".")[2])
    figures["update_ms"] = {"n": len(latencies), "p50": percentile(latencies, 50),
                            "p95": percentile(latencies, 95), "max": max(latencies)}
    index.stop()
    kept, text = kept_bytes(root, analyze)
    figures["memory_mib"] = {"index": kept / 2**20, "of_which_text": text / 2**20}
    return figures


def no_symbols(language_id: str, text: str) -> FileSymbols:
    """An analyzer that finds nothing: what is left is the index's own cost."""
    return FileSymbols(language_id)


def main() -> None:
    """Make the workspace, measure, print (and optionally save) the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--edits", type=int, default=50)
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    analyzers: list[tuple[str, Analyze]] = [
        ("tests/regex_symbols.regex_analyze", regex_analyze),
        ("context/symbols.analyze", analyze)]
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as folder:
        root = make_workspace(Path(folder) / "ws", args.files)
        started = time.perf_counter()
        walked = sum(1 for _ in walk(root.resolve(), Exclusions(root.resolve())))
        results["walk"] = {"files": walked, "s": time.perf_counter() - started}
        index, seconds = build(root, no_symbols)
        index.stop()
        kept, text = kept_bytes(root, no_symbols)
        results["without_symbols"] = {"build_s": seconds, "files": len(index.files()),
                                      "memory_mib": {"index": kept / 2**20,
                                                     "of_which_text": text / 2**20}}
        results["runs"] = [measure(root, name, analyze, args.edits)
                           for name, analyze in analyzers]
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
