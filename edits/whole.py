"""The `whole` format: the model writes out every file it changes, whole.

The one format small models answer well-formed (Aider's benchmark: every small
Qwen2.5-Coder result is "whole"), at the price of generating unchanged lines too.
"""

from __future__ import annotations

from collections.abc import Collection
from difflib import SequenceMatcher

from lspilot.edits.change import changes_or_error, check_complete, file_change
from lspilot.edits.fences import Fenced, fenced_blocks
from lspilot.edits.paths import comment_path, find_path, info_path
from lspilot.edits.prompt import files_part, user_message
from lspilot.edits.task import EditError, EditTask, FileChange
from lspilot.models.backends.base import Message

SYSTEM = """\
You are an expert programmer who edits code as instructed.
Reply with the complete new content of each file you change: the file's path on its own line, \
then the whole file in a fenced code block.
Write every line; never write "..." or "rest of the code unchanged".
Leave out files you do not change. No explanations.

Example reply:
src/greet.py
```python
def greet(name):
    return f"Hello, {name}!"
```
"""

NON_CODE_TAGS = frozenset({"bash", "sh", "shell", "console", "text", "txt", "output", "diff",
                           "json", "plaintext", "log"})
"""Fence tags of blocks that show commands or output, not a file (when no path names one)."""
SIMILAR = 0.5
"""Least similarity of an unnamed block to a task file for the block to be taken as it."""


class WholeFormat:
    """Whole files in, whole files out."""

    name = "whole"

    def messages(self, task: EditTask) -> list[Message]:
        """The system prompt and the files with the instruction."""
        return [Message("system", SYSTEM),
                Message("user", user_message(task, files_part(task.files)))]

    def parse(self, reply: str, task: EditTask) -> list[FileChange]:
        """One change per file the reply rewrites (the last block wins for a file named twice)."""
        texts = rewritten_files(reply, task)
        changes = []
        for path, text in texts.items():
            change = file_change(task, path, text)
            if change is not None:
                changes.append(change)
        return changes_or_error(changes)


def rewritten_files(reply: str, task: EditTask) -> dict[str, str]:
    """Path -> new text for each fenced block of the reply that holds a file."""
    if not reply.strip():
        raise EditError("the model's answer is empty")
    blocks = fenced_blocks(reply)
    if not blocks:
        raise EditError("the answer has no code block, so it changes no file: "
                        f"{reply.strip()[:80]!r}")
    texts: dict[str, str] = {}
    unnamed: list[Fenced] = []
    for block in blocks:
        path, body = named(block, task)
        if path is None:
            unnamed.append(block)
            continue
        source = task.file(path)
        if source is None and echoed(path, body, task):
            continue
        check_complete(block, source.text if source is not None else "", path)
        texts[path] = body
    for block in unnamed:
        path = resemblance(block, task, taken=texts.keys())
        source = task.file(path) if path is not None else None
        if path is not None and source is not None:
            check_complete(block, source.text, path)
            texts[path] = block.body
    if not texts:
        raise EditError("no code block of the answer names a file of this edit")
    return texts


EXAMPLE_PATH = "src/greet.py"
"""The file the formats' example replies write (small models copy the example)."""


def echoed(path: str, body: str, task: EditTask) -> bool:
    """Whether a block for a new file only repeats read-only context or the system prompt's
    example (small models echo what they read: the 0.5B wrote src/greet.py in 4 of 12 tasks)."""
    return any(s.path == path and s.text.strip() == body.strip() for s in task.context) or \
        copies_example(path, task)


def copies_example(path: str, task: EditTask) -> bool:
    """Whether a new file is the example's, which the instruction does not ask for."""
    return path == EXAMPLE_PATH and task.file(path) is None and path not in task.instruction


def named(block: Fenced, task: EditTask) -> tuple[str | None, str]:
    """The file a block names (after the fence, above it, or in a comment on its first line),
    and its body without that comment."""
    path = info_path(block.info, task) or find_path(block.before[:2], task)
    first, _, rest = block.body.partition("\n")
    in_comment = comment_path(first, task)
    if in_comment is not None and (path is None or path == in_comment):
        source = task.file(in_comment)
        # The file itself may start with a comment that names it: then it is code.
        if source is None or source.text.partition("\n")[0].rstrip("\r") != first:
            return in_comment, rest
    return path, block.body


def resemblance(block: Fenced, task: EditTask, taken: Collection[str]) -> str | None:
    """The task file an unnamed block most resembles, when one clearly does."""
    tag = block.info.split()[0].lower() if block.info.split() else ""
    if tag in NON_CODE_TAGS:
        return None
    candidates = [f for f in task.files if f.path not in taken]
    if len(task.files) == 1 and candidates:
        return candidates[0].path
    scores = sorted(((SequenceMatcher(None, f.text.splitlines(), block.body.splitlines(),
                                      autojunk=False).ratio(), f.path) for f in candidates),
                    reverse=True)
    if scores and scores[0][0] >= SIMILAR and (len(scores) == 1 or
                                              scores[0][0] - scores[1][0] >= 0.1):
        return scores[0][1]
    return None
