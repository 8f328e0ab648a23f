"""Which files an edit may change and what it reads besides: the user's files, then the files
that define or call the names involved, within a budget in the model's own tokens.

"Rename parse_date to parse_iso_date everywhere" must reach the callers in files the user did
not pick: names the instruction mentions that the workspace defines bring their definitions'
and callers' files in as files the model may change. Names defined around the selection bring
their call sites in as read-only context. Whatever does not fit is reported, never dropped
silently.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from lspilot.context.definitions import WorkspaceSymbols
from lspilot.context.snippet import Snippet
from lspilot.context.symbols import analyze
from lspilot.edits.task import EditError, EditTask, Selection, SourceFile

Read = Callable[[str], SourceFile | None]
"""A workspace file by relative path: the open document, else the file on disk; None when it
is missing, unreadable, binary, secret or ignored (such files are never read)."""

CountTokens = Callable[[str], int]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
MIN_NAME = 3
"""Shorter words of the instruction (`a`, `to`, `of`) are never taken for names."""
MAX_RELATED = 12
"""Most files brought in besides the user's (a name called from everywhere is not a
reason to rewrite the whole workspace)."""
CALL_CONTEXT_LINES = 2
"""Lines around a call site shown as read-only context."""


@dataclass(frozen=True)
class Budget:
    """Tokens the edit's prompt may spend."""

    files: int
    """On the files the model may change."""
    context: int
    """On read-only code (call sites, definitions)."""


def instruction_names(instruction: str) -> list[str]:
    """Identifier-shaped words of the instruction, in order, once each."""
    return list(dict.fromkeys(w for w in _NAME.findall(instruction) if len(w) >= MIN_NAME))


def selection_names(source: SourceFile, selection: Selection) -> list[str]:
    """The names defined around or inside the selection (innermost first)."""
    symbols = analyze(source.language, source.text)
    first = source.text.count("\n", 0, selection.start)
    last = source.text.count("\n", 0, selection.end)
    around = [d for d in symbols.definitions
              if d.start_line <= last and d.end_line >= first and d.kind != "variable"]
    around.sort(key=lambda d: d.end_line - d.start_line)
    return list(dict.fromkeys(d.name for d in around))


def related_paths(names: Sequence[str], index: WorkspaceSymbols) -> list[str]:
    """Files that define or call the names, definitions first, then by number of calls."""
    defining: dict[str, None] = {}
    calls: dict[str, int] = {}
    for name in names:
        for path, _ in index.definitions(name):
            defining[path] = None
        for path, _ in index.callers(name):
            calls[path] = calls.get(path, 0) + 1
    callers = sorted((p for p in calls if p not in defining), key=lambda p: (-calls[p], p))
    return [*defining, *callers]


def call_sites(names: Sequence[str], index: WorkspaceSymbols, skip: set[str],
               read: Read) -> list[Snippet]:
    """A few lines around each call of the names, in files the edit does not change."""
    snippets: list[Snippet] = []
    for name in names:
        for path, call in index.callers(name):
            if path in skip:
                continue
            source = read(path)
            if source is None:
                continue
            lines = source.text.split("\n")
            start = max(0, call.line - CALL_CONTEXT_LINES)
            end = min(len(lines) - 1, call.line + CALL_CONTEXT_LINES)
            snippets.append(Snippet(source="usage", path=path,
                                    text="\n".join(lines[start:end + 1]), score=1.0,
                                    start_line=start, reason=f"calls {name}"))
    return snippets


def build_task(instruction: str, picked: Sequence[SourceFile], selection: Selection | None,
               index: WorkspaceSymbols | None, read: Read, count_tokens: CountTokens,
               budget: Budget, allow_syntax_errors: bool = False) -> EditTask:
    """The task for an instruction over the user's files (the selection's file among them)."""
    instruction = instruction.strip()
    if not instruction:
        raise EditError("the instruction is empty: say what to change")
    if not picked:
        raise EditError("no files to edit: pick files or select code")
    files = list(dict.fromkeys(picked))
    spent = sum(count_tokens(f.text) for f in files)
    if spent > budget.files:
        raise EditError(f"the files picked take {spent} tokens, more than the edit model can "
                        f"read and rewrite ({budget.files}): pick fewer or smaller files, or "
                        "select the code to change")
    omitted: list[str] = []
    context: list[Snippet] = []
    if index is not None:
        taken = {f.path for f in files}
        mentioned = [n for n in instruction_names(instruction) if index.definitions(n)]
        for path in related_paths(mentioned, index):
            if path in taken:
                continue
            if len(taken) - len(picked) >= MAX_RELATED:
                omitted.append(f"{path} (more than {MAX_RELATED} related files)")
                continue
            source = read(path)
            if source is None:
                continue
            cost = count_tokens(source.text)
            if spent + cost > budget.files:
                omitted.append(f"{path} ({cost} tokens: over the budget)")
                continue
            files.append(source)
            taken.add(path)
            spent += cost
        if selection is not None:
            around = next((f for f in files if f.path == selection.path), None)
            names = selection_names(around, selection) if around is not None else []
            context = _fit(call_sites(names, index, taken, read), budget.context, count_tokens)
    return EditTask(instruction=instruction, files=tuple(files), selection=selection,
                    context=tuple(context), omitted=tuple(omitted),
                    allow_syntax_errors=allow_syntax_errors)


def _fit(snippets: list[Snippet], budget: int, count_tokens: CountTokens) -> list[Snippet]:
    """The snippets in order while they fit the budget."""
    kept: list[Snippet] = []
    for snippet in snippets:
        cost = count_tokens(snippet.text)
        if cost > budget:
            break
        budget -= cost
        kept.append(snippet)
    return kept
