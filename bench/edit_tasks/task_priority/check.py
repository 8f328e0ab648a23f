"""Tasks have a priority; the queue works on the highest first; the CLI sets it."""

import dataclasses
import sys

sys.path.insert(0, sys.argv[1])

from todo import cli, model
from todo.queue import TaskQueue

fields = {f.name: f for f in dataclasses.fields(model.Task)}
assert "priority" in fields and fields["priority"].default == 0
assert model.new_task("x").priority == 0 and model.new_task("y", priority=3).priority == 3

queue = TaskQueue()
assert cli.run(queue, ["add", "Water", "plants"]).startswith("added")
cli.run(queue, ["add", "File", "taxes", "--priority", "2", "--tag", "home"])
cli.run(queue, ["add", "Call", "mum", "--priority", "1"])
cli.run(queue, ["add", "Renew", "passport", "--tag", "admin", "--priority", "2"])
cli.add(queue, "Buy milk")
assert [t.title for t in queue.pending()] == [
    "File taxes", "Renew passport", "Call mum", "Water plants", "Buy milk"]
assert queue.next().title == "File taxes"
assert cli.next_task(queue).endswith("File taxes (home)")
cli.run(queue, ["done", str(queue.next().id)])
assert queue.next().title == "Renew passport" and queue.progress() == (1, 5)
cli.add(queue, "Fix roof", priority=5)
assert cli.next_task(queue).endswith("Fix roof")
assert cli.listing(queue).splitlines()[-1] == "1/6 done"
