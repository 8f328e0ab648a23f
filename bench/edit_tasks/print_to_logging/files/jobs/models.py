"""Jobs and their states."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class State(enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


@dataclass
class Job:
    id: int
    name: str
    action: Callable[[], Any]
    attempts: int = 0
    max_attempts: int = 2
    state: State = State.QUEUED
    result: Any = None
    errors: list[str] = field(default_factory=list)

    @property
    def can_retry(self) -> bool:
        return self.state is State.FAILED and self.attempts < self.max_attempts


def describe(job: Job) -> str:
    return f"job {job.id} ({job.name})"
