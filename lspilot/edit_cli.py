"""`lspilot edit INSTRUCTION FILE...`: the same edit as `lspilot.edit`, from a terminal."""

from __future__ import annotations

import argparse
import asyncio
import difflib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lspilot.edits.run import EditResult, describe
from lspilot.edits.sources import relative_path
from lspilot.edits.task import EditError
from lspilot.edits.text_edits import apply_edits, text_edits
from lspilot.edits.write import Write, write_all
from lspilot.models.backends.base import BackendError, GenerationStats
from lspilot.models.roles import Role
from lspilot.models.store import ModelStore
from lspilot.session import EditRequest, Level, Session

INDEX_WAIT_S = 120


class TerminalFront:
    """The session's events on stderr: model downloads as a progress bar, messages as lines."""

    def __init__(self, bar: Callable[[int, int, str], None]) -> None:
        self._bar = bar

    def loading(self, role: Role, model: str, done: int, total: int, message: str) -> None:
        """A model download's or load's progress."""
        if total:
            self._bar(done, total, message)
        else:
            print(f"lspilot: {message}", file=sys.stderr)

    def loaded(self, role: Role, model: str, template: str) -> None:
        """Nothing to say: the edit goes on."""

    def failed(self, role: Role, model: str, error: str) -> None:
        """The edit will fail with this error; it is printed then."""

    def show(self, level: Level, message: str) -> None:
        """A message for the user."""
        print(message, file=sys.stderr)

    def status_changed(self, urgent: bool = True) -> None:
        """No status bar here."""

    def refreshed(self, uri: str) -> None:
        """No completions here."""


def workspace_for(files: list[Path], folder: Path | None) -> tuple[Path, bool]:
    """The workspace root and whether to index it: `--workspace`, else the git repository of
    the first file, else the first file's folder alone (not indexed: it may be a home)."""
    if folder is not None:
        return folder.resolve(), True
    first = files[0].resolve()
    repo = next((p for p in first.parents if (p / ".git").exists()), None)
    return (repo, True) if repo is not None else (first.parent, False)


def unified_diff(result: EditResult) -> str:
    """Every change as a unified diff, as the files would be written."""
    out: list[str] = []
    for change in result.changes:
        source = result.task.file(change.path)
        old = source.text if source is not None else ""
        new = apply_edits(old, text_edits(old, change.new_text))
        out.extend(difflib.unified_diff(
            old.splitlines(keepends=True), new.splitlines(keepends=True),
            fromfile="/dev/null" if source is None else f"a/{change.path}",
            tofile=f"b/{change.path}"))
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
                   for line in out)


def writes(root: Path, result: EditResult) -> list[Write]:
    """The files to write for the result, each with what it must still hold."""
    out = []
    for change in result.changes:
        source = result.task.file(change.path)
        old = source.text if source is not None else None
        new = apply_edits(old, text_edits(old, change.new_text)) if old is not None \
            else change.new_text
        out.append(Write(root / change.path, old, new))
    return out


def report(result: EditResult | None, applied: bool, message: str) -> dict[str, Any]:
    """`--json`'s object."""
    stats = result.stats if result is not None else GenerationStats()
    return {"applied": applied,
            "files": [c.path for c in result.changes] if result is not None else [],
            "message": message, "format": result.format if result is not None else None,
            "promptTokens": stats.prompt_tokens, "generatedTokens": stats.generated_tokens,
            "seconds": round(result.seconds, 3) if result is not None else 0.0,
            "wellFormed": result.well_formed if result is not None else False,
            "diff": unified_diff(result) if result is not None else ""}


def edit_files(args: argparse.Namespace, bar: Callable[[int, int, str], None]) -> int:
    """Run `lspilot edit`; 0 when the edit was made (and written with --apply)."""
    files = [Path(f) for f in args.files]
    root, indexed = workspace_for(files, args.workspace)
    store = ModelStore.from_env()
    session = Session(store, TerminalFront(bar), list)
    raw: dict[str, Any] = json.loads(args.settings) if args.settings else {}
    flags: dict[str, dict[str, Any]] = {"context": {"indexWorkspace": indexed}, "edit": {}}
    if args.format:
        flags["edit"]["format"] = args.format
    if args.allow_syntax_errors:
        flags["edit"]["allowSyntaxErrors"] = True
    for section, values in flags.items():  # the command's own flags win over --settings
        raw[section] = {**(raw.get(section) or {}), **values}
    session.apply_settings(raw, load=False)
    if args.model:
        session.select_model("edit", args.model)
    result: EditResult | None = None

    async def run() -> EditResult:
        session.open_workspace(root)
        workspace = session.workspace
        assert workspace is not None
        workspace.start()
        index = workspace.index
        if index is not None and not await asyncio.to_thread(index.wait_ready, INDEX_WAIT_S):
            print(f"lspilot: the workspace index is not ready after {INDEX_WAIT_S} s; going on "
                  "without it", file=sys.stderr)
        request = EditRequest(args.instruction,
                              tuple(relative_path(root, f) for f in files))
        try:
            return await session.edit(request, ProgressLine())
        finally:
            await session.aclose()

    try:
        result = asyncio.run(run())
        if args.show_prompt:
            for sent in result.messages:
                print(f"--- {sent.role} ---\n{sent.content}", file=sys.stderr)
            print(f"--- answer ---\n{result.reply}\n---", file=sys.stderr)
        if result.error is not None:
            raise EditError(result.error)
        if args.apply:
            write_all(writes(root, result))
    except (EditError, BackendError) as exc:
        message = f"lspilot: {exc}"
        if args.json:
            print(json.dumps(report(result, False, message)))
        else:
            print(message, file=sys.stderr)
        return 1
    message = f"{'wrote' if args.apply else 'would change'} {describe(result)}"
    if args.json:
        print(json.dumps(report(result, args.apply, message)))
    else:
        sys.stdout.write(unified_diff(result))
        print(f"lspilot: {message}", file=sys.stderr)
    return 0


class ProgressLine:
    """The model's progress on one stderr line (a line per 100 tokens in logs)."""

    def __init__(self) -> None:
        self._tty = sys.stderr.isatty()
        self._last = -1

    async def begun(self) -> None:
        """Nothing to wait for on a terminal."""

    def __call__(self, stats: GenerationStats) -> None:
        """Show the tokens written so far."""
        done = stats.generated_tokens
        if self._tty:
            sys.stderr.write(f"\rlspilot: writing {done} tokens\033[K")
        elif done // 100 != self._last:
            self._last = done // 100
            sys.stderr.write(f"lspilot: writing {done} tokens\n")
        sys.stderr.flush()
