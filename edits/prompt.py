"""The parts every format's user message shares: read-only context, files, the instruction."""

from __future__ import annotations

from lspilot.context.languages import language_id_for
from lspilot.context.snippet import Snippet
from lspilot.edits.fences import MARKDOWN_TAGS, fence
from lspilot.edits.task import EditTask, SourceFile


def tag(language_id: str) -> str:
    """The fence's language tag for an LSP language id ("" when unknown)."""
    return MARKDOWN_TAGS.get(language_id, "")


def listing(path: str, text: str, language_id: str, heading: str = "") -> str:
    """A file or a piece of one as the model sees it: its name, then its text fenced."""
    # The model answers in LF; showing it LF keeps SEARCH text and the answer alike.
    body = text.replace("\r\n", "\n")
    return f"{heading or path}\n{fence(body, tag(language_id))}"


def line_span(start: int, end: int) -> str:
    """`line 5` or `lines 5-7`, 1-based, for 0-based inclusive line numbers."""
    return f"line {start + 1}" if start == end else f"lines {start + 1}-{end + 1}"


def context_part(snippets: tuple[Snippet, ...]) -> str:
    """Read-only code, each piece under its path and lines ("" when there is none)."""
    if not snippets:
        return ""
    pieces = []
    for snippet in snippets:
        end = snippet.start_line + snippet.text.rstrip("\n").count("\n")
        heading = f"{snippet.path} ({line_span(snippet.start_line, end)})"
        pieces.append(listing(snippet.path, snippet.text, language_id_for(snippet.path), heading))
    return "Read-only code, for reference:\n\n" + "\n".join(pieces) + "\n"


def files_part(files: tuple[SourceFile, ...]) -> str:
    """The files the model may change, whole."""
    return "Files you may change:\n\n" + "\n".join(
        listing(f.path, f.text, f.language) for f in files) + "\n"


def user_message(task: EditTask, code: str) -> str:
    """Context, then the code to change, then the instruction last, where small models look."""
    return context_part(task.context) + code + f"Instruction: {task.instruction.strip()}\n"
