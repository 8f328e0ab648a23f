"""The typed-ahead cache, table-driven."""

from __future__ import annotations

import pytest

from lspilot.completion.cache import CompletionCache, Shown

SHOWN = Shown("file:///a.py", "def add(a, b):\n    return ", "\n", "a + b")


@pytest.mark.parametrize(("uri", "prefix", "suffix", "expected"), [
    (SHOWN.uri, SHOWN.prefix, "\n", "a + b"),             # the same cursor again
    (SHOWN.uri, SHOWN.prefix + "a", "\n", " + b"),        # typed the first character
    (SHOWN.uri, SHOWN.prefix + "a + ", "\n", "b"),
    (SHOWN.uri, SHOWN.prefix + "a + b", "\n", None),      # typed it all: nothing left
    (SHOWN.uri, SHOWN.prefix + "x", "\n", None),          # typed something else
    (SHOWN.uri, SHOWN.prefix + "a", "\nmore", None),      # the suffix changed
    ("file:///b.py", SHOWN.prefix, "\n", None),           # another document
    (SHOWN.uri, SHOWN.prefix[:-1], "\n", None),           # deleted a character
    (SHOWN.uri, "# edit\n" + SHOWN.prefix + "a", "\n", None),  # changed text above
])
def test_lookup(uri: str, prefix: str, suffix: str, expected: str | None) -> None:
    cache = CompletionCache()
    cache.store(SHOWN)
    assert cache.lookup(uri, prefix, suffix) == expected


def test_least_recently_used_entries_go_first() -> None:
    cache = CompletionCache(size=2)
    for i in range(3):
        cache.store(Shown("u", f"p{i}", "", f"t{i}"))
    assert cache.lookup("u", "p0", "") is None
    assert cache.lookup("u", "p2", "") == "t2"


def test_empty_completions_are_not_stored() -> None:
    cache = CompletionCache()
    cache.store(Shown("u", "p", "", ""))
    assert cache.lookup("u", "p", "") is None


def test_closing_a_document_forgets_its_completions() -> None:
    cache = CompletionCache()
    cache.store(SHOWN)
    cache.store(Shown("file:///b.py", "x = ", "", "1"))
    cache.forget(SHOWN.uri)
    assert cache.lookup(SHOWN.uri, SHOWN.prefix, "\n") is None
    assert cache.lookup("file:///b.py", "x = ", "") == "1"


def test_an_entry_does_not_keep_the_document_text() -> None:
    import sys

    cache = CompletionCache()
    big = "x" * 5_000_000
    cache.store(Shown("u", big, big, "done"))
    entry = next(iter(cache._entries.values()))
    assert sum(sys.getsizeof(v) for v in vars(entry).values()) < 2_000
    assert cache.lookup("u", big + "d", big) == "one"
