"""One edit, start to end: format -> messages -> the model's answer (streamed) -> parse ->
validate. Nothing here writes a file or talks LSP: the caller applies the changes."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from lspilot.context.ignore import Exclusions
from lspilot.edits.formats import FORMATS
from lspilot.edits.task import EditError, EditFormat, EditTask, FileChange
from lspilot.edits.validate import validate
from lspilot.edits.vault import Vault, hidden, revealed
from lspilot.models.backends.base import (
    Backend,
    BackendError,
    GenerationParams,
    GenerationStats,
    Message,
)

WHOLE_SHARE = 0.5
"""`auto` writes whole files while they take at most this share of what the model can write;
beyond, only the blocks that matter are rewritten."""



class Progress(Protocol):
    """Where an edit's progress is shown."""

    async def begun(self) -> None:
        """Wait until the front end shows progress (the model's work starts after)."""

    def __call__(self, stats: GenerationStats) -> None:
        """The model read or wrote more."""


@dataclass(frozen=True)
class EditResult:
    """What an edit produced, with what it cost."""

    task: EditTask
    format: str
    messages: tuple[Message, ...]
    reply: str
    changes: tuple[FileChange, ...]
    stats: GenerationStats = field(default_factory=GenerationStats)
    seconds: float = 0.0
    error: str | None = None
    """Why nothing is to be applied (the answer could not be read, or a change is refused)."""
    well_formed: bool = True
    """The answer could be read as changes (whether or not they were then refused)."""


def choose_format(setting: str, task: EditTask, count_tokens: Callable[[str], int],
                  max_tokens: int) -> EditFormat:
    """The format `edit.format` names; for `auto`, whole files when they are small enough to
    be written back in full, else the blocks that matter."""
    if setting != "auto":
        return FORMATS[setting]
    size = sum(count_tokens(f.text) for f in task.files)
    return FORMATS["whole" if size <= max_tokens * WHOLE_SHARE else "block"]


async def run_edit(task: EditTask, backend: Backend, edit_format: EditFormat, max_tokens: int,
                   root: Path, exclusions: Exclusions,
                   progress: Progress | None = None, *, redact: bool = True) -> EditResult:
    """Ask the model, read its answer, check every change. A result with `error` set is to
    be applied in no part; a prompt too large raises EditError, a failing model BackendError.
    Cancelling the calling task stops generation."""
    started = time.perf_counter()
    shown, vault = hidden(task) if redact else (task, Vault())
    messages = edit_format.messages(shown)
    prompt_tokens = backend.count_chat_tokens(messages)
    room = backend.context_size - prompt_tokens
    if room < min(max_tokens, 256):
        raise EditError(f"the edit's prompt takes {prompt_tokens} tokens of the model's "
                        f"{backend.context_size}: pick fewer files or select the code to change")
    stats = GenerationStats()
    reply = ""
    stream = backend.chat(messages, GenerationParams(max_tokens=min(max_tokens, room)), stats)
    try:
        async for piece in stream:
            reply += piece
            if progress is not None:
                progress(stats)
    finally:
        await stream.aclose()
    changes: list[FileChange] = []
    error, well_formed = None, False
    try:
        if not reply.strip():
            raise EditError(f"the model ({backend.name}) answered nothing")
        changes = revealed(edit_format.parse(reply, shown), vault)
        if not changes:
            raise EditError(f"the model ({backend.name}) changed nothing")
        well_formed = True
        validate(changes, task, root, exclusions)
    except EditError as exc:
        error, changes = str(exc), []
    return EditResult(task=task, format=edit_format.name, messages=tuple(messages), reply=reply,
                      changes=tuple(changes), stats=stats,
                      seconds=time.perf_counter() - started, error=error,
                      well_formed=well_formed)


__all__ = ["BackendError", "EditResult", "choose_format", "run_edit"]
