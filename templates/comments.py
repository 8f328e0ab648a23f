"""A file's path as a comment in its own language, for families without file tokens.

DeepSeek-Coder's README ("Repository Level Code Completion") names each file in a `# path`
comment before its code; the same header serves every family without file tokens. Each
language's comment is in its record (`context/languages.py`).
https://github.com/deepseek-ai/DeepSeek-Coder#4-repository-level-code-completion
"""

from __future__ import annotations

from lspilot.context.languages import HASH, LANGUAGES

DEFAULT = HASH
"""For an unknown language: `#` is the line comment of most script and config files."""


def language_of(path: str) -> str:
    """The LSP language id of a file by its name or extension ("" when unknown)."""
    record = LANGUAGES.for_path(path)
    return record.id if record is not None else ""


def path_comment(path: str, language_id: str) -> str:
    """`path` as a one-line comment of the language (`#` when the language is unknown)."""
    return LANGUAGES.comment(language_id).replace("{path}", path)
