"""Paths as a model writes them, mapped to the task's files; and the paths an edit may write.

A model names files loosely: `./a.py`, `a.py` for `pkg/a.py`, `A.py`, `**a.py**`, `File: a.py`,
a path after the fence's language tag or in a comment on the code's first line. `resolve`
maps such a name to the task's file when exactly one fits; any other name stays as written
(a new file, or a hostile one) for `safe_path` and `edits.validate` to judge.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from lspilot.context.languages import language_id_for
from lspilot.edits.task import EditError, EditTask

TEXT_EXTENSIONS = frozenset({
    ".md", ".rst", ".txt", ".json", ".toml", ".yaml", ".yml", ".cfg", ".ini", ".html", ".css",
    ".scss", ".sh", ".sql", ".xml", ".csv", ".kt", ".swift", ".rb", ".php", ".cs", ".lua",
    ".env", ".lock",
})
"""Extensions, beyond the languages lspilot parses, that mark a word in prose as a file name."""

_DECORATION = re.compile(
    r"^(?:#+|\*+|_+|[-+>]|\d+[.)]|(?:new\s+)?(?:file(?:name)?|path)\s*:)\s*", re.IGNORECASE)
_TOKEN = re.compile(r"[^\s`'\"*()<>,;]+")
_PATH_CHARS = re.compile(r"^[\w.~@+\-/\\]+$")


def clean(written: str) -> str:
    """A written file name without markdown decoration, quotes, `./` or backslashes."""
    name = written.strip()
    while True:
        stripped = _DECORATION.sub("", name).strip().strip("`'\"*").strip()
        stripped = stripped.removesuffix(":").strip()
        if stripped == name:
            break
        name = stripped
    name = name.replace("\\", "/")
    while name.startswith("./"):
        name = name[2:]
    return name


def looks_like_path(name: str) -> bool:
    """Whether a whole line (cleaned) is a file name rather than prose or code."""
    if not name or not _PATH_CHARS.match(name) or name in (".", ".."):
        return False
    last = name.rstrip("/").rpartition("/")[2]
    return "/" in name or "." in last.strip(".") or last.startswith(".")


def _named_file(word: str) -> bool:
    """Whether a word inside prose names a file: one with a known extension."""
    dot = word.rfind(".")
    return dot > 0 and (bool(language_id_for(word)) or word[dot:].lower() in TEXT_EXTENSIONS)


def resolve(written: str, task: EditTask) -> str:
    """The task's file the name means, or the cleaned name itself when it means none.

    Raises EditError when the name fits several of the task's files.
    """
    name = clean(written)
    paths = [f.path for f in task.files]
    if name in paths or ".." in name.split("/"):
        return name  # a way out of the workspace is never read as a task file: it is refused
    for fold in (False, True):
        def same(a: str, b: str, fold: bool = fold) -> bool:
            return a.lower() == b.lower() if fold else a == b

        exact = [p for p in paths if same(p, name)]
        if len(exact) == 1:
            return exact[0]
        # `a.py` for `pkg/a.py`; `/home/me/project/pkg/a.py` or `src/pkg/a.py` (a folder
        # made up, or copied from the prompt's example) for `pkg/a.py`.
        tails = [p for p in paths if same(p[-len(name) - 1:], "/" + name)
                 or same(name[-len(p) - 1:], "/" + p)]
        if len(tails) == 1:
            return tails[0]
        if len(tails) > 1:
            raise EditError(f"the answer names {written.strip()}, which could be "
                            f"{' or '.join(sorted(tails))}")
    return name


def find_path(lines: Iterable[str], task: EditTask) -> str | None:
    """The first file a line names: a line that is a path, or a file named inside prose."""
    for line in lines:
        name = clean(line)
        if looks_like_path(name):
            return resolve(name, task)
        known = {f.path for f in task.files}
        # The name nearest the code wins: "Unchanged: b.py. Here is `a.py`:" means a.py.
        words = [clean(w) for w in reversed(_TOKEN.findall(line))]
        words = [w.rstrip(".") for w in words if w]
        for word in words:
            resolved = resolve(word, task) if looks_like_path(word) else None
            if resolved in known:
                return resolved
        for word in words:
            if _named_file(word):
                return resolve(word, task)
    return None


def info_path(info: str, task: EditTask) -> str | None:
    """A path written after a fence's language tag (```` ```python a.py ````, `python:a.py`)."""
    words = [w for w in re.split(r"[\s:=]+", info) if w]
    for word in words:
        name = clean(word)
        if looks_like_path(name) and not name.startswith("{"):
            return resolve(name, task)
    return None


_COMMENT = re.compile(r"^\s*(?:#|//|--|;|/\*|<!--)\s*(?:(?:file(?:name)?|path)\s*:\s*)?(\S+?)"
                      r"\s*(?:\*/|-->)?\s*$", re.IGNORECASE)


def comment_path(line: str, task: EditTask) -> str | None:
    """The file a comment line names (`# a.py`, `// File: src/a.ts`), or None."""
    match = _COMMENT.match(line)
    if match is None:
        return None
    name = clean(match.group(1))
    if not looks_like_path(name):
        return None
    resolved = resolve(name, task)
    # A new file only by a known extension: `# e.g.` names no file.
    return resolved if task.file(resolved) is not None or _named_file(name) else None


def safe_path(path: str) -> str | None:
    """Why `path` may not be written, judged from its text alone; None when it may."""
    if not path or "\0" in path:
        return "an empty file name"
    if path.startswith("/") or re.match(r"^[A-Za-z]:", path) or path.startswith("~"):
        return f"{path} is an absolute path: files must be inside the workspace"
    parts = path.split("/")
    if ".." in parts:
        return f"{path} leaves the workspace (..)"
    if any(part in ("", ".") for part in parts):
        return f"{path} is not a plain relative path"
    if any(part.lower() == ".git" for part in parts):
        return f"{path} is inside .git/"
    return None
