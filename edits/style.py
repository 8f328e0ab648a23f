"""Keep a file's own style in a model's rewrite: line endings, indentation and final newline.

Models answer with LF line endings, spaces for indentation and whatever final newline the
chat template left. `conform(old, new)` puts the file's own style back, so that a CRLF file
stays CRLF, a tab-indented file stays tab-indented and a file without a final newline gets
none. Lines the model left as they were, up to whitespace (indentation in another style,
trailing spaces), are taken back from the original verbatim: the line diff then leaves them
untouched. A whitespace-only change of a line (trailing spaces, tabs <-> spaces at the same
width) is therefore not applied: the file's style wins.
"""

from __future__ import annotations

from difflib import SequenceMatcher
from math import gcd

DEFAULT_UNIT = 4
"""Spaces per indentation level assumed when a text shows none."""


def split_lines(text: str) -> list[tuple[str, str]]:
    """The text's lines as (content, terminator): `\\r\\n`, `\\n`, or "" for a last line."""
    lines = []
    for part in text.split("\n"):
        lines.append((part, "\n"))
    last, _ = lines.pop()
    if last:
        lines.append((last, ""))
    return [(c[:-1], "\r\n") if t and c.endswith("\r") else (c, t) for c, t in lines]


def line_ending(text: str) -> str:
    """The text's usual line terminator: `\\r\\n` when most lines end so, else `\\n`."""
    crlf = text.count("\r\n")
    return "\r\n" if crlf and crlf * 2 > text.count("\n") else "\n"


def indent_of(line: str) -> str:
    """The line's leading whitespace."""
    return line[:len(line) - len(line.lstrip(" \t"))]


def indent_style(lines: list[str]) -> str | None:
    """`tab` or `space`: how most indented lines start; None when neither wins."""
    tabs = sum(1 for line in lines if line.startswith("\t") and line.strip())
    # One space is alignment (C's ` * ` comment lines), not indentation.
    spaces = sum(1 for line in lines if line.startswith("  ") and line.strip())
    if tabs > spaces:
        return "tab"
    if spaces > tabs:
        return "space"
    return None


def space_unit(lines: list[str]) -> int:
    """Spaces per indentation level: what the space-only indents of two or more share."""
    widths = [len(indent) for line in lines if line.strip()
              and len(indent := indent_of(line)) >= 2 and set(indent) == {" "}]
    unit = gcd(*widths) if widths else DEFAULT_UNIT
    # Lines all two levels deep share 8: more likely two levels of 4 than one of 8.
    return unit if unit in (2, 3, 4) else DEFAULT_UNIT


def conform(old: str, new: str) -> str:
    """`new` written in the style of `old` (line endings, indentation, final newline)."""
    if not old:
        return new
    old_lines = split_lines(old)
    new_lines = [content for content, _ in split_lines(new.replace("\r\n", "\n"))]
    if not old.endswith("\n"):
        while new_lines and not new_lines[-1]:
            new_lines.pop()
    eol = line_ending(old)
    old_contents = [content for content, _ in old_lines]
    style = indent_style(old_contents)
    # Spaces per tab: the model's own unit when it wrote spaces into a tab file.
    tabsize = space_unit(new_lines) if style == "tab" else space_unit(old_contents)

    def width(line: str) -> int:
        return len(indent_of(line).expandtabs(tabsize))

    def restyle(line: str) -> str:
        indent = indent_of(line)
        if style == "tab" and indent and set(indent) == {" "}:
            tabs, spaces = divmod(len(indent), tabsize)
            return "\t" * tabs + " " * spaces + line[len(indent):]
        if style == "space" and "\t" in indent:
            return indent.expandtabs(tabsize) + line[len(indent):]
        return line

    out: list[tuple[str, str]] = []
    matcher = SequenceMatcher(None, [c.strip() for c in old_contents],
                              [c.strip() for c in new_lines], autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            for (content, ending), line in zip(old_lines[i1:i2], new_lines[j1:j2], strict=True):
                if content == line or width(content) == width(line):
                    out.append((content, ending or eol))
                else:
                    out.append((restyle(line), eol))
        else:
            out.extend((restyle(line), eol) for line in new_lines[j1:j2])
    if out and not old.endswith("\n"):
        out[-1] = (out[-1][0], "")
    return "".join(content + ending for content, ending in out)
