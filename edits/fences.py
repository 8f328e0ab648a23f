"""Fenced code blocks: written into prompts, and read back from a model's reply tolerantly."""

from __future__ import annotations

import re
from dataclasses import dataclass

_OPEN = re.compile(r"^( {0,3})(`{3,}|~{3,})\s*([^`]*?)\s*$")

MARKDOWN_TAGS: dict[str, str] = {
    "python": "python", "javascript": "javascript", "javascriptreact": "jsx",
    "typescript": "typescript", "typescriptreact": "tsx", "go": "go", "rust": "rust",
    "java": "java", "c": "c", "cpp": "cpp",
}
"""Markdown language tag per LSP language id (the tag models see most in their training)."""


@dataclass(frozen=True)
class Fenced:
    """One fenced block of a reply."""

    info: str
    """What follows the opening fence: a language tag, sometimes a path."""
    body: str
    """The lines inside, each ending with `\\n` ("" when there are none)."""
    closed: bool
    """False for a last fence the reply never closed (a cut-off answer, or a sloppy one)."""
    line: int
    """0-based line of the opening fence in the reply."""
    before: tuple[str, ...]
    """Non-blank lines between the previous block and this one, nearest first."""


def fence(text: str, tag: str = "") -> str:
    """`text` in a fenced block, with a fence longer than any backtick run inside it."""
    longest = max((len(run) for run in re.findall(r"`{3,}", text)), default=2)
    marker = "`" * (longest + 1)
    body = text if text.endswith("\n") or not text else text + "\n"
    return f"{marker}{tag}\n{body}{marker}\n"


def reply_lines(reply: str) -> list[str]:
    """The reply's lines, whatever line endings the model or its server used."""
    return reply.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def fenced_blocks(reply: str) -> list[Fenced]:
    """Every fenced block of `reply`, in order; the last may be unclosed."""
    lines = reply_lines(reply)
    blocks: list[Fenced] = []
    since = 0  # first line after the previous block
    index = 0
    while index < len(lines):
        opening = _OPEN.match(lines[index])
        if opening is None:
            index += 1
            continue
        indent, marker, info = len(opening.group(1)), opening.group(2), opening.group(3)
        closing = re.compile(rf"^ {{0,3}}{re.escape(marker[0])}{{{len(marker)},}}\s*$")
        end = next((i for i in range(index + 1, len(lines)) if closing.match(lines[i])), None)
        inside = lines[index + 1:end if end is not None else len(lines)]
        if end is None:  # an unclosed fence ends with the reply: drop its trailing blank lines
            while inside and not inside[-1].strip():
                inside.pop()
        # CommonMark: an indented fence's body loses up to that much indentation.
        inside = [line[min(indent, len(line) - len(line.lstrip(" "))):] for line in inside]
        before = tuple(line for line in reversed(lines[since:index]) if line.strip())
        blocks.append(Fenced(info, "".join(line + "\n" for line in inside), end is not None,
                             index, before))
        index = since = (end if end is not None else len(lines)) + 1
    return blocks
