"""Context assembly time per request on a 2,000-file workspace: everything but the model.

The workspace is `bench/workspace.py`'s (2,000 real `.py` files of Python's standard library
and installed packages, plus ignored, secret, binary, huge and generated files), made a git
repository with a few uncommitted edits. Twelve of its files are open as documents (with
their incremental syntax trees). For each of `--cursors` cursors, spread over the open files
with a fixed seed, the pipeline's own steps run: the file's window is fitted, then
`Workspace.gather` runs every source on its worker thread (scope, definitions through the
imports, usages, git diff, similar open files, recent edits) and packs the result with the
model's own tokenizer (the real Qwen2.5-Coder 0.5B vocabulary). Every cursor is on a new
line, so the per-line reuse never answers; the same cursor again (typing on one line) is
timed separately.

Also reported: the index's first build (start to ready) on this workspace, and one changed
file end to end (write, watchdog, re-analyze: the index generation moves).

    .venv/bin/python -m bench.context [--files 2000] [--cursors 200] [--json OUT]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.stats import percentile
from bench.workspace import make_workspace
from lspilot.completion.cursor import cursor_at
from lspilot.context.languages import language_id_for
from lspilot.context.window import fit_window
from lspilot.context.workspace import Workspace
from lspilot.lsp.documents import Documents
from lspilot.models.backends.base import EmbeddedConfig
from lspilot.models.backends.llama_cpp import LlamaCppBackend
from lspilot.models.store import ModelStore
from lspilot.settings import Settings

OPEN_FILES = 12


def git(root: Path, *args: str) -> None:
    """Run git quietly in the workspace."""
    subprocess.run(["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com",
                    *args], cwd=root, check=True, capture_output=True)


async def run(files: int, cursors: int, model: str) -> dict[str, Any]:
    """Build the workspace, the index, then time `gather` at every cursor."""
    settings = Settings()
    path = ModelStore.from_env().resolve(model)
    backend = LlamaCppBackend.load(EmbeddedConfig(model, path, settings.llama_cpp))
    report: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as folder:
        root = make_workspace(Path(folder) / "ws", files)
        git(root, "init", "-q")
        git(root, "add", "-A")
        git(root, "commit", "-qm", "bench")
        rng = random.Random(11)
        py = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.py")
                    if ".venv" not in p.parts and "generated" not in p.parts)
        chosen = [p for p in rng.sample(py, 60) if 2_000 < (root / p).stat().st_size < 60_000]
        opened = chosen[:OPEN_FILES]
        for rel in chosen[OPEN_FILES:OPEN_FILES + 5]:  # uncommitted work elsewhere
            with (root / rel).open("a") as f:
                f.write("\n\ndef added_for_the_benchmark(value):\n    return value * 2\n")
        documents = Documents()
        for rel in opened:
            documents.open((root / rel).as_uri(), language_id_for(rel), 1,
                           (root / rel).read_text())
        workspace = Workspace(root, settings.context, documents.all)
        started = time.perf_counter()
        workspace.start()
        assert workspace.index is not None and workspace.index.wait_ready(600)
        report["index build s"] = round(time.perf_counter() - started, 2)
        report["indexed files"] = len(workspace.index.files())
        workspace.git.refresh_blocking() if workspace.git is not None else None
        budget = settings.completion.prompt_tokens - settings.context.tokens - 10
        samples: list[float] = []
        gathers: list[float] = []
        repeats: list[float] = []
        per_source: dict[str, list[float]] = {}
        found: list[int] = []
        for index in range(cursors):
            doc = documents.all()[index % len(opened)]
            lines = doc.text.split("\n")
            line = rng.randrange(len(lines))
            offset = sum(len(t) + 1 for t in lines[:line]) + len(lines[line]) // 2
            started = time.perf_counter()
            cursor = cursor_at(doc.text, offset)
            window = fit_window(cursor.prefix, cursor.suffix, budget,
                                settings.completion.suffix_share, backend.count_tokens)
            gathered = await workspace.gather(doc.uri, doc.language_id, doc.text, offset,
                                              window, settings.context.tokens,
                                              backend.count_tokens)
            samples.append((time.perf_counter() - started) * 1000)
            gathers.append(gathered.total_ms)
            started = time.perf_counter()
            await workspace.gather(doc.uri, doc.language_id, doc.text, offset, window,
                                   settings.context.tokens, backend.count_tokens)
            repeats.append((time.perf_counter() - started) * 1000)
            for name, ms in gathered.source_ms.items():
                per_source.setdefault(name, []).append(ms)
            found.append(len(gathered.snippets))
        report["cursors"] = cursors
        report["context assembly ms p50"] = round(percentile(samples, 50), 2)
        report["context assembly ms p95"] = round(percentile(samples, 95), 2)
        report["context assembly ms max"] = round(max(samples), 2)
        report["of which gather (sources and packing) ms p50"] = round(percentile(gathers, 50), 2)
        report["of which gather (sources and packing) ms p95"] = round(percentile(gathers, 95), 2)
        report["same line again ms p50"] = round(percentile(repeats, 50), 3)
        report["snippets in the prompt (mean)"] = round(sum(found) / len(found), 1)
        report["per source ms p50/p95"] = {
            name: [round(percentile(values, 50), 2), round(percentile(values, 95), 2)]
            for name, values in per_source.items()}
        report["incremental update ms p50/p95"] = _updates(root, workspace, chosen[-10:])
        workspace.stop()
    return report


def _updates(root: Path, workspace: Workspace, files: list[str]) -> list[float]:
    """Write a file, then wait until the index generation moves (watchdog to re-analyze)."""
    index = workspace.index
    assert index is not None
    times: list[float] = []
    for number, rel in enumerate(files * 2):
        before = index.generation
        started = time.perf_counter()
        with (root / rel).open("a") as f:
            f.write(f"\ndef edited_{number}():\n    pass\n")
        while index.generation == before and time.perf_counter() - started < 10:
            time.sleep(0.0005)
        times.append((time.perf_counter() - started) * 1000)
    return [round(percentile(times, 50), 1), round(percentile(times, 95), 1)]


def main() -> None:
    """Print the figures; `--json` writes them too."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--cursors", type=int, default=200)
    parser.add_argument("--model", default=Settings().models.autocomplete)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    report = asyncio.run(run(args.files, args.cursors, args.model))
    for key, value in report.items():
        print(f"{key}: {value}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
