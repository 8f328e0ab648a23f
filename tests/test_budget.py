"""budget.fit: value decides what goes in, stability decides the order, never over budget."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lspilot.context.budget import fit
from lspilot.context.snippet import Snippet


def words(text: str) -> int:
    """A stand-in tokenizer: one token per whitespace-separated word."""
    return len(text.split())


def snip(source: str, path: str, text: str, score: float, line: int = 0) -> Snippet:
    return Snippet(source, path, text, score, line)  # type: ignore[arg-type]


A = snip("definition", "a.py", "def a(): pass", 0.9)          # 4 words with path
B = snip("usage", "b.py", "a(1)", 0.8, 10)                    # 2
C = snip("git_diff", "c.py", "x = 1\ny = 2", 0.7, 3)          # 7
D = snip("open_file", "d.py", "one two three four five six", 0.95)  # 7


@pytest.mark.parametrize(("snippets", "budget", "expected"), [
    ([A, B, C, D], 100, [A, B, D, C]),        # all fit: ordered by source stability
    ([A, B, C, D], 11, [A, D]),               # D (0.95) then A (0.9); B would overflow
    ([A, B, C, D], 13, [A, B, D]),            # a smaller one still fits after a miss
    ([A, B, C, D], 0, []),
    ([snip("usage", "b.py", "   \n", 1.0), B], 10, [B]),   # blank snippets never go in
    ([B, B, A], 100, [A, B]),                 # duplicates collapse
])
def test_fit(snippets: list[Snippet], budget: int, expected: list[Snippet]) -> None:
    assert fit(snippets, budget, words) == expected


def test_a_whole_definition_replaces_its_header_when_it_fits() -> None:
    header = snip("definition", "m.py", "def f(x):\n    '''Doc.'''", 0.9, 4)
    whole = snip("definition", "m.py", "def f(x):\n    '''Doc.'''\n    return x", 0.6, 4)
    other = snip("usage", "u.py", "f(2)", 0.7)
    assert fit([whole, header, other], 100, words) == [whole, other]
    # Only room for the header and the usage: the body does not displace them.
    assert fit([whole, header, other], 7, words) == [header, other]


def test_a_snippet_inside_a_chosen_one_is_dropped() -> None:
    outer = snip("definition", "m.py", "class K:\n    def f(self): pass\n    x = 1", 0.9, 0)
    inner = snip("usage", "m.py", "    def f(self): pass", 0.5, 1)
    assert fit([outer, inner], 100, words) == [outer]


# Small pools of paths, lines, texts and scores, so that ties, duplicates, snippets inside
# others and over-budget ones are common.
SOURCES = st.sampled_from(["definition", "usage", "git_diff", "open_file", "recent_edit",
                           "scope"])
SCORES = st.sampled_from([0.1, 0.5, 0.9, 1.0])
snippets = st.builds(
    snip, SOURCES, st.sampled_from(["a.py", "b.py", "p/c.py"]),
    st.lists(st.sampled_from(["x = 1", "def f():", "    return x", "", "  "]), min_size=1,
             max_size=4).map("\n".join),
    SCORES, st.integers(0, 4))


@given(st.data())
def test_same_input_any_order_same_output(data: st.DataObject) -> None:
    pool = data.draw(st.lists(snippets, max_size=12))
    # The same code again from another source, at another score or for another reason.
    again = st.tuples(st.sampled_from(pool), SOURCES, SCORES, st.sampled_from(["", "why"]))
    pool += [dataclasses.replace(s, source=source, score=score, reason=reason)
             for s, source, score, reason in (data.draw(st.lists(again, max_size=4))
                                              if pool else [])]
    budget = data.draw(st.integers(0, 40))
    expected = fit(pool, budget, words)
    assert fit(data.draw(st.permutations(pool)), budget, words) == expected
    assert sum(words(f"{s.path}\n{s.text}\n") for s in expected) <= budget
