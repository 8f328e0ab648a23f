"""The queue of tasks: what to do next, and what is done."""

from __future__ import annotations

from dataclasses import dataclass, field

from todo.model import Task, completed


class QueueError(LookupError):
    """No such task, or nothing left to do."""


@dataclass
class TaskQueue:
    tasks: dict[int, Task] = field(default_factory=dict)

    def add(self, task: Task) -> Task:
        if task.id in self.tasks:
            raise QueueError(f"task #{task.id} is already queued")
        self.tasks[task.id] = task
        return task

    def pending(self) -> list[Task]:
        """Tasks not done yet, in the order they will be worked on."""
        return sorted((t for t in self.tasks.values() if not t.done),
                      key=lambda t: (-t.priority, t.created))

    def next(self) -> Task:
        """The task to work on now: the pending one of the highest priority, oldest first."""
        pending = self.pending()
        if not pending:
            raise QueueError("nothing to do")
        return pending[0]

    def complete(self, task_id: int) -> Task:
        try:
            task = completed(self.tasks[task_id])
        except KeyError:
            raise QueueError(f"no task #{task_id}") from None
        self.tasks[task_id] = task
        return task

    def tagged(self, tag: str) -> list[Task]:
        """Pending tasks with a tag, in work order."""
        return [t for t in self.pending() if tag in t.tags]

    def progress(self) -> tuple[int, int]:
        """(done, total)."""
        return sum(t.done for t in self.tasks.values()), len(self.tasks)
