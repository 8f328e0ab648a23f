"""Clean a raw middle so that accepting it never leaves the user tidying up.

Each rule is a small function; `postprocess` applies them in order and the stream stops as
soon as `stop_reached` sees that nothing more can be used.
"""

from __future__ import annotations

import re

from tree_sitter import Tree

from lspilot.completion.cursor import CursorContext
from lspilot.completion.syntax import in_comment_or_string, keep_valid
from lspilot.context.languages import LANGUAGES

_CLOSERS = set(")]}>\"'`;:,")
_CLOSER_CHARS = "".join(sorted(_CLOSERS))
REPEAT_SCAN_LINES = 12
"""Lines after the cursor, in its block, that a multi-line completion must not write again."""
REPEAT_MIN_CHARS = 6
"""Shorter lines (`break`, `pass`) may well come twice in a block."""
_PAIRS = {")": "(", "]": "[", "}": "{"}


def inserts_lines(cursor: CursorContext) -> bool:
    """At the start of a line that has text: the completion is whole lines put before it."""
    return cursor.mid_line and not cursor.line_prefix.strip()


def _writes_whole_lines(cursor: CursorContext) -> bool:
    """Whether the completion's first line is a whole line of its own: on a blank line, or
    in front of a line's text. Anywhere else it goes on with the cursor's line."""
    return not cursor.line_prefix.strip()


def line_below(cursor: CursorContext) -> str | None:
    """The line a completion's first line would only write again, where it writes a whole
    line: the next one of the code after the cursor (the cursor's own line's text when the
    completion goes in front of it). Not a line of closing brackets alone: a block's `}`
    often does come twice (bench.fim: 18 first lines of 240 wrote the next line again, all
    wrong; the 8 right ones were `}`)."""
    if not _writes_whole_lines(cursor):
        return None
    following = _following_lines(cursor.suffix, not inserts_lines(cursor), 1)
    if not following or _only_closers(following[0]):
        return None
    return following[0].strip()


def is_multiline(cursor: CursorContext, language_id: str = "", tree: Tree | None = None
                 ) -> bool:
    """Multi-line on a blank line, before a line's text, or after a block opener.

    With a grammar, the opener must be code: a `:` or `{` that ends a comment or sits in a
    string (`# note:`, `"a {`) opens nothing, so the completion is one line.
    """
    if inserts_lines(cursor):
        return True
    if cursor.mid_line:
        return False
    before = cursor.line_prefix.rstrip()
    if not before:
        return True
    if not before.endswith(LANGUAGES.block_openers(language_id)):
        return False
    return not in_comment_or_string(language_id, cursor.prefix + cursor.suffix,
                                    len(cursor.prefix), tree) if language_id else True


def block_indent(cursor: CursorContext) -> int:
    """Lines of a multi-line completion indented less than this have left the block."""
    line = cursor.line_prefix
    if not line.strip():
        return len(line)
    return len(cursor.indent) + 1


def stop_reached(text: str, cursor: CursorContext, multiline: bool, max_lines: int) -> bool:
    """True once the streamed text holds everything the completion can use."""
    if not multiline:
        return "\n" in text.lstrip("\n") or (cursor.mid_line and "\n" in text)
    lines = text.split("\n")
    complete = lines[1:-1]  # the first line continues the cursor's; the last is unfinished
    if len(lines) - 1 >= max_lines:
        return True
    if _writes_whole_lines(cursor) and len(lines) > 1 and _first_repeats(lines[0], cursor):
        return True
    return any(_leaves_block(line, cursor) or _repeats_suffix(line, cursor)
               for line in complete)


def postprocess(middle: str, cursor: CursorContext, multiline: bool, max_lines: int,
                language_id: str = "", window: tuple[str, str] | None = None) -> str:
    """The part of the model's middle worth showing; empty when nothing is.

    `window` is the (prefix, suffix) the model saw, for the syntax check.
    """
    text = middle.replace("\r\n", "\n")
    if not multiline:
        text = text.split("\n", 1)[0] if cursor.mid_line else _first_line(text)
        text = _trim_line_suffix_overlap(text, cursor.line_suffix)
    else:
        text = _first_line_indent(text, cursor)
        lines = _cut_lines(text.split("\n")[:max_lines], cursor)
        text = "\n".join(lines)
        text = _cut_unmatched_closer(text, cursor)
    text = _normalize_indentation(text, cursor)
    text = text.rstrip()
    if not text.strip() or _is_repetition(text, cursor):
        return ""
    prefix, suffix = window if window is not None else (cursor.prefix, cursor.suffix)
    if inserts_lines(cursor):
        # The line the cursor stands on moves down, keeping its indentation.
        ending = "\n" + cursor.line_prefix
        checked = keep_valid(language_id, prefix, text + ending, suffix) if language_id \
            else text + ending
        return checked if checked.endswith(ending) else (checked + ending if checked else "")
    return keep_valid(language_id, prefix, text, suffix) if language_id else text


def _first_line(text: str) -> str:
    """At a line end, a single-line completion may start on the next line."""
    stripped = text.lstrip("\n")
    return text[: len(text) - len(stripped)] + stripped.split("\n", 1)[0]


