"""Queues jobs, hands them to a worker, and retries the ones that fail."""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable
from typing import Any

from jobs.models import Job, State, describe
from jobs.worker import Worker


class Scheduler:
    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self.queue: deque[Job] = deque()
        self.failed: list[Job] = []
        self._ids = itertools.count(1)

    def submit(self, name: str, action: Callable[[], Any], max_attempts: int = 2) -> Job:
        job = Job(next(self._ids), name, action, max_attempts=max_attempts)
        self.queue.append(job)
        print(f"scheduled {describe(job)}")
        return job

    def tick(self) -> bool:
        """Run the next queued job; False when the queue is empty."""
        if not self.queue:
            print("queue empty")
            return False
        job = self.queue.popleft()
        if not self.worker.run(job):
            if job.can_retry:
                print(f"retrying {describe(job)}")
                job.state = State.QUEUED
                self.queue.append(job)
            else:
                print(f"giving up on {describe(job)} after {job.attempts} attempts")
                self.failed.append(job)
        return True

    def drain(self) -> None:
        """Run until the queue is empty."""
        while self.tick():
            pass
