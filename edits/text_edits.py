"""A rewritten file as the few text edits that turn the old text into it: a line diff."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from difflib import SequenceMatcher

from lspilot.edits.style import conform, line_ending, split_lines


@dataclass(frozen=True)
class TextEdit:
    """Replace `old[start:end]` (code-point offsets into the old text) with `new_text`."""

    start: int
    end: int
    new_text: str


def text_edits(old: str, new: str) -> list[TextEdit]:
    """Minimal line-level edits from `old` to `new` in `old`'s style, in order, disjoint.

    Lines that did not change are not inside any edit, so an editor keeps their marks,
    folds and cursors; every edit starts and ends at a line start or a line's end, never
    between the `\\r` and `\\n` of a CRLF. `new` is first conformed to `old`'s line endings,
    indentation style and final newline (`style.conform`).
    """
    new = conform(old, new)
    if new == old:
        return []
    if not old:
        return [TextEdit(0, 0, new)]
    # A last line without a newline would differ from the same line with one once lines
    # are appended after it: diff both texts with a newline added, then take it off again.
    added = "" if old.endswith("\n") else line_ending(old)
    old_lines = [c + t for c, t in split_lines(old + added)]
    new_lines = [c + t for c, t in split_lines(new + added)]
    starts = [0]
    for line in old_lines:
        starts.append(starts[-1] + len(line))
    edits = []
    matcher = SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        start, end, text = starts[i1], starts[i2], "".join(new_lines[j1:j2])
        if added and end > len(old):  # the edit reaches the newline that was added
            if start > len(old):  # lines appended: after a newline, before the new lines
                start, end, text = len(old), len(old), added + text[:-len(added)]
            elif text:
                end, text = len(old), text[:-len(added)]
            else:  # the last lines deleted: the line before them loses its newline
                start, end = start - len(split_lines(old[:start])[-1][1]), len(old)
        edits.append(TextEdit(start, end, text))
    return edits


def apply_edits(text: str, edits: Iterable[TextEdit]) -> str:
    """`text` with disjoint edits applied (what an editor does with them)."""
    out, at = [], 0
    for edit in sorted(edits, key=lambda e: (e.start, e.end)):
        if edit.start < at or edit.end < edit.start or edit.end > len(text):
            raise ValueError(f"overlapping or out-of-range edit {edit}")
        out.append(text[at:edit.start])
        out.append(edit.new_text)
        at = edit.end
    out.append(text[at:])
    return "".join(out)
