"""From the text a reply gives for a file to a checked `FileChange`."""

from __future__ import annotations

from lspilot.context.languages import language_id_for
from lspilot.edits.fences import Fenced
from lspilot.edits.lazy import placeholder
from lspilot.edits.style import conform
from lspilot.edits.task import EditError, EditTask, FileChange


def file_change(task: EditTask, path: str, new_text: str,
                match_stages: tuple[str, ...] = ()) -> FileChange | None:
    """The change to `path` in the file's own style; None when the text is unchanged.

    Raises EditError when the text holds a lazy placeholder the file did not have.
    """
    source = task.file(path)
    original = source.text if source is not None else ""
    language_id = source.language if source is not None else language_id_for(path)
    lazy = placeholder(original, new_text, language_id)
    if lazy is not None:
        raise EditError(f"the answer for {path} leaves code out ({lazy!r}) instead of writing "
                        "it; nothing was changed")
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