def _first_line_indent(text: str, cursor: CursorContext) -> str:
    """On an indent-only line the cursor already stands at the indentation: do not repeat it."""
    if cursor.line_prefix and not cursor.line_prefix.strip():
        head, sep, rest = text.partition("\n")
        return head.lstrip(" \t") + sep + rest
    return text


def _trim_line_suffix_overlap(text: str, line_suffix: str) -> str:
    """Drop the end of `text` that repeats what already stands right of the cursor."""
    rest = line_suffix.strip()
    if not rest:
        return text
    body = text.rstrip()
    if body.endswith(rest):
        return body[: len(body) - len(rest)]
    # Partial repeats count only for closing punctuation (`foo(a, b)` before `)`): only
    # the run of closers that starts `rest` can repeat, and no more of it than `body` holds
    # (bounding the search by these keeps it linear in a line of any length).
    closers = len(rest) - len(rest.lstrip(_CLOSER_CHARS))
    for size in range(min(closers, len(body)), 0, -1):
        if body.endswith(rest[:size]):
            return body[: len(body) - size]
    return text


def _leaves_block(line: str, cursor: CursorContext) -> bool:
    return bool(line.strip()) and len(line) - len(line.lstrip()) < block_indent(cursor)


def _only_closers(line: str) -> bool:
    return bool(line.strip()) and set(line.strip()) <= set(")]};,")


def _repeats_suffix(line: str, cursor: CursorContext) -> bool:
    """True when `line` is the next line of text after the cursor (or a later line of the
    cursor's block), written again.

    Closing brackets alone must also stand at the same depth: the `}` of a block the
    completion opened is not the `}` a level out that follows the cursor.
    """
    following = _following_lines(cursor.suffix, not inserts_lines(cursor), REPEAT_SCAN_LINES)
    stripped = line.strip()
    if not following:
        return False
    if stripped == following[0].strip():
        return not _only_closers(line) or _width(line) == _width(following[0])
    # Further down the cursor's block, a line of substance written again at the same depth
    # means the completion has run into code that is already there (issue 13).
    if len(stripped) < REPEAT_MIN_CHARS or _only_closers(line):
        return False
    depth = block_indent(cursor)
    for later in following[1:REPEAT_SCAN_LINES]:
        if len(later) - len(later.lstrip()) < depth:
            return False  # the block ends
        if later.strip() == stripped and _width(later) == _width(line):
            return True
    return False


def _first_repeats(line: str, cursor: CursorContext) -> bool:
    """Whether a first line written as a whole line repeats the code after the cursor.

    In front of a line's text, as any later line does (`_repeats_suffix`). On a blank line,
    only when it is the next line (`line_below`, closers left to `_cut_unmatched_closer`):
    code repeats its own patterns further down (bench.fim: `if err != nil {` at a hole,
    and again four lines below)."""
    if inserts_lines(cursor):
        return _repeats_suffix(cursor.line_prefix + line, cursor)
    below = line_below(cursor)
    return below is not None and line.strip() == below


def _width(line: str) -> int:
    """The columns a line's indentation takes (a tab counted as 4)."""
    return len(line[: len(line) - len(line.lstrip(" \t"))].expandtabs(4))


def _following_lines(suffix: str, skip_first: bool, limit: int) -> list[str]:
    """The first `limit` non-blank lines of `suffix` (after its first line if `skip_first`).

    Read line by line: this runs for every streamed piece, and the suffix may be a whole
    large file.
    """
    lines: list[str] = []
    start = 0
    if skip_first:
        start = suffix.find("\n") + 1
        if start == 0:
            return lines
    while len(lines) < limit and start <= len(suffix):
        end = suffix.find("\n", start)
        line = suffix[start:] if end < 0 else suffix[start:end]
        if line.strip():
            lines.append(line)
        if end < 0:
            break
        start = end + 1
    return lines


def _cut_lines(lines: list[str], cursor: CursorContext) -> list[str]:
    """Stop before a line that leaves the block or repeats the next line after the cursor.

    A line of closing brackets that leaves the block closes it: it stays, and ends the
    completion (when the suffix already closes the block, the closer is cut later).
    """
    for index, line in enumerate(lines):
        if index == 0 and not _writes_whole_lines(cursor):
            continue
        if _first_repeats(line, cursor) if index == 0 else _repeats_suffix(line, cursor):
            return lines[:index]
        if index == 0:
            continue
        if _leaves_block(line, cursor):
            return lines[:index + 1] if _only_closers(line) else lines[:index]
    return lines


