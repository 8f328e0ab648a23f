"""The `search-replace` format: SEARCH/REPLACE blocks per file (Aider's "diff" edit format).

Cheapest to generate, as only the changed lines and a little around them are written, but
the model must copy the SEARCH lines exactly; small models often do not, so matching falls
back to whitespace-tolerant and then fuzzy matching (`edits.match`), each stage recorded.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

from lspilot.edits.change import changes_or_error, check_complete, file_change
from lspilot.edits.fences import fenced_blocks, reply_lines
from lspilot.edits.match import find, reindent
from lspilot.edits.paths import find_path, info_path
from lspilot.edits.prompt import files_part, user_message
from lspilot.edits.task import EditError, EditTask, FileChange
from lspilot.edits.whole import copies_example, named
from lspilot.models.backends.base import Message

SYSTEM = """\
You are an expert programmer who edits code as instructed.
Write each change as a SEARCH/REPLACE block: the file's path on its own line, then a fenced \
block with <<<<<<< SEARCH, lines copied exactly from the file, =======, the new lines, and \
>>>>>>> REPLACE.
Copy enough lines to match one place only. To create a file, leave SEARCH empty.
No explanations.

Example reply:
src/greet.py
```python
<<<<<<< SEARCH
    return "Hello"
=======
    return f"Hello, {name}!"
>>>>>>> REPLACE
```
"""

_SEARCH = re.compile(r"^\s*<{5,9}\s*SEARCH\b.*$", re.IGNORECASE)
_DIVIDER = re.compile(r"^\s*={5,9}\s*$")
_REPLACE = re.compile(r"^\s*>{5,9}\s*REPLACE\b.*$", re.IGNORECASE)
_FENCE = re.compile(r"^\s*(?:`{3,}|~{3,})(.*)$")


@dataclass(frozen=True)
class Replacement:
    """One SEARCH/REPLACE block of a reply."""

    number: int
    path: str
    search: list[str]
    replace: list[str]


class SearchReplaceFormat:
    """Whole files in, SEARCH/REPLACE blocks out."""

    name = "search-replace"

    def messages(self, task: EditTask) -> list[Message]:
        """The system prompt and the files with the instruction."""
        return [Message("system", SYSTEM),
                Message("user", user_message(task, files_part(task.files)))]

    def parse(self, reply: str, task: EditTask) -> list[FileChange]:
        """Each file with its blocks applied in order; raises EditError naming a bad block.

        Blocks whose SEARCH and REPLACE parts are the same change nothing and are skipped
        (small models echo the read-only context that way). A fenced task file without
        markers is taken as the whole new file, as in the `whole` format: small models fall
        back to writing files out; its stage is "whole".
        """
        blocks = [b for b in replacements(reply, task) if b.search != b.replace]
        by_path: dict[str, list[Replacement]] = {}
        for block in blocks:
            by_path.setdefault(block.path, []).append(block)
        changes = []
        for path, text in whole_files(reply, task, skip=by_path.keys()).items():
            change = file_change(task, path, text, ("whole",))
            if change is not None:
                changes.append(change)
        if not by_path and not changes:
            raise EditError("the answer has no SEARCH/REPLACE block, so it changes no file: "
                            f"{reply.strip()[:80]!r}")
        for path, group in by_path.items():
            source = task.file(path)
            label = f"SEARCH/REPLACE block {{}} ({path})"
            if source is None and copies_example(path, task):
                continue  # the system prompt's example, copied
            if source is None:
                searching = next((b for b in group if b.search), None)
                if searching is not None:
                    raise EditError(f"{label.format(searching.number)}: {path} is not one of "
                                    "the files of this edit, so there is nothing to search in it")
                if len(group) > 1:
                    raise EditError(f"{label.format(group[1].number)}: creates {path} again")
                lines = group[0].replace
                stages: list[str] = []
            else:
                lines = source.text.replace("\r\n", "\n").split("\n")
                stages = []
                for block in group:
                    if not block.search:
                        raise EditError(f"{label.format(block.number)}: the SEARCH part is empty"
                                        f" but {path} exists; SEARCH for the lines the new "
                                        "code goes after")
                    match = find(lines, block.search, label.format(block.number))
                    replace = block.replace if match.stage == "exact" else \
                        reindent(block.replace, block.search, lines[match.start:match.end])
                    lines = lines[:match.start] + replace + lines[match.end:]
                    stages.append(match.stage)
            text = "\n".join(lines) + ("\n" if source is None and lines else "")
            # Definitions a block removes, it removes on purpose: SEARCH names them.
            change = file_change(task, path, text, tuple(stages), rewritten=False)
            if change is not None:
                changes.append(change)
        return changes_or_error(changes)


def replacements(reply: str, task: EditTask) -> list[Replacement]:
    """The reply's SEARCH/REPLACE blocks, each with the file it names; fences are ignored."""
    if not reply.strip():
        raise EditError("the model's answer is empty")
    lines = reply_lines(reply)
    blocks: list[Replacement] = []
    since = 0
    path: str | None = None
    index = 0
    while index < len(lines):
        if not _SEARCH.match(lines[index]):
            index += 1
            continue
        number = len(blocks) + 1
        path = block_path(lines[since:index], task) or path
        divider = next((i for i in range(index + 1, len(lines)) if _DIVIDER.match(lines[i])),
                       None)
        end = next((i for i in range(divider + 1, len(lines)) if _REPLACE.match(lines[i])),
                   None) if divider is not None else None
        if divider is None or end is None:
            missing = "=======" if divider is None else ">>>>>>> REPLACE"
            raise EditError(f"SEARCH/REPLACE block {number}{f' ({path})' if path else ''} has "
                            f"no {missing} line (cut off?); nothing was changed")
        search = lines[index + 1:divider]
        path = path or _holding(search, task)
        if path is None:
            raise EditError(f"SEARCH/REPLACE block {number} names no file, and its SEARCH text "
                            "is not in exactly one of the files")
        blocks.append(Replacement(number, path, search, lines[divider + 1:end]))
        index = since = end + 1
    return blocks


def whole_files(reply: str, task: EditTask, skip: Collection[str]) -> dict[str, str]:
    """Task files the reply writes out whole in a fence without SEARCH/REPLACE markers."""
    texts = {}
    for block in fenced_blocks(reply):
        if any(_SEARCH.match(line) or _REPLACE.match(line) for line in block.body.split("\n")):
            continue
        path, body = named(block, task)
        source = task.file(path) if path is not None else None
        if path is not None and source is not None and path not in skip:
            check_complete(block, source.text, path)
            texts[path] = body
    return texts


def _holding(search: list[str], task: EditTask) -> str | None:
    """The one task file that holds the SEARCH lines (whitespace aside), for a block that
    names no file; any file for an empty SEARCH when the task has only one."""
    if len(task.files) == 1:
        return task.files[0].path
    wanted = "\n".join(" ".join(line.split()) for line in search if line.strip())
    if not wanted:
        return None
    holding = [f.path for f in task.files if wanted in "\n".join(
        " ".join(line.split()) for line in f.text.splitlines() if line.strip())]
    return holding[0] if len(holding) == 1 else None


def block_path(lines: list[str], task: EditTask) -> str | None:
    """The file named by the lines before a block, nearest first: a path line or a fence's."""
    for line in reversed(lines):
        if not line.strip():
            continue
        fence = _FENCE.match(line)
        found = info_path(fence.group(1), task) if fence else find_path([line], task)
        if found is not None:
            return found
    return None
