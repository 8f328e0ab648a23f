"""Imports a rewrite left out, put back: the small models' most common broken answer is a
file that uses `dataclass` or `ROUND_HALF_UP` after the rewrite dropped (or a new module never
had) the import that binds it.

Only an import the project already writes comes back: a name the changed file now uses
unbound, that the edit's files (before or after the change) import one way and one way only,
at their top level and by an absolute import (a relative one only from the same folder).
Failing that, a name that exactly one module the file already imports from defines (a
standard-library module that has it, or one of the edit's files whose top level binds it) is
added to an import from that module (`from decimal import ROUND_DOWN` gives
`ROUND_HALF_UP`). A name imported two different ways, or not at all, is left to the checks
that follow (an undefined name is reported, never guessed). Python only.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import sys
from collections.abc import Iterable, Sequence

from lspilot.context.languages import language_id_for
from lspilot.edits.names import is_module, module_names, new_undefined_names
from lspilot.edits.task import EditTask, FileChange


def restore_imports(changes: Sequence[FileChange], task: EditTask) -> list[FileChange]:
    """The changes, each Python file given back the imports of names it uses unbound that
    the edit's files import one unambiguous way (recorded in `FileChange.restored`)."""
    texts = [(f.path, f.text) for f in task.files if f.language == "python"]
    texts += [(c.path, c.new_text) for c in changes if c.path.endswith(".py")]
    restored = []
    for change in changes:
        source = task.file(change.path)
        language = source.language if source is not None else language_id_for(change.path)
        missing = new_undefined_names(language, source.text if source is not None else "",
                                      change.new_text)
        if not missing:
            restored.append(change)
            continue
        found = _imports_of(missing, _folder(change.path), texts)
        found |= _defined_by_imported(
            [name for name in missing if name not in found], change.new_text, texts)
        lines = [found[name] for name in missing if name in found]
        if not lines:
            restored.append(change)
            continue
        restored.append(dataclasses.replace(
            change, new_text=_with_imports(change.new_text, list(dict.fromkeys(lines))),
            restored=tuple(name for name in missing if name in found)))
    return restored


def _folder(path: str) -> str:
    return path.rsplit("/", 1)[0] if "/" in path else ""


def _imports_of(names: Iterable[str], folder: str,
                texts: Sequence[tuple[str, str]]) -> dict[str, str]:
    """For each name, the one import statement that binds it in the texts, where there is
    exactly one way."""
    wanted = set(names)
    ways: dict[str, set[str]] = {name: set() for name in wanted}
    for path, text in texts:
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError):
            continue
        for node in tree.body:
            for name, statement in _bindings(node, same_folder=_folder(path) == folder):
                if name in wanted:
                    ways[name].add(statement)
    return {name: next(iter(found)) for name, found in ways.items() if len(found) == 1}


_SIDE_EFFECTS = frozenset({"antigravity", "this", "__hello__", "__phello__", "idlelib",
                           "tkinter", "turtle", "turtledemo"})
"""Standard-library modules whose import does something (opens a browser, prints, a GUI)."""


def _defined_by_imported(names: Sequence[str], text: str,
                         texts: Sequence[tuple[str, str]]) -> dict[str, str]:
    """For each name, `from M import name` where M is the one module the text imports from
    (absolutely, at its top level) that defines the name."""
    if not names:
        return {}
    modules = list(dict.fromkeys(
        node.module for node in ast.parse(text).body
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module
        and node.module != "__future__"))
    found = {}
    for name in names:
        defining = [m for m in modules if _defines(m, name, texts)]
        if len(defining) == 1:
            found[name] = f"from {defining[0]} import {name}"
    return found


def _defines(module: str, name: str, texts: Sequence[tuple[str, str]]) -> bool:
    """Whether `module` binds `name` at its top level: read from the edit's files when it is
    one of them, asked of Python when it is in the standard library, else not known."""
    for candidate, text in texts:
        if is_module(candidate, module.replace(".", "/") + ".py"):
            names = module_names(text)
            return names is not None and name in names
    top = module.split(".")[0]
    if top not in sys.stdlib_module_names or top in _SIDE_EFFECTS:
        return False
    try:
        return hasattr(importlib.import_module(module), name)
    except Exception:  # a module that fails to import here defines nothing we can tell
        return False


def _bindings(node: ast.stmt, same_folder: bool) -> list[tuple[str, str]]:
    """`(bound name, the statement that binds only it)` for a top-level import."""
    if isinstance(node, ast.Import):
        return [((a.asname or a.name).split(".")[0],
                 f"import {a.name}" + (f" as {a.asname}" if a.asname else "")) for a in node.names]
    if isinstance(node, ast.ImportFrom) and node.module != "__future__" and \
            (node.level == 0 or same_folder):
        module = "." * node.level + (node.module or "")
        return [(a.asname or a.name,
                 f"from {module} import {a.name}" + (f" as {a.asname}" if a.asname else ""))
                for a in node.names if a.name != "*"]
    return []


def _with_imports(text: str, statements: list[str]) -> str:
    """`text` with the statements inserted after its leading imports (after the docstring
    and `from __future__` when it has no others; at the top when it has neither)."""
    newline = "\r\n" if "\r\n" in text else "\n"
    tree = ast.parse(text)
    after = 0  # the line (1-based) the new imports follow
    for index, node in enumerate(tree.body):
        docstring = index == 0 and isinstance(node, ast.Expr) and \
            isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
        if not (docstring or isinstance(node, ast.Import | ast.ImportFrom)):
            break
        after = node.end_lineno or node.lineno
    lines = text.splitlines(keepends=True)
    head, tail = lines[:after], lines[after:]
    if head and not head[-1].endswith(("\n", "\r")):
        head[-1] += newline
    block = [s + newline for s in _grouped(statements)]
    if after == 0 and tail and tail[0].strip():
        block.append(newline)  # an import block at the top stands apart from the code
    return "".join(head + block + tail)


def _grouped(statements: list[str]) -> list[str]:
    """`from M import a` and `from M import b` as `from M import a, b`; `import` statements
    first, then `from` ones, each in first-seen order."""
    froms: dict[str, list[str]] = {}
    order: list[str] = []
    for statement in statements:
        if statement.startswith("from "):
            module, _, name = statement.partition(" import ")
            if module not in froms:
                froms[module] = []
                order.append(module)
            froms[module].append(name)
        else:
            order.append(statement)
    plain = [key for key in order if key not in froms]
    return plain + [f"{key} import {', '.join(froms[key])}" for key in order if key in froms]


__all__ = ["restore_imports"]
