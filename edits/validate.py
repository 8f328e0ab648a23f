"""Check every change before anything is sent: all of them may be applied, or none is.

Neovim 0.11 applies a WorkspaceEdit one change at a time with no rollback, so a bad change
found halfway would leave the workspace half-edited: everything is checked first.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from tree_sitter import Parser

from lspilot.completion.syntax import errors
from lspilot.context.ignore import Exclusions, is_secret
from lspilot.context.languages import language_id_for, parser
from lspilot.edits.paths import safe_path
from lspilot.edits.task import EditError, EditTask, FileChange


def validate(changes: Sequence[FileChange], task: EditTask, root: Path,
             excluded: Exclusions) -> None:
    """Raise EditError with one message for the first change that may not be applied.

    Reads the file system to find files that exist and where symbolic links lead.
    """
    real_root = Path(os.path.realpath(root))
    seen: set[str] = set()
    for change in changes:
        path = change.path
        problem = safe_path(path)
        if problem is not None:
            raise EditError(f"refused: {problem}; nothing was changed")
        if path in seen:
            raise EditError(f"refused: the answer changes {path} twice; nothing was changed")
        seen.add(path)
        _inside(path, root, real_root, excluded)
        source = task.file(path)
        if source is None:
            if not change.created:
                raise EditError(f"refused: {path} is not one of the files of this edit")
            if os.path.lexists(root / path):
                raise EditError(f"refused: {path} exists but is not one of the files of this "
                                "edit (pick it to let the edit change it); nothing was changed")
            parent = next((p for p in Path(path).parents if os.path.lexists(root / p)), None)
            if parent is not None and not (root / parent).is_dir():
                raise EditError(f"refused: {parent.as_posix()} is a file, so {path} cannot be "
                                "created; nothing was changed")
        elif change.created:
            raise EditError(f"refused: {path} is a file of this edit, not a new one")
        if not task.allow_syntax_errors:
            _still_parses(path, source.text if source is not None else None, change.new_text,
                          source.language if source is not None else language_id_for(path))


def _inside(path: str, root: Path, real_root: Path, excluded: Exclusions) -> None:
    """Refuse a path that is secret, ignored, or leads out of the root through a link."""
    if is_secret(path) or excluded.excluded(path):
        raise EditError(f"refused: {path} is a secret or ignored file; nothing was changed")
    real = Path(os.path.realpath(root / path))
    if not real.is_relative_to(real_root):
        raise EditError(f"refused: {path} leads out of the workspace through a symbolic link; "
                        "nothing was changed")
    target = real.relative_to(real_root).as_posix()
    if target != path and (safe_path(target) is not None or is_secret(target)
                           or excluded.excluded(target)):
        raise EditError(f"refused: {path} is a link to {target}, a secret, ignored or .git "
                        "file; nothing was changed")


def _still_parses(path: str, old: str | None, new: str, language_id: str) -> None:
    """Refuse a change that breaks the syntax of a file that parsed (or of a new file)."""
    ts_parser = parser(language_id)
    if ts_parser is None:
        return
    if old is not None and errors(ts_parser, old) != (0, 0):
        return
    if errors(ts_parser, new) != (0, 0):
        line = _first_error_line(ts_parser, new)
        raise EditError(f"refused: the change leaves {path} with a syntax error (line {line}); "
                        "nothing was changed")


def _first_error_line(ts_parser: Parser, text: str) -> int:
    """1-based line of the first syntax error in `text`."""
    node = ts_parser.parse(text.encode("utf-8", "surrogatepass")).root_node
    while True:
        bad = next((c for c in node.children if c.is_error or c.is_missing or c.has_error), None)
        if bad is None or bad.is_error or bad.is_missing:
            return (bad or node).start_point.row + 1
        node = bad
