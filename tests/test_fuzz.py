"""The fuzz suite's fast profile: seeded random editor traffic, well-formed and hostile,
over stdio against the real server and a tiny real GGUF, in each position encoding.

The machine and its invariants are in `tests/fuzz_machine.py`; `bench/fuzz.py` runs the
long profile (10,000 messages and more) and prints its figures. A failure is reported with
the steps that led to it, unshrunk: each shrinking attempt would start a server.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from tests.fuzz_machine import ENCODINGS, Report, ServerMachine

EXAMPLES, STEPS = 3, 30
"""Server runs per encoding, and steps per run: about 500 messages over the three
encodings, in under a minute. Hypothesis's first run draws everything at its simplest; the
other two at random (from a fixed seed)."""


# About 170 messages over stdio per encoding, seconds each: in `make test`, not test-fast.
@pytest.mark.slow
@pytest.mark.parametrize("encoding", ENCODINGS)
def test_random_traffic_keeps_every_invariant(tiny_model: Path, encoding: str) -> None:
    report = Report()
    machine = type(f"Fuzz_{encoding.replace('-', '')}", (ServerMachine,),
                   {"model": tiny_model, "report": report, "encodings": (encoding,)})
    run_state_machine_as_test(machine, settings=settings(
        max_examples=EXAMPLES, stateful_step_count=STEPS, derandomize=True, database=None,
        deadline=None, print_blob=False, phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck)))
    assert report.failures == []
    assert report.sent >= 100 and len(report.rss_growth_kib) == EXAMPLES, report
