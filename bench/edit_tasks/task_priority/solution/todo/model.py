"""Tasks of the to-do list."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace

_sequence = itertools.count(1)


@dataclass(frozen=True)
class Task:
    """One thing to do. `created` orders tasks by the time they were added."""

    id: int
    title: str
    created: int
    done: bool = False
    tags: tuple[str, ...] = field(default=())
    priority: int = 0


def new_task(title: str, tags: tuple[str, ...] = (), priority: int = 0) -> Task:
    """A pending task, created now."""
    title = " ".join(title.split())
    if not title:
        raise ValueError("a task needs a title")
    number = next(_sequence)
    return Task(id=number, title=title, created=number, tags=tuple(sorted(set(tags))),
                priority=priority)


def completed(task: Task) -> Task:
    """The same task, done."""
    return replace(task, done=True)


def describe(task: Task) -> str:
    """One line for listings: `[x] #3 Title (tag, tag)`."""
    mark = "x" if task.done else " "
    tags = f" ({', '.join(task.tags)})" if task.tags else ""
    return f"[{mark}] #{task.id} {task.title}{tags}"
