"""How fast `context.symbols.analyze` reads real files, per language: p50/p95 ms and KB/s.

Python files come from this interpreter's standard library; other languages from the
folders given (any file whose extension maps to a language id), e.g. node_modules, C
headers under /usr/include. Each file is analysed `--repeat` times; the best time counts,
so the figures show the code's cost rather than the noise of a shared machine.

    .venv/bin/python -m bench.symbols [--limit 400] [--repeat 3] [FOLDER ...]
"""

from __future__ import annotations

import argparse
import os
import sysconfig
import time
from pathlib import Path

from bench.stats import percentile
from lspilot.context.languages import language_id_for, parser
from lspilot.context.symbols import analyze

MAX_BYTES = 512_000
"""Skip generated giants (minified bundles, amalgamations): the index would skip them too."""


def collect(folders: list[Path], limit: int) -> dict[str, list[Path]]:
    """Up to `limit` source files per language id, in a stable order."""
    found: dict[str, list[Path]] = {}
    for folder in folders:
        for root, dirs, names in os.walk(folder):
            dirs.sort()
            for name in sorted(names):
                language_id = language_id_for(name)
                path = Path(root, name)
                if not language_id or len(found.get(language_id, [])) >= limit:
                    continue
                if 0 < path.stat().st_size <= MAX_BYTES and not name.endswith(".min.js"):
                    found.setdefault(language_id, []).append(path)
    return found


def measure(language_id: str, paths: list[Path], repeat: int) -> dict[str, float]:
    """Per-file times (best of `repeat`) and throughput for one language.

    `of_parse` is analyze's total time over a bare parse's: what the queries and the
    Python around them add to the parse that any reader of the file pays.
    """
    ts_parser = parser(language_id)
    assert ts_parser is not None
    times: list[float] = []
    parse_total = 0.0
    size = 0
    definitions = 0
    for path in paths:
        text = path.read_text(encoding="utf-8", errors="replace")
        source = text.encode("utf-8")
        best = best_parse = float("inf")
        for _ in range(repeat):
            start = time.perf_counter()
            ts_parser.parse(source)
            middle = time.perf_counter()
            symbols = analyze(language_id, text)
            best = min(best, time.perf_counter() - middle)
            best_parse = min(best_parse, middle - start)
        times.append(best * 1000)
        parse_total += best_parse
        size += len(source)
        definitions += len(symbols.definitions)
    total = sum(times) / 1000
    return {"files": len(paths), "kb": size / 1000, "definitions": definitions,
            "p50_ms": percentile(times, 50), "p95_ms": percentile(times, 95),
            "max_ms": max(times), "kb_per_s": size / 1000 / total if total else 0.0,
            "of_parse": total / parse_total if parse_total else 0.0}


def main() -> None:
    """Run the benchmark and print one line per language."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="*", type=Path)
    parser.add_argument("--limit", type=int, default=400, help="files per language")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    found = collect([stdlib, *args.folders], args.limit)
    print(f"{'language':<16}{'files':>6}{'KB':>8}{'defs':>7}{'p50 ms':>9}{'p95 ms':>9}"
          f"{'max ms':>9}{'KB/s':>8}{'÷parse':>8}")
    for language_id in sorted(found):
        figures = measure(language_id, found[language_id], args.repeat)
        print(f"{language_id:<16}{figures['files']:>6.0f}{figures['kb']:>8.0f}"
              f"{figures['definitions']:>7.0f}{figures['p50_ms']:>9.2f}{figures['p95_ms']:>9.2f}"
              f"{figures['max_ms']:>9.1f}{figures['kb_per_s']:>8.0f}{figures['of_parse']:>8.2f}")


if __name__ == "__main__":
    main()
