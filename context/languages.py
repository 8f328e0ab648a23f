"""Tree-sitter grammars (from PyPI wheels) by LSP language id, loaded once on first use."""

from __future__ import annotations

import importlib
from functools import cache

from tree_sitter import Language, Parser

# language id (LSP) -> (module, function returning the grammar)
GRAMMARS: dict[str, tuple[str, str]] = {
    "python": ("tree_sitter_python", "language"),
    "javascript": ("tree_sitter_javascript", "language"),
    "javascriptreact": ("tree_sitter_javascript", "language"),
    "typescript": ("tree_sitter_typescript", "language_typescript"),
    "typescriptreact": ("tree_sitter_typescript", "language_tsx"),
    "go": ("tree_sitter_go", "language"),
    "rust": ("tree_sitter_rust", "language"),
    "java": ("tree_sitter_java", "language"),
    "c": ("tree_sitter_c", "language"),
    "cpp": ("tree_sitter_cpp", "language"),
}


EXTENSIONS: dict[str, str] = {
    ".py": "python", ".pyi": "python", ".js": "javascript", ".mjs": "javascript",
    ".cjs": "javascript", ".jsx": "javascriptreact", ".ts": "typescript",
    ".tsx": "typescriptreact", ".go": "go", ".rs": "rust", ".java": "java", ".c": "c",
    ".h": "c", ".cc": "cpp", ".cpp": "cpp", ".cxx": "cpp", ".hpp": "cpp", ".hh": "cpp",
}


def language_id_for(path: str) -> str:
    """The LSP language id for a file name ("" when unknown), as editors would send it."""
    dot = path.rfind(".")
    return EXTENSIONS.get(path[dot:].lower(), "") if dot >= 0 else ""


@cache
def language(language_id: str) -> Language | None:
    """The grammar for an LSP language id, or None for a language without one."""
    spec = GRAMMARS.get(language_id)
    if spec is None:
        return None
    module, function = spec
    return Language(getattr(importlib.import_module(module), function)())


def parser(language_id: str) -> Parser | None:
    """A parser for the language, or None when the language has no grammar."""
    grammar = language(language_id)
    return Parser(grammar) if grammar is not None else None
