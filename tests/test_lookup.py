"""The prompt-lookup drafter: it follows the longest match of the latest tokens."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from llama_cpp.llama_speculative import LlamaPromptLookupDecoding

from lspilot.models.backends.lookup import (
    LONGEST_MATCH,
    MIN_MATCH,
    CopyLookup,
    best_match,
)


def ids(*tokens: int) -> np.ndarray:
    return np.array(tokens, dtype=np.intc)


@pytest.mark.parametrize(("tokens", "follow", "expected"), [
    # The latest tokens 7 8 9 match at 2..4; the draft starts after it.
    ((1, 2, 7, 8, 9, 3, 4, 7, 8, 9), -1, (5, 3)),
    # A longer match wins over a later, shorter one: 6 7 8 9 at 1..4, only 8 9 at 6..7.
    ((5, 6, 7, 8, 9, 1, 8, 9, 2, 6, 7, 8, 9), -1, (5, 4)),
    # Equally long matches: the latest wins...
    ((8, 9, 1, 8, 9, 2, 8, 9), -1, (5, 2)),
    # ...unless the copy goes on right where the last draft ended.
    ((8, 9, 1, 8, 9, 2, 8, 9), 2, (2, 2)),
    # One matching token is not enough.
    ((1, 2, 3, 4, 9, 4), -1, (-1, 0)),
    # Nothing matches.
    ((1, 2, 3), -1, (-1, 0)),
    # Too short to match anything.
    ((1, 1), -1, (-1, 0)),
])
def test_best_match(tokens: tuple[int, ...], follow: int, expected: tuple[int, int]) -> None:
    assert best_match(ids(*tokens), follow) == expected


def test_a_copy_is_drafted_from_its_source_not_from_the_first_look_alike() -> None:
    # A file with a line repeated in shape ("x = a" / "x = b"), copied after an instruction:
    # at "x =" the builtin drafter follows the first "x =", the copy its own place.
    source = [10, 11, 1, 12, 20, 11, 1, 13, 21]  # "def f" "x" "=" "a" ... "x" "=" "b" ...
    copied = [99, 10, 11, 1, 12, 20, 11, 1]  # the answer so far, at the second "x ="
    context = ids(*source, *copied)
    drafter = CopyLookup(num_pred_tokens=2)
    assert list(drafter(context)) == [13, 21]
    builtin = LlamaPromptLookupDecoding(max_ngram_size=2, num_pred_tokens=2)
    assert list(builtin(context)) == [12, 20]


def test_the_drafter_goes_on_where_its_last_draft_ended() -> None:
    # "8 9" then 1 or 2: after an edit ("0 8 9"), two places match as long; the one where
    # the last draft ended wins over the latest, as the copy goes on from there.
    drafter = CopyLookup(num_pred_tokens=2)
    source = [8, 9, 1, 3, 8, 9, 2, 4]
    assert list(drafter(ids(*source, 5, 8))) == []  # "5 8" is nowhere: no draft
    assert list(drafter(ids(*source, 3, 8))) == [9, 2]  # "3 8" at 3..4, the latest
    assert drafter._follow == 7
    drafter._follow = 2  # as if the last draft had ended at the first "1"
    assert list(drafter(ids(*source, 0, 8, 9))) == [1, 3]
    drafter.reset()
    assert list(drafter(ids(*source, 0, 8, 9))) == [2, 4]  # the latest "8 9"


@given(st.lists(st.integers(0, 5), min_size=1, max_size=80), st.integers(1, 40))
def test_a_draft_always_follows_a_real_match(tokens: list[int], size: int) -> None:
    context = ids(*tokens)
    draft = CopyLookup(num_pred_tokens=size)(context)
    found, length = best_match(context, want=size)
    assert found < 0 or length >= MIN_MATCH
    if found < 0:
        assert draft.size == 0
        return
    assert 0 < draft.size <= size
    assert list(draft) == tokens[found:found + size]
    # The tokens before the draft's start end like the context does, for at least MIN_MATCH.
    run = 0
    while run < min(found, LONGEST_MATCH) and tokens[found - 1 - run] == tokens[-1 - run]:
        run += 1
    assert run >= MIN_MATCH
