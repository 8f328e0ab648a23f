"""Runs one job at a time and records how it went."""

from __future__ import annotations

import logging

from jobs.models import Job, State, describe

log = logging.getLogger(__name__)


class Worker:
    def __init__(self, name: str = "worker-1") -> None:
        self.name = name
        self.finished: list[Job] = []

    def run(self, job: Job) -> bool:
        """Run the job once; True when it succeeded."""
        job.attempts += 1
        job.state = State.RUNNING
        log.info(f"{self.name}: starting {describe(job)}, attempt {job.attempts}")
        try:
            job.result = job.action()
        except Exception as exc:  # a failing job must not take the worker down
            job.state = State.FAILED
            job.errors.append(str(exc))
            log.error(f"{self.name}: {describe(job)} failed: {exc}")
            return False
        job.state = State.DONE
        self.finished.append(job)
        log.info(f"{self.name}: {describe(job)} done")
        return True

    def run_all(self, jobs: list[Job]) -> int:
        """Run jobs in order; returns how many succeeded."""
        succeeded = 0
        for job in jobs:
            succeeded += self.run(job)
        if not jobs:
            log.info(f"{self.name}: nothing to run")
        return succeeded

    def summary(self) -> str:
        return f"{self.name} finished {len(self.finished)} job(s)"
