"""Names a change uses that its file defines nowhere: the mistake small models make most
when they rewrite a file (a decorator or a constant used without its import).

The check is deliberately lenient: a name bound anywhere in the file (an import, a
definition, an assignment, a parameter, a loop or `with` target, an exception name, a
`global`) counts as defined everywhere in it, so only names bound nowhere are reported, and
only those the file did not already use undefined before the change. Python only; other
languages report nothing.
"""

from __future__ import annotations

import ast
import builtins

_MODULE_NAMES = frozenset({"__name__", "__file__", "__doc__", "__spec__", "__loader__",
                           "__package__", "__builtins__", "__path__", "__annotations__",
                           "__dict__", "__class__", "__debug__"})
_KNOWN = frozenset(dir(builtins)) | _MODULE_NAMES


def undefined_names(language_id: str, text: str) -> frozenset[str] | None:
    """Names the text reads but binds nowhere; None when it cannot tell (not Python, a syntax
    error, or a `from ... import *`)."""
    if language_id != "python":
        return None
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return None
    bound: set[str] = set()
    read: set[str] = set()
    for node in ast.walk(tree):
        match node:
            case ast.Name(id=name, ctx=ast.Load()):
                read.add(name)
            case ast.Name(id=name):
                bound.add(name)
            case ast.ImportFrom(names=names) if any(a.name == "*" for a in names):
                return None
            case ast.Import(names=names) | ast.ImportFrom(names=names):
                bound.update((a.asname or a.name).split(".")[0] for a in names)
            case ast.FunctionDef(name=name) | ast.AsyncFunctionDef(name=name) | \
                    ast.ClassDef(name=name):
                bound.add(name)
            case ast.arg(arg=name):
                bound.add(name)
            case ast.ExceptHandler(name=str(name)):
                bound.add(name)
            case ast.Global(names=names) | ast.Nonlocal(names=names):
                bound.update(names)
            case ast.MatchAs(name=str(name)) | ast.MatchStar(name=str(name)):
                bound.add(name)
            case ast.MatchMapping(rest=str(name)):
                bound.add(name)
    type_params = [p.name for node in ast.walk(tree) for p in getattr(node, "type_params", [])]
    bound.update(type_params)
    return frozenset(read - bound - _KNOWN)


def new_undefined_names(language_id: str, before: str, after: str) -> list[str]:
    """Names `after` reads but binds nowhere that `before` did not already read unbound."""
    now = undefined_names(language_id, after)
    if not now:
        return []
    was = undefined_names(language_id, before) if before else frozenset()
    return sorted(now - (was or frozenset()))


def module_names(text: str) -> frozenset[str] | None:
    """The names a Python module binds at its top level (inside `if`, `try`, `with` and
    loops too); None when it cannot tell (a syntax error, a star import, `__getattr__`)."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return None
    names: set[str] = set()
    statements: list[ast.stmt] = list(tree.body)
    while statements:
        node = statements.pop()
        match node:
            case ast.FunctionDef(name=name) | ast.AsyncFunctionDef(name=name) | \
                    ast.ClassDef(name=name):
                if name == "__getattr__":
                    return None
                names.add(name)
            case ast.ImportFrom(names=aliases) if any(a.name == "*" for a in aliases):
                return None
            case ast.Import(names=aliases) | ast.ImportFrom(names=aliases):
                names.update((a.asname or a.name).split(".")[0] for a in aliases)
            case ast.If() | ast.For() | ast.AsyncFor() | ast.While() | ast.With() | \
                    ast.AsyncWith():
                statements.extend(node.body)
                statements.extend(getattr(node, "orelse", []))
            case ast.Try() | ast.TryStar():
                statements.extend(node.body + node.orelse + node.finalbody)
                for handler in node.handlers:
                    statements.extend(handler.body)
            case _:
                for child in ast.walk(node):
                    if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store):
                        names.add(child.id)
    return frozenset(names)


def imported_names(path: str, text: str) -> list[tuple[str, str]]:
    """`(module path suffix, name)` for each `from MODULE import name` of a Python file at
    `path`: the suffix is where the module's file may be (`geometry/shapes.py`), resolved
    against `path`'s folder for a relative import."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return []
    found: list[tuple[str, str]] = []
    folder = path.rsplit("/", 1)[0].split("/") if "/" in path else []
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom) or node.module is None:
            continue
        parts = node.module.split(".")
        if node.level:
            if node.level - 1 > len(folder):
                continue
            parts = folder[:len(folder) - (node.level - 1)] + parts
        found.extend(("/".join(parts) + ".py", a.name) for a in node.names if a.name != "*")
    return found


def is_module(path: str, module: str) -> bool:
    """Whether the file at workspace `path` may be the module whose file is `module`
    (`geometry/shapes.py`, or a package's `geometry/__init__.py`)."""
    package = module.removesuffix(".py") + "/__init__.py"
    return any(path == m or path.endswith("/" + m) for m in (module, package))
