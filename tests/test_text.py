"""LSP positions in utf-8, utf-16 and utf-32, astral characters and line endings included."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lspilot.lsp.text import apply_change, offset_at, position_at

# "😋" is one code point, two utf-16 units and four utf-8 bytes; "é" is two utf-8 bytes.
TEXT = 'x = "😋é"\nnext\r\nlast'


@pytest.mark.parametrize(("encoding", "character", "expected_char"), [
    ("utf-32", 5, "😋"), ("utf-32", 6, "é"), ("utf-32", 7, '"'),
    ("utf-16", 5, "😋"), ("utf-16", 7, "é"), ("utf-16", 8, '"'),
    ("utf-8", 5, "😋"), ("utf-8", 9, "é"), ("utf-8", 11, '"'),
])
def test_offset_at_counts_code_units(encoding: str, character: int, expected_char: str) -> None:
    assert TEXT[offset_at(TEXT, 0, character, encoding)] == expected_char


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-32"])
def test_position_round_trips(encoding: str) -> None:
    for offset in range(len(TEXT) + 1):
        if TEXT[offset - 1:offset + 1] == "\r\n" and offset > 0:
            continue  # between \r and \n is not a position
        line, character = position_at(TEXT, offset, encoding)
        assert offset_at(TEXT, line, character, encoding) == offset


@pytest.mark.parametrize(("line", "character", "offset"), [
    (0, 999, 8),          # past the line's end: the line's end (LSP rule)
    (1, 99, 13),          # CRLF is not part of the line
    (2, 0, 15),
    (7, 0, len(TEXT)),    # past the last line: the text's end
    (-1, 3, 0),
])
def test_out_of_range_positions_land_on_the_nearest_valid_one(line: int, character: int,
                                                            offset: int) -> None:
    assert offset_at(TEXT, line, character, "utf-16") == offset


def test_inside_a_surrogate_pair_rounds_down() -> None:
    assert offset_at(TEXT, 0, 6, "utf-16") == 5


@pytest.mark.parametrize(("encoding", "start", "end", "new", "expected"), [
    ("utf-16", (0, 5), (0, 7), "!", 'x = "!é"\nnext\r\nlast'),
    ("utf-8", (0, 5), (0, 9), "", 'x = "é"\nnext\r\nlast'),
    ("utf-32", (0, 8), (1, 4), "", 'x = "😋é"\r\nlast'),
    ("utf-16", (2, 4), (2, 4), "\nmore", 'x = "😋é"\nnext\r\nlast\nmore'),
    ("utf-16", (3, 0), (3, 0), "!", 'x = "😋é"\nnext\r\nlast!'),
])
def test_apply_change(encoding: str, start: tuple[int, int], end: tuple[int, int], new: str,
                      expected: str) -> None:
    assert apply_change(TEXT, start, end, new, encoding) == expected


# Properties, against a reference built from the spec and Python's own codecs: lines end at
# "\n", "\r\n" or "\r"; a character counts its line's prefix in the encoding's code units.
ENCODINGS = ("utf-8", "utf-16", "utf-32")
# One to four utf-8 bytes, one or two utf-16 units ("\U00020000" is an astral CJK ideograph).
PIECES = ("a", "Z", " ", "\t", "é", "中", "😋", "\U00020000", "\n", "\r\n", "\r")
texts = st.lists(st.sampled_from(PIECES), max_size=40).map("".join)


def reference_position(text: str, offset: int, encoding: str) -> tuple[int, int]:
    *earlier, current = re.split(r"\r\n|\r|\n", text[:offset])
    codec = {"utf-8": "utf-8", "utf-16": "utf-16-le", "utf-32": "utf-32-le"}[encoding]
    width = {"utf-8": 1, "utf-16": 2, "utf-32": 4}[encoding]
    return len(earlier), len(current.encode(codec)) // width


def positions(text: str) -> list[int]:
    """Every offset that is a position: all but the one between "\r" and "\n"."""
    return [o for o in range(len(text) + 1) if text[o - 1:o + 1] != "\r\n" or o == 0]


@given(texts, st.sampled_from(ENCODINGS), st.data())
def test_offsets_and_positions_round_trip(text: str, encoding: str, data: st.DataObject) -> None:
    offset = data.draw(st.sampled_from(positions(text)))
    position = position_at(text, offset, encoding)
    assert position == reference_position(text, offset, encoding)
    assert offset_at(text, *position, encoding) == offset
