"""HumanEval infilling pass@1 through lspilot's own completion pipeline, next to the bare
template (the same FIM prompt, generation until the model stops, no post-processing).

Data: ../shared/data/human-eval-infilling (OpenAI's HumanEval-Infilling, MIT). Each hole is
filled, then `prompt + middle + suffix` runs with the problem's tests in a subprocess with
a timeout, in a temporary directory. Problems are taken evenly across each file.

    .venv/bin/python -m bench.humaneval_infill [--limit 80] [--model NAME|PATH] [--json OUT]
        [--suffix-shares 0.25,0.06] [--no-bare] [--sets single-line,multi-line]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gzip
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from lspilot.completion.pipeline import CompletionRequest, complete
from lspilot.models.backends.base import EmbeddedConfig, GenerationParams, GenerationStats
from lspilot.models.backends.llama_cpp import LlamaCppBackend
from lspilot.models.store import ModelStore
from lspilot.settings import Settings
from lspilot.templates import render

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "human-eval-infilling"
SETS = {"single-line": "HumanEval-SingleLineInfilling.jsonl.gz",
        "multi-line": "HumanEval-MultiLineInfilling.jsonl.gz"}
MAX_TOKENS = 128


def problems(name: str, limit: int) -> list[dict[str, Any]]:
    """`limit` problems spread evenly over the file."""
    with gzip.open(DATA / SETS[name], "rt") as f:
        rows = [json.loads(line) for line in f]
    step = max(1, len(rows) // limit)
    return rows[::step][:limit]


def passes(problem: dict[str, Any], middle: str, timeout: float = 10.0) -> bool:
    """Run the filled program with its tests in a subprocess."""
    program = (problem["prompt"] + middle + problem["suffix"] + "\n" + problem["test"]
               + f"\ncheck({problem['entry_point']})\n")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "program.py"
        path.write_text(program)
        try:
            result = subprocess.run([sys.executable, str(path)], cwd=folder, timeout=timeout,
                                    capture_output=True)
        except subprocess.TimeoutExpired:
            return False
    return result.returncode == 0


async def bare(backend: LlamaCppBackend, problem: dict[str, Any]) -> str:
    """The raw middle for the plain FIM prompt, until the model stops."""
    prompt = render(backend.template, problem["prompt"], problem["suffix"])
    pieces = [p async for p in backend.stream(prompt, GenerationParams(MAX_TOKENS),
                                              GenerationStats())]
    return "".join(pieces)


async def run(model: str, limit: int, shares: list[float], with_bare: bool,
              sets: list[str]) -> dict[str, Any]:
    """pass@1 per set for the pipeline at each suffix share, and for the bare template."""
    defaults = Settings()
    path = ModelStore.from_env().resolve(model)
    backend = LlamaCppBackend.load(EmbeddedConfig(model, path, defaults.llama_cpp))
    runs = {_label(share): dataclasses.replace(defaults.completion, max_tokens=MAX_TOKENS,
                                               max_lines=24, suffix_share=share)
            for share in shares}
    report: dict[str, Any] = {}
    for name in sets:
        counts = dict.fromkeys([*runs, *(["bare"] if with_bare else [])], 0)
        seconds = dict.fromkeys(counts, 0.0)
        rows = problems(name, limit)
        for index, problem in enumerate(rows):
            text = problem["prompt"] + problem["suffix"]
            request = CompletionRequest("file:///he.py", text, len(problem["prompt"]), "python")
            for label, settings in runs.items():
                started = time.perf_counter()
                ours = (await complete(request, backend, settings)).text
                seconds[label] += time.perf_counter() - started
                counts[label] += passes(problem, ours)
            if with_bare:
                started = time.perf_counter()
                plain = await bare(backend, problem)
                seconds["bare"] += time.perf_counter() - started
                counts["bare"] += passes(problem, plain)
            print(f"{name} {index + 1}/{len(rows)}: "
                  + ", ".join(f"{label} {count}" for label, count in counts.items()), flush=True)
        report[name] = {"problems": len(rows)}
        for label in counts:
            report[name][f"pass@1 {label}"] = counts[label] / len(rows)
            report[name][f"seconds {label}"] = round(seconds[label], 1)
    await backend.aclose()
    return report


def _label(share: float) -> str:
    return "lspilot" if share == Settings().completion.suffix_share else \
        f"lspilot suffixShare={share}"


def main() -> None:
    """Run both sets and print pass@1 side by side."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=Settings().models.autocomplete)
    parser.add_argument("--limit", type=int, default=80, help="problems per set")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--suffix-shares", default=str(Settings().completion.suffix_share),
                        help="comma-separated completion.suffixShare values to compare")
    parser.add_argument("--no-bare", action="store_true", help="skip the bare-template run")
    parser.add_argument("--sets", default=",".join(SETS), help="comma-separated: "
                        + ", ".join(SETS))
    args = parser.parse_args()
    shares = [float(v) for v in args.suffix_shares.split(",")]
    report = asyncio.run(run(args.model, args.limit, shares, not args.no_bare,
                             args.sets.split(",")))
    for name, figures in report.items():
        print(f"\n{name}: " + ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
                                        for k, v in figures.items()))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