def _cut_unmatched_closer(text: str, cursor: CursorContext) -> str:
    """Cut at a closing bracket the completion never opened when the suffix closes it anyway.

    A closer that leads its line deeper than the suffix's next closer, at the depth of a
    line above that opened a block, closes that inner block, which the suffix leaves open
    (`}` at the empty line ending an `if` in a method): it stays, and the scan goes on to a
    later one at the suffix's own depth.
    """
    suffix = cursor.suffix
    rest = suffix.lstrip()
    next_char = rest[:1]
    gap = suffix[:len(suffix) - len(rest)]
    # The suffix's closer on a later line: how deep it stands (None: on the cursor's line).
    suffix_depth = _width(gap[gap.rfind("\n") + 1:]) if "\n" in gap else None
    depth: dict[str, int] = {"(": 0, "[": 0, "{": 0}
    for index, char in enumerate(text):
        if char in depth:
            depth[char] += 1
        elif char in _PAIRS:
            opener = _PAIRS[char]
            if depth[opener] > 0:
                depth[opener] -= 1
                continue
            if next_char != char:
                return text
            line_start = text.rfind("\n", 0, index) + 1
            lead = text[line_start:index]
            if line_start == 0:
                lead = cursor.line_prefix + lead
            if suffix_depth is not None and not lead.strip() and _width(lead) > suffix_depth \
                    and _opened_at(cursor.prefix + text[:line_start], _width(lead)):
                continue
            return text[:index].rstrip()
    return text


def _opened_at(above: str, depth: int, lines: int = 200) -> bool:
    """Whether the nearest line of `above` (its last, unfinished line left out) that is not
    deeper than `depth` stands at `depth` and ends by opening a bracket: a block still open."""
    for line in reversed(above.split("\n")[-lines:-1]):
        if not line.strip():
            continue
        width = _width(line)
        if width <= depth:
            return width == depth and _code_of(line)[-1:] in ("{", "[", "(")
    return False


_LINE_COMMENT = re.compile(r"(?:^|\s)(?://|/\*)")


def _code_of(line: str) -> str:
    """A line without its trailing comment (`else { // vm` opens a block)."""
    found = _LINE_COMMENT.search(line)
    return (line[:found.start()] if found else line).rstrip()


def _indent_unit(text: str) -> str:
    """The file's indentation step: a tab, or the commonest run of spaces between levels."""
    tabs = spaces = 0
    widths: dict[int, int] = {}
    previous = 0
    for line in text.split("\n"):
        if not line.strip():
            continue
        lead = line[: len(line) - len(line.lstrip(" \t"))]
        if lead.startswith("\t"):
            tabs += 1
        elif lead:
            spaces += 1
        width = len(lead.expandtabs(4))
        if width > previous:
            widths[width - previous] = widths.get(width - previous, 0) + 1
        previous = width
    if tabs > spaces:
        return "\t"
    return " " * (max(widths, key=lambda w: (widths[w], -w)) if widths else 4)


def _normalize_indentation(text: str, cursor: CursorContext) -> str:
    """Re-indent the completion's later lines in the file's unit (tabs, or N spaces).

    A later line's indentation is the cursor line's (already in the file's style) plus some
    levels of the model's own step; only those levels are rewritten.
    """
    if "\n" not in text:
        return text
    unit = _indent_unit(cursor.prefix[-4000:] + cursor.suffix[:4000])
    if cursor.indent.startswith("\t"):
        # The cursor's own line says tabs: a file with more space-indented lines (comments,
        # another author's code) must not turn the model's tabs into spaces (bench/fim, Java).
        unit = "\t"
    base = len(cursor.indent.expandtabs(4))
    head, *rest = text.split("\n")
    leads = [line[: len(line) - len(line.lstrip(" \t"))] for line in rest]
    extras = [len(lead.expandtabs(4)) - base for lead, line in zip(leads, rest, strict=True)
              if line.strip() and len(lead.expandtabs(4)) > base]
    if not extras:
        return text
    step = 4 if all(e % 4 == 0 for e in extras) else 2 if all(e % 2 == 0 for e in extras) \
        else min(extras)
    uses_spaces = any(" " in lead for lead in leads)
    if (unit == "\t" and not uses_spaces) or (unit != "\t" and step == len(unit)
                                              and not any("\t" in lead for lead in leads)):
        return text
    fixed = []
    for lead, line in zip(leads, rest, strict=True):
        width = len(lead.expandtabs(4))
        if not line.strip() or width < base:
            fixed.append(line)
            continue
        levels, extra = divmod(width - base, step)
        fixed.append(cursor.indent + unit * levels + " " * extra + line.lstrip(" \t"))
    return "\n".join([head, *fixed])


def _is_repetition(text: str, cursor: CursorContext) -> bool:
    """A degenerate loop, or a copy of the line just above the cursor."""
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    if len(lines) >= 3 and len(set(lines)) == 1:
        return True
    above = _last_text_line(cursor.prefix)
    whole = (cursor.line_prefix + text).strip()
    return above is not None and len(whole) > 3 and "\n" not in text.strip() and \
        whole == above


def _last_text_line(prefix: str) -> str | None:
    """The last non-blank line above the cursor's, stripped; read backwards line by line
    (splitting the whole prefix cost 0.2 s a completion at the end of a 5 MB file)."""
    end = prefix.rfind("\n")
    while end >= 0:
        start = prefix.rfind("\n", 0, end) + 1
        line = prefix[start:end].strip()
        if line:
            return line
        end = start - 1
    return None


