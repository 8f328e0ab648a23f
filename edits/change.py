"""From the text a reply gives for a file to a checked `FileChange`."""

from __future__ import annotations

import re

from lspilot.completion.syntax import errors
from lspilot.context.languages import language_id_for, parser
from lspilot.context.symbols import analyze
from lspilot.edits.fences import Fenced
from lspilot.edits.lazy import placeholder
from lspilot.edits.style import conform
from lspilot.edits.task import EditError, EditTask, FileChange

REMOVING = frozenset({
    "remove", "delete", "drop", "move", "merge", "inline", "extract", "split", "unused",
    "dead", "replace", "combine", "consolidate", "rewrite", "deduplicate", "clean",
})
"""Instruction words that ask for definitions to go away."""


def file_change(task: EditTask, path: str, new_text: str, match_stages: tuple[str, ...] = (),
                rewritten: bool = True) -> FileChange | None:
    """The change to `path` in the file's own style; None when the text is unchanged.

    Raises EditError when the text holds a lazy placeholder the file did not have, or, for
    text the model wrote out (`rewritten`), when it lost definitions the instruction did
    not name: a model asked for a whole file often writes only the part it changed.
    """
    source = task.file(path)
    original = source.text if source is not None else ""
    language_id = source.language if source is not None else language_id_for(path)
    lazy = placeholder(original, new_text, language_id)
    if lazy is not None:
        raise EditError(f"the answer for {path} leaves code out ({lazy!r}) instead of writing "
                        "it; nothing was changed")
    if rewritten and source is not None:
        lost = lost_definitions(task.instruction, language_id, original, new_text)
        if lost:
            raise EditError(f"the answer for {path} drops {', '.join(lost)}, which the "
                            "instruction does not mention (only part of the code written?); "
                            "nothing was changed")
    new_text = conform(original, new_text)
    if source is not None and new_text == original:
        return None
    return FileChange(path, new_text, created=source is None, match_stages=match_stages)


def check_complete(block: Fenced, original: str, what: str) -> None:
    """Refuse an unclosed fence unless it clearly ends where the original ends.

    A reply cut by the token limit ends inside a fence, and what it holds then is the file
    without its end. An unclosed fence is accepted only when its last non-blank line is the
    original's last non-blank line (the end of the file or block is there); a new file has
    no original, so its fence must be closed.
    """
    if block.closed:
        return
    last = next((line.strip() for line in reversed(block.body.splitlines()) if line.strip()), "")
    end = next((line.strip() for line in reversed(original.splitlines()) if line.strip()), None)
    if end is None or last != end:
        raise EditError(f"the answer stops inside the code block for {what} (cut off?); "
                        "nothing was changed")


def changes_or_error(changes: list[FileChange]) -> list[FileChange]:
    """The changes, or EditError when the reply changes nothing."""
    if not changes:
        raise EditError("the answer leaves every file as it was")
    return changes


def lost_definitions(instruction: str, language_id: str, old: str, new: str) -> list[str]:
    """Definitions of `old` that `new` no longer has and the instruction does not name."""
    words = {w.lower() for w in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", instruction)}
    if words & REMOVING:
        return []
    before = [d.name for d in analyze(language_id, old).definitions]
    ts_parser = parser(language_id)
    # Broken code hides its definitions from the parser: `validate` names the syntax error.
    if not before or ts_parser is None or errors(ts_parser, new) != (0, 0):
        return []
    after = {d.name for d in analyze(language_id, new).definitions}
    return list(dict.fromkeys(name for name in before
                              if name not in after and name.lower() not in words))
