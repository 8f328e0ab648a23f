"""Open documents under hostile edits, and the costs that must not grow with a document or
a line.

The line index is checked against a fresh scan after every random edit; edits that split a
character follow the documented rule; and the work a keystroke or a prompt does is bounded
by counting what is tokenized, not by timing it.
"""

from __future__ import annotations

import random

import pytest

from lspilot.completion.cursor import cursor_at
from lspilot.completion.offer import word_before
from lspilot.completion.pipeline import LARGE_DOCUMENT_CHARS
from lspilot.completion.postprocess import postprocess
from lspilot.context.window import MAX_CHARS_PER_TOKEN, fit_window
from lspilot.lsp.documents import Documents
from lspilot.lsp.text import LineStarts, locate

PIECES = ["a", "\r", "\n", "\r\n", "é", "😀", "\x00", "xyz\n"]


def fresh_starts(text: str) -> list[int]:
    starts = [0]
    for index, char in enumerate(text):
        if char == "\n" or (char == "\r" and text[index + 1:index + 2] != "\n"):
            starts.append(index + 1)
    return starts


@pytest.mark.parametrize("seed", range(3))
def test_the_line_index_matches_a_fresh_scan_after_every_edit(seed: int) -> None:
    rng = random.Random(seed)
    docs = Documents()
    text = "".join(rng.choice(PIECES) for _ in range(30))
    docs.open("file:///a.py", "python", 1, text)
    for version in range(2, 400):
        doc = docs.get("file:///a.py")
        assert doc is not None
        assert doc.starts.tolist() == fresh_starts(doc.text)
        lines = len(doc.starts)
        start = (rng.randrange(lines + 1), rng.randrange(6))
        end = (rng.randrange(lines + 1), rng.randrange(6))
        new = "".join(rng.choice(PIECES) for _ in range(rng.randrange(4)))
        docs.change("file:///a.py", version, [((start, end), new)],
                    rng.choice(["utf-8", "utf-16", "utf-32"]))
    doc = docs.get("file:///a.py")
    assert doc is not None and doc.starts.tolist() == fresh_starts(doc.text)


@pytest.mark.parametrize(("encoding", "character", "offset", "inside"), [
    ("utf-16", 1, 1, False), ("utf-16", 2, 1, True), ("utf-16", 3, 2, False),
    ("utf-8", 1, 1, False), ("utf-8", 3, 1, True), ("utf-8", 5, 2, False),
    ("utf-32", 2, 2, False), ("utf-16", 99, 3, False),
])
def test_locate_says_when_a_position_falls_inside_a_character(
        encoding: str, character: int, offset: int, inside: bool) -> None:
    text = "a😀b\n"
    assert locate(text, 0, character, encoding, LineStarts.of(text)) == (offset, inside)


@pytest.mark.parametrize(("encoding", "start", "end", "new", "expected"), [
    ("utf-16", (0, 2), (0, 3), "", "a\ufffdb😀b"),     # half a pair deleted: U+FFFD stays
    ("utf-16", (0, 2), (0, 2), "x", "a\ufffdx\ufffdb😀b"),
    ("utf-16", (0, 2), (0, 5), "", "a\ufffd\ufffdb"),  # two pairs split by one edit
    ("utf-16", (0, 2), (0, 2), "", "a😀b😀b"),          # an empty edit splits nothing
    ("utf-8", (0, 3), (0, 5), "x", "axb😀b"),         # utf-8: lands on the character's start
    ("utf-32", (0, 1), (0, 2), "", "ab😀b"),
])
def test_edits_inside_a_character(encoding: str, start: tuple[int, int],
                                  end: tuple[int, int], new: str, expected: str) -> None:
    docs = Documents()
    docs.open("file:///a.py", "python", 1, "a😀b😀b")
    docs.change("file:///a.py", 2, [((start, end), new)], encoding)
    doc = docs.get("file:///a.py")
    assert doc is not None and doc.text == expected
    assert doc.syntax is not None and str(doc.syntax.root_node)  # the tree follows


def test_large_documents_are_not_read_as_context() -> None:
    docs = Documents()
    docs.open("file:///small.py", "python", 1, "x = 1\n")
    docs.open("file:///large.py", "python", 1, "x" * (LARGE_DOCUMENT_CHARS + 1))
    assert [d.uri for d in docs.for_context()] == ["file:///small.py"]
    assert len(docs.all()) == 2


class Counting:
    """A tokenizer of one token per character that records the longest text it was given."""

    def __init__(self) -> None:
        self.longest = 0

    def __call__(self, text: str) -> int:
        self.longest = max(self.longest, len(text))
        return len(text)


@pytest.mark.parametrize(("prefix", "suffix"), [
    ("x = '" + "a" * 1_000_000, "'\n"),                  # the cursor in a 1 MB line
    ("x = 1\n" * 200_000, "y = 2\n" * 200_000),          # a large file, anchor or not
    ("x = 1\r" * 200_000, "y = 2\r" * 200_000),          # lone CR: one line of 1.2 MB
])
@pytest.mark.parametrize("anchor", [None, 0])
def test_the_window_tokenizes_no_more_than_its_budget_allows(prefix: str, suffix: str,
                                                             anchor: int | None) -> None:
    count = Counting()
    window = fit_window(prefix, suffix, 1000, 0.25, count, anchor)
    assert count.longest <= 1000 * MAX_CHARS_PER_TOKEN
    assert count(window.prefix) + count(window.suffix) <= 1000
    assert prefix.endswith(window.prefix) and suffix.startswith(window.suffix)
    assert len(window.prefix) > 0


def test_postprocessing_a_one_megabyte_line_keeps_its_rule() -> None:
    # Was quadratic in the text right of the cursor (a 1 MB line never answered).
    cursor = cursor_at("x = f(" + ")" * 1_000_000, len("x = f("))
    assert postprocess("a, b))", cursor, multiline=False, max_lines=8) == "a, b"
    closers = cursor_at("x = f(" + "]" * 1_000_000, len("x = f("))
    assert postprocess("a, b)", closers, multiline=False, max_lines=8) == "a, b)"


@pytest.mark.parametrize(("prefix", "word"), [
    ("x = '" + "a" * 1_000_000 + "' ", ""),   # was quadratic in the word: never answered
    ("x = " + "a" * 1_000_000, "a" * 1_000_000),
    ("y = $el", "$el"),
])
def test_the_word_before_the_cursor_in_a_long_line(prefix: str, word: str) -> None:
    assert word_before(prefix) == word
