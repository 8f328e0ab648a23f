"""One edit, start to end: format -> messages -> the model's answer (streamed) -> parse ->
validate. Nothing here writes a file or talks LSP: the caller applies the changes."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Protocol

from lspilot.context.ignore import Exclusions
from lspilot.context.languages import language_id_for
from lspilot.edits.formats import FORMATS
from lspilot.edits.imports import restore_imports
from lspilot.edits.names import (
    imported_names,
    is_module,
    module_names,
    new_undefined_names,
)
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


REFLECTION = """\
Your answer cannot be applied: {problem}
Reply again in the same format, with the complete corrected code."""
"""The message that gives the model its answer's problem, for one more try."""


@dataclass(frozen=True)
class _Attempt:
    """One answer of the model, read and checked."""

    reply: str
    changes: tuple[FileChange, ...] = ()
    error: str | None = None
    well_formed: bool = False
    undefined: str | None = None
    """The names the changes use that their files define nowhere (applicable all the same)."""

    @property
    def problem(self) -> str | None:
        return self.error or self.undefined


async def run_edit(task: EditTask, backend: Backend, edit_format: EditFormat, max_tokens: int,
                   root: Path, exclusions: Exclusions,
                   progress: Progress | None = None, *, redact: bool = True,
                   reflections: int = 0) -> EditResult:
    """Ask the model, read its answer, check every change. A result with `error` set is to
    be applied in no part; a prompt too large raises EditError, a failing model BackendError.
    Cancelling the calling task stops generation.

    An answer that cannot be applied, or that leaves Python names undefined (`undefined_in`),
    goes back to the model with the problem up to `reflections` times (the conversation so
    far stays in the KV cache, so a retry costs mostly what the model writes); the last
    applicable answer wins.
    """
    started = time.perf_counter()
    shown, vault = hidden(task) if redact else (task, Vault())
    messages = edit_format.messages(shown)
    stats = GenerationStats()  # shared by the rounds: tokens written keep counting up
    reply = await _ask(messages, backend, max_tokens, stats, progress, min_room=256)
    check = partial(_check, edit_format=edit_format, task=task, shown=shown, vault=vault,
                    model=backend.name, root=root, exclusions=exclusions,
                    look_further=reflections > 0)
    attempt = check(reply)
    first_messages = tuple(messages)
    for _ in range(reflections):
        problem = attempt.problem
        if problem is None:
            break
        # The problem may quote the files: their secrets stay placeholders, as in the prompt.
        for placeholder, value in vault.values.items():
            problem = problem.replace(value, placeholder)
        retry = [*messages, Message("assistant", attempt.reply),
                 Message("user", REFLECTION.format(problem=problem))]
        try:
            reply = await _ask(retry, backend, max_tokens, stats, progress, min_room=max_tokens)
        except _NoRoom:
            break
        again = check(reply, earlier=attempt.changes)
        messages = retry
        if again.error is None or attempt.error is not None:
            attempt = again
    return EditResult(task=task, format=edit_format.name, messages=first_messages,
                      reply=attempt.reply, changes=attempt.changes, stats=stats,
                      seconds=time.perf_counter() - started, error=attempt.error,
                      well_formed=attempt.well_formed)


class _NoRoom(EditError):
    """The conversation leaves the model too little room to answer."""


async def _ask(messages: list[Message], backend: Backend, max_tokens: int,
               stats: GenerationStats, progress: Progress | None, min_room: int) -> str:
    """The model's whole answer to `messages`, streamed with progress."""
    prompt_tokens = backend.count_chat_tokens(messages)
    room = backend.context_size - prompt_tokens
    if room < min(max_tokens, min_room):
        raise _NoRoom(f"the edit's prompt takes {prompt_tokens} tokens of the model's "
                      f"{backend.context_size}: pick fewer files or select the code to change")
    reply = ""
    stream = backend.chat(messages, GenerationParams(max_tokens=min(max_tokens, room)), stats)
    try:
        async for piece in stream:
            reply += piece
            if progress is not None:
                progress(stats)
    finally:
        await stream.aclose()
    return reply


def _check(reply: str, *, edit_format: EditFormat, task: EditTask, shown: EditTask,
           vault: Vault, model: str, root: Path, exclusions: Exclusions, look_further: bool,
           earlier: Sequence[FileChange] = ()) -> _Attempt:
    """The answer read as changes and validated; the error that refuses it, if any, and with
    `look_further` the names it leaves undefined. A corrected answer often rewrites only the
    file it corrects: the `earlier` answer's changes to the other files stay."""
    well_formed = False
    try:
        if not reply.strip():
            raise EditError(f"the model ({model}) answered nothing")
        changes = revealed(edit_format.parse(reply, shown), vault)
        if not changes:
            raise EditError(f"the model ({model}) changed nothing")
        well_formed = True
        rewritten = {c.path for c in changes}
        changes = restore_imports([c for c in earlier if c.path not in rewritten] + changes,
                                  task)
        validate(changes, task, root, exclusions)
    except EditError as exc:
        return _Attempt(reply, error=str(exc), well_formed=well_formed)
    return _Attempt(reply, tuple(changes), well_formed=True,
                    undefined=undefined_in(changes, task) if look_further else None)


def undefined_in(changes: list[FileChange], task: EditTask) -> str | None:
    """What the changes leave undefined, in words: names a changed Python file reads but
    binds nowhere (and did not before), and names a task file imports from a changed file
    that no longer defines them (callers left behind by a rename or a move)."""
    found = []
    for change in changes:
        source = task.file(change.path)
        language_id = source.language if source is not None else language_id_for(change.path)
        names = new_undefined_names(language_id, source.text if source is not None else "",
                                    change.new_text)
        if names:
            found.append(f"{change.path} uses {', '.join(names)}, which it neither defines "
                         "nor imports")
    found.extend(broken_imports(changes, task))
    return "; ".join(found[:3]) or None


def broken_imports(changes: list[FileChange], task: EditTask) -> list[str]:
    """`A imports N from B, which no longer defines it` for each task file A (as changed)
    that imports N from a changed Python file B that defined N before the change."""
    changed = {c.path: c.new_text for c in changes}
    removed: dict[str, frozenset[str]] = {}
    for change in changes:
        source = task.file(change.path)
        if source is None or source.language != "python":
            continue
        before, after = module_names(source.text), module_names(change.new_text)
        if before is not None and after is not None and before - after:
            removed[change.path] = before - after
    problems = []
    texts = {f.path: changed.get(f.path, f.text) for f in task.files if f.language == "python"}
    texts.update({path: text for path, text in changed.items() if path.endswith(".py")})
    for path, text in texts.items():
        for module, name in imported_names(path, text):
            target = next((p for p in removed if is_module(p, module)), None)
            if target is not None and name in removed[target]:
                problems.append(f"{path} imports {name} from {target}, which no longer "
                                "defines it")
    return problems


def describe(result: EditResult) -> str:
    """What changed, how, what it cost, what was put back and what was left out."""
    stats = result.stats
    line = (f"{', '.join(c.path for c in result.changes)} ({result.format} format, "
            f"{stats.prompt_tokens} prompt + {stats.generated_tokens} generated tokens, "
            f"{result.seconds:.1f} s)")
    restored = [f"{', '.join(c.restored)} in {c.path}" for c in result.changes if c.restored]
    if restored:
        line += "; imports the answer left out put back: " + "; ".join(restored)
    if result.task.omitted:
        line += "; left out: " + ", ".join(result.task.omitted)
    return line


__all__ = ["BackendError", "EditResult", "choose_format", "describe", "is_module", "run_edit"]
