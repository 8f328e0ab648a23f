"""The worker and the scheduler log (same texts, right levels) and print nothing."""

import contextlib
import io
import logging
import sys

sys.path.insert(0, sys.argv[1])

from jobs.scheduler import Scheduler
from jobs.worker import Worker


class Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.seen = []

    def emit(self, record):
        self.seen.append((record.name, record.levelname, record.getMessage()))


records = Records()
logging.getLogger().addHandler(records)
logging.getLogger().setLevel(logging.DEBUG)

calls = {"flaky": 0}


def flaky():
    calls["flaky"] += 1
    if calls["flaky"] == 1:
        raise RuntimeError("disk full")
    return "ok"


def broken():
    raise ValueError("bad input")


stdout = io.StringIO()
with contextlib.redirect_stdout(stdout):
    scheduler = Scheduler(Worker("w1"))
    scheduler.submit("resize", lambda: 42)
    scheduler.submit("upload", flaky)
    scheduler.submit("parse", broken, max_attempts=1)
    scheduler.drain()
    Worker("w2").run_all([])

assert stdout.getvalue() == "", f"printed: {stdout.getvalue()!r}"
S, W = "jobs.scheduler", "jobs.worker"
assert records.seen == [
    (S, "INFO", "scheduled job 1 (resize)"),
    (S, "INFO", "scheduled job 2 (upload)"),
    (S, "INFO", "scheduled job 3 (parse)"),
    (W, "INFO", "w1: starting job 1 (resize), attempt 1"),
    (W, "INFO", "w1: job 1 (resize) done"),
    (W, "INFO", "w1: starting job 2 (upload), attempt 1"),
    (W, "ERROR", "w1: job 2 (upload) failed: disk full"),
    (S, "INFO", "retrying job 2 (upload)"),
    (W, "INFO", "w1: starting job 3 (parse), attempt 1"),
    (W, "ERROR", "w1: job 3 (parse) failed: bad input"),
    (S, "ERROR", "giving up on job 3 (parse) after 1 attempts"),
    (W, "INFO", "w1: starting job 2 (upload), attempt 2"),
    (W, "INFO", "w1: job 2 (upload) done"),
    (S, "INFO", "queue empty"),
    (W, "INFO", "w2: nothing to run"),
], records.seen
assert [job.id for job in scheduler.failed] == [3] and scheduler.worker.summary() == (
    "w1 finished 2 job(s)")
