"""Command-line front end: `add TITLE [--tag T]... [--priority N]`, `next`, `done ID`, `list`."""

from __future__ import annotations

from todo.model import describe, new_task
from todo.queue import QueueError, TaskQueue


def add(queue: TaskQueue, title: str, tags: tuple[str, ...] = (), priority: int = 0) -> str:
    task = queue.add(new_task(title, tags, priority))
    return f"added {describe(task)}"


def next_task(queue: TaskQueue) -> str:
    try:
        return describe(queue.next())
    except QueueError as exc:
        return str(exc)


def listing(queue: TaskQueue) -> str:
    done, total = queue.progress()
    lines = [describe(task) for task in queue.pending()]
    return "\n".join([*lines, f"{done}/{total} done"])


def run(queue: TaskQueue, args: list[str]) -> str:
    """Run one command line against the queue and return what to print."""
    if not args:
        return "usage: add TITLE [--tag T]... [--priority N] | next | done ID | list"
    command, rest = args[0], args[1:]
    if command == "add":
        tags: list[str] = []
        words: list[str] = []
        priority = 0
        while rest:
            word = rest.pop(0)
            if word == "--tag" and rest:
                tags.append(rest.pop(0))
            elif word == "--priority" and rest:
                priority = int(rest.pop(0))
            else:
                words.append(word)
        return add(queue, " ".join(words), tuple(tags), priority)
    if command == "next":
        return next_task(queue)
    if command == "done" and rest and rest[0].isdigit():
        return f"done {describe(queue.complete(int(rest[0])))}"
    if command == "list":
        return listing(queue)
    return f"unknown command: {' '.join(args)}"
