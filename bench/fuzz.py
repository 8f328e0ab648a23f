"""The fuzz suite's long profile: random editor traffic, well-formed and hostile, over
stdio against the real `lspilot serve` with a tiny real GGUF, until enough messages went.

The traffic and its invariants are `tests/fuzz_machine.py`'s (the test suite runs a short
seeded profile of it); here broken invariants are counted, not raised, and the run goes on.
Each run of the machine is one server process in one position encoding (utf-8, utf-16,
utf-32 in turn, four runs per Hypothesis seed).

    .venv/bin/python -m bench.fuzz [--messages 10000] [--steps 80] [--seed 1] [--json OUT]

Prints the messages sent, requests, process deaths, hangs (no answer in 60 s), internal
errors, documents that differed from the client's, popups about the server's own failures,
response time p50/p95/max, and resident memory growth per server run. Exits 1 when any
invariant broke.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from hypothesis import HealthCheck, Phase, seed, settings
from hypothesis.stateful import get_state_machine_test

from tests.fuzz_machine import ENCODINGS, Report, ServerMachine
from tests.tiny_gguf import build


def run(messages: int, steps: int, first_seed: int, model: Path) -> tuple[Report, int, float]:
    """Runs of the machine until `messages` were sent: the report, runs, seconds."""
    report = Report()
    started = time.perf_counter()
    runs = 0
    while report.sent < messages:
        encoding = ENCODINGS[runs // 4 % len(ENCODINGS)]
        machine = type("Fuzz", (ServerMachine,), {
            "model": model, "report": report, "strict": False, "encodings": (encoding,)})
        # Hypothesis tries the simplest example first (every draw at its minimum): a few
        # examples per seed, so that most runs draw their traffic at random.
        test = get_state_machine_test(machine, settings=settings(
            max_examples=4, stateful_step_count=steps, deadline=None, database=None,
            print_blob=False, phases=[Phase.generate], suppress_health_check=list(HealthCheck)))
        seed(first_seed + runs)(test)()
        runs += 4
        print(f"runs {runs} ({encoding}): {report.sent} messages, "
              f"{len(report.failures)} broken invariants", file=sys.stderr, flush=True)
    return report, runs, time.perf_counter() - started


def main() -> int:
    """Run the long profile and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--steps", type=int, default=80, help="steps per server run")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        model = build(Path(folder) / "tiny-qwen.gguf")
        report, runs, seconds = run(args.messages, args.steps, args.seed, model)
    growth = [kib / 1024 for kib in report.rss_growth_kib]
    figures = {
        "messages": report.sent, "requests": report.requests, "server_runs": runs,
        "seconds": round(seconds, 1), "crashes": report.crashes, "hangs": report.hangs,
        "internal_errors": report.internal_errors, "document_mismatches": report.mismatches,
        "server_popups": report.server_popups,
        "response_ms": {"p50": round(report.percentile(0.50), 1),
                        "p95": round(report.percentile(0.95), 1),
                        "max": round(max(report.latencies_ms, default=0.0), 1)},
        "rss_growth_mb": {"median": round(statistics.median(growth), 1) if growth else None,
                          "max": round(max(growth), 1) if growth else None},
        "broken_invariants": len(report.failures),
    }
    print(json.dumps(figures, indent=2))
    for failure in report.failures[:20]:
        print("broken:", failure[:300])
    if args.json is not None:
        args.json.write_text(json.dumps({**figures, "failures": report.failures,
                                         "rss_growth_kib": report.rss_growth_kib}, indent=2))
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
