"""Rewritten files as minimal line edits, in the file's own style (edits.text_edits, style)."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lspilot.edits.style import conform
from lspilot.edits.text_edits import TextEdit, apply_edits, text_edits


@pytest.mark.parametrize(("old", "new", "edits"), [
    ("a\nb\nc\n", "a\nb\nc\n", []),
    ("a\nb\nc\n", "a\nB\nc\n", [TextEdit(2, 4, "B\n")]),
    ("a\nb\n", "a\nb\nc\n", [TextEdit(4, 4, "c\n")]),
    ("a\nb\nc\n", "a\nc\n", [TextEdit(2, 4, "")]),
    # no final newline: appending or deleting leaves the last line's text alone
    ("a\nb", "a\nb\nc", [TextEdit(3, 3, "\nc")]),
    ("a\nb\nc", "a\nb", [TextEdit(3, 5, "")]),
    ("a\r\nb", "a", [TextEdit(1, 4, "")]),
    ("", "new\n", [TextEdit(0, 0, "new\n")]),
    ("a\n", "", [TextEdit(0, 2, "")]),
], ids=["same", "change", "append", "delete", "append-no-eol", "delete-last-no-eol",
        "delete-last-crlf", "new-file", "empty"])
def test_text_edits_are_minimal_line_edits(old: str, new: str, edits: list[TextEdit]) -> None:
    assert text_edits(old, new) == edits
    assert apply_edits(old, edits) == new


@pytest.mark.parametrize(("old", "model", "expected"), [
    # CRLF stays CRLF when the model answers with LF, on changed lines too
    ("a\r\nb\r\nc\r\n", "a\nB\nc\nd\n", "a\r\nB\r\nc\r\nd\r\n"),
    # a tab-indented file stays tab-indented when the model writes spaces
    ("def f():\n\tif x:\n\t\treturn 1\n", "def f():\n    if x:\n        return 2\n",
     "def f():\n\tif x:\n\t\treturn 2\n"),
    # ... and a space-indented one stays with spaces when the model writes tabs
    ("def f():\n    return 1\n", "def f():\n\treturn 2\n", "def f():\n    return 2\n"),
    # a two-space file keeps its unit when the model writes tabs
    ("if x {\n  a()\n}\n", "if x {\n\ta()\n\tb()\n}\n", "if x {\n  a()\n  b()\n}\n"),
    # the final newline as the file had it, whatever the model wrote
    ("a\nb", "a\nB\n", "a\nB"),
    ("a\nb", "a\nB\n\n\n", "a\nB"),
    ("a\nb\n", "a\nB", "a\nB\n"),
    # lines the model left alone up to whitespace come back verbatim (trailing spaces kept)
    ("x = 1   \ny = 2\n", "x = 1\ny = 3\n", "x = 1   \ny = 3\n"),
    # alignment after tabs survives when the model expanded the tabs
    ("\tcall(a,\n\t     b)\n\treturn\n", "    call(a,\n         b)\n    return x\n",
     "\tcall(a,\n\t     b)\n\treturn x\n"),
    # a real change of indentation is applied (in the file's style)
    ("\tx()\n", "\t\tx()\n", "\t\tx()\n"),
    # a mixed file keeps each unchanged line's own ending
    ("a\r\nb\nc\r\n", "a\nb\nC\n", "a\r\nb\nC\r\n"),
], ids=["crlf", "tabs", "spaces", "two-spaces", "no-final-newline", "no-final-newlines",
        "final-newline", "trailing-spaces", "alignment", "reindent", "mixed-endings"])
def test_conform_keeps_the_files_style(old: str, model: str, expected: str) -> None:
    assert conform(old, model) == expected
    assert apply_edits(old, text_edits(old, model)) == expected


def test_edits_never_split_a_crlf() -> None:
    old = "one\r\ntwo\r\nthree"
    for new in ("one\nTWO\nthree", "one\ntwo", "one\ntwo\nthree\nfour", "zero\none\ntwo\nthree"):
        for edit in text_edits(old, new):
            for offset in (edit.start, edit.end):
                assert not (0 < offset < len(old) and old[offset - 1] == "\r"
                            and old[offset] == "\n"), (new, edit)


def test_apply_edits_refuses_overlaps() -> None:
    with pytest.raises(ValueError):
        apply_edits("abcdef", [TextEdit(0, 3, "x"), TextEdit(2, 4, "y")])


# Properties over texts made of a few distinct lines, so that diffs have both equal and
# changed runs.
_line = st.sampled_from(["a", "b", "c", "def f():", "    return 1", "", "x = [", "]"])
_lines = st.lists(_line, max_size=12)


def _text(lines: list[str], eol: str, final: bool) -> str:
    return eol.join(lines) + (eol if final and lines else "")


@settings(max_examples=300, deadline=None)
@given(_lines, _lines, st.sampled_from(["\n", "\r\n"]), st.booleans())
def test_applying_the_edits_gives_the_new_text(old_lines: list[str], new_lines: list[str],
                                               eol: str, final: bool) -> None:
    old, new = _text(old_lines, eol, final), _text(new_lines, eol, final)
    edits = text_edits(old, new)
    expected = conform(old, new)
    assert apply_edits(old, edits) == expected
    if "\n" in old and old.endswith("\n") == new.endswith("\n"):
        assert expected == new  # already in the file's style: taken as it is
    assert conform(old, expected) == expected  # conform is idempotent


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 4), _lines, _lines, st.sampled_from(["\n", "\r\n"]), st.booleans())
def test_unchanged_lines_are_untouched(size: int, old_mid: list[str], new_mid: list[str],
                                       eol: str, final: bool) -> None:
    # Whatever changes in the middle, the lines before and after it (unlike any line in
    # the middle, so that the diff cannot align them elsewhere) are in no edit.
    head = [f"head{i}" for i in range(size)]
    tail = ["tail1", "tail2"]
    old = _text(["head", *head, *old_mid, *tail], eol, final)
    new = _text(["head", *head, *new_mid, *tail], eol, final)
    prefix = len(eol.join(["head", *head]) + eol)
    suffix = len(eol.join(tail) + (eol if final else ""))
    edits = text_edits(old, new)
    assert (edits == []) == (old == new)
    for edit in edits:
        assert edit.start >= prefix - len(eol) and edit.end <= len(old) - suffix, edit
        # an edit at the end of the head's last line only takes its line ending
        assert old[edit.start:prefix].strip("\r\n") == ""
    assert all(a.end <= b.start for a, b in pairwise(edits))


_indented = st.lists(st.tuples(st.integers(0, 3), st.sampled_from(["a", "b", "call()", "x = 1"])),
                     max_size=10)


def _indent(lines: list[tuple[int, str]], unit: str) -> str:
    return "".join(unit * level + word + "\n" for level, word in lines)


@settings(max_examples=300, deadline=None)
@given(_indented, _indented)
def test_a_tab_file_stays_tabbed_when_the_model_writes_spaces(
        old_lines: list[tuple[int, str]], new_lines: list[tuple[int, str]]) -> None:
    old = _indent([(1, "first"), *old_lines], "\t")
    wanted = _indent([(1, "first"), *new_lines], "\t")
    model = _indent([(1, "first"), *new_lines], "    ")
    assert conform(old, model) == wanted
    assert apply_edits(old, text_edits(old, model)) == wanted
