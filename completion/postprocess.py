"""Clean a raw middle so that accepting it never leaves the user tidying up."""

from __future__ import annotations

from lspilot.completion.cursor import CursorContext

_CLOSERS = set(")]}>\"'`;:,")
_BLOCK_OPENERS = (":", "{", "(", "[", "=>")


def is_multiline(cursor: CursorContext) -> bool:
    """Multi-line on a blank line or after a block opener; one line anywhere else."""
    if cursor.mid_line:
        return False
    before = cursor.line_prefix.rstrip()
    return not before or before.endswith(_BLOCK_OPENERS)


def stop_reached(text: str, cursor: CursorContext, multiline: bool, max_lines: int) -> bool:
    """True once the streamed text holds everything the completion can use."""
    if not multiline:
        return "\n" in text.lstrip("\n") or (cursor.mid_line and "\n" in text)
    return text.count("\n") >= max_lines


def postprocess(middle: str, cursor: CursorContext, multiline: bool, max_lines: int) -> str:
    """The part of the model's middle worth showing; empty when nothing is."""
    text = middle.replace("\r\n", "\n")
    if not multiline:
        text = text.split("\n", 1)[0] if cursor.mid_line else _first_line(text, cursor)
        text = _trim_line_suffix_overlap(text, cursor.line_suffix)
    else:
        lines = text.split("\n")[:max_lines]
        text = "\n".join(_cut_at_suffix_repeat(lines, cursor.suffix))
    text = text.rstrip()
    return text if text.strip() else ""


def _first_line(text: str, cursor: CursorContext) -> str:
    """At a line end, a single-line completion may start on the next line."""
    stripped = text.lstrip("\n")
    return text[: len(text) - len(stripped)] + stripped.split("\n", 1)[0]


def _trim_line_suffix_overlap(text: str, line_suffix: str) -> str:
    """Drop the end of `text` that repeats what already stands right of the cursor."""
    rest = line_suffix.strip()
    if not rest:
        return text
    body = text.rstrip()
    if body.endswith(rest):
        return body[: len(body) - len(rest)]
    # Partial repeats count only for closing punctuation (`foo(a, b)` before `)`).
    for size in range(len(rest), 0, -1):
        head = rest[:size]
        if set(head) <= _CLOSERS and body.endswith(head):
            return body[: len(body) - size]
    return text


def _cut_at_suffix_repeat(lines: list[str], suffix: str) -> list[str]:
    """Stop before the first generated line that repeats the next non-blank suffix line."""
    following = [line.strip() for line in suffix.split("\n")[1:] if line.strip()]
    anchor = following[0] if following else None
    if not anchor:
        return lines
    for index, line in enumerate(lines):
        if index > 0 and line.strip() == anchor:
            return lines[:index]
    return lines
