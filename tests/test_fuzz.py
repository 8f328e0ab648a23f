"""The fuzz suite's fast profile: seeded random editor traffic, well-formed and hostile,
over stdio against the real server and a tiny real GGUF, in each position encoding.

The machine and its invariants are in `tests/fuzz_machine.py`; `bench/fuzz.py` runs the
long profile (10,000 messages and more) and prints its figures.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from tests.fuzz_machine import ENCODINGS, Report, ServerMachine

STEPS = 50
EXAMPLES = 4
"""Steps per encoding: about 500 messages over the three runs."""


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_random_traffic_keeps_every_invariant(tiny_model: Path, encoding: str) -> None:
    report = Report()
    machine = type(f"Fuzz_{encoding.replace('-', '')}", (ServerMachine,),
                   {"model": tiny_model, "report": report, "encodings": (encoding,)})
    run_state_machine_as_test(machine, settings=settings(
        max_examples=EXAMPLES, stateful_step_count=STEPS, derandomize=True, database=None,
        deadline=None, print_blob=False,
        suppress_health_check=list(HealthCheck)))
    assert report.failures == []
    print(report.sent, report.requests, len(report.rss_growth_kib))
    assert report.sent >= 100, report.sent  # the run did what it says
