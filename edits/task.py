"""What an edit is asked to do, what it changes, and the one interface every edit format offers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from lspilot.context.languages import language_id_for
from lspilot.context.snippet import Snippet
from lspilot.models.backends.base import Message


class EditError(Exception):
    """The edit cannot be made as answered; the message is for the user; nothing is applied."""


@dataclass(frozen=True)
class SourceFile:
    """A file the model may change, with the text the edit is computed against."""

    path: str
    """Workspace-relative, `/`-separated."""
    text: str
    version: int | None
    """The open document's version; None when read from disk."""
    language_id: str = ""

    @property
    def language(self) -> str:
        """The LSP language id, from the file name when the editor gave none."""
        return self.language_id or language_id_for(self.path)


@dataclass(frozen=True)
class Selection:
    """A range the user selected (or, when empty, the cursor) in one of the task's files."""

    path: str
    start: int
    """Code-point offset into that file's text."""
    end: int


@dataclass(frozen=True)
class EditTask:
    """An instruction and the code it applies to."""

    instruction: str
    files: tuple[SourceFile, ...]
    """What the model may change, in prompt order."""
    selection: Selection | None = None
    context: tuple[Snippet, ...] = ()
    """Read-only code (definitions, call sites)."""
    omitted: tuple[str, ...] = ()
    """What was left out for the budget, for the report."""
    allow_syntax_errors: bool = False
    """The user accepts a change that leaves a file that parsed with syntax errors."""

    def file(self, path: str) -> SourceFile | None:
        """The task's file at `path`, or None."""
        return next((f for f in self.files if f.path == path), None)


@dataclass(frozen=True)
class FileChange:
    """The whole new content of one file."""

    path: str
    new_text: str
    created: bool = False
    match_stages: tuple[str, ...] = ()
    """search-replace: how each block was found, in order: "exact", "whitespace" or "fuzzy";
    ("whole",) for a file the reply wrote out whole instead."""
    restored: tuple[str, ...] = ()
    """Names whose imports the answer left out and the edit put back (edits/imports.py)."""


class EditFormat(Protocol):
    """One way to ask a model for an edit and to read its answer."""

    @property
    def name(self) -> str:
        """`whole`, `block` or `search-replace`."""
        ...

    def messages(self, task: EditTask) -> list[Message]:
        """The chat prompt: a system message and a user message."""
        ...

    def parse(self, reply: str, task: EditTask) -> list[FileChange]:
        """The changes the reply describes; raises EditError when it cannot be applied as is."""
        ...
