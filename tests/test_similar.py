"""Open files by identifier similarity, and recently edited regions."""

from __future__ import annotations

import sysconfig
from pathlib import Path

import pytest

from lspilot.context.similar import (
    RecentEdits,
    Region,
    WindowCache,
    identifiers,
    jaccard,
    similar_snippets,
)


def never(path: str) -> bool:
    """An exclusion rule that excludes nothing."""
    return False


def secrets(path: str) -> bool:
    """The exclusion rule of these tests: dotenv files are secret."""
    return path.rsplit("/", 1)[-1].startswith(".env")


IDENTIFIER_CASES = {
    "keywords and one-letter names say nothing": (
        "def parse(x): return self.cache[x]", {"parse", "cache"}),
    "snake, camel, digits": ("load_config(); fooBar2 = _x9", {"load_config", "fooBar2", "_x9"}),
    "keywords of other languages": ("func (s *Server) Run() error { return nil }",
                                    {"Server", "Run", "error"}),
    "nothing": ("  // {} ()", set()),
}


@pytest.mark.parametrize(("text", "expected"), IDENTIFIER_CASES.values(),
                         ids=IDENTIFIER_CASES.keys())
def test_identifiers(text: str, expected: set[str]) -> None:
    assert identifiers(text) == expected


JACCARD_CASES = {
    "same": ({"a1", "b1"}, {"a1", "b1"}, 1.0),
    "disjoint": ({"a1"}, {"b1"}, 0.0),
    "half": ({"a1", "b1"}, {"a1"}, 0.5),
    "one of three": ({"a1", "b1"}, {"b1", "c1"}, 1 / 3),
    "empty": (set(), {"a1"}, 0.0),
    "both empty": (set(), set(), 0.0),
}


@pytest.mark.parametrize(("a", "b", "expected"), JACCARD_CASES.values(),
                         ids=JACCARD_CASES.keys())
def test_jaccard(a: set[str], b: set[str], expected: float) -> None:
    assert jaccard(frozenset(a), frozenset(b)) == pytest.approx(expected)


def filler(name: str, count: int) -> list[str]:
    """Lines that share no identifier with anything else in these tests."""
    return [f"{name}_{i} = {name}_{i}_value" for i in range(count)]


CURSOR = "total = price_of(item) * quantity\nreceipt.add_line(item, total)"
MATCH = ["def checkout(item, quantity):",
         "    total = price_of(item) * quantity",
         "    receipt.add_line(item, total)"]
HALF = ["    total = price_of(item)"]

# (window_lines, stride, per_file, files) -> [(path, start_line, line count, score)]
WINDOW_CASES = {
    "the matching window of a long file": (
        (4, 2, 1, {"shop.py": [*filler("a", 10), *MATCH, *filler("b", 10)]}),
        # lines 10..12 hold all 6 identifiers (and `checkout`); line 13 adds 2 others
        [("shop.py", 10, 4, 6 / 9)]),
    "a file shorter than a window is one window": (
        (20, 5, 2, {"short.py": MATCH}),
        [("short.py", 0, 3, 6 / 7)]),
    "the tail of a file is looked at": (
        (4, 3, 1, {"tail.py": [*filler("a", 9), *MATCH]}),
        [("tail.py", 8, 4, 6 / 9)]),
    "two best windows that overlap are merged": (
        (4, 1, 2, {"shop.py": [*filler("a", 10), *MATCH, *filler("b", 10)]}),
        # windows 9..12 and 10..13 tie
        [("shop.py", 9, 5, 6 / 9)]),
    "two apart stay two, best first across files": (
        (3, 3, 2, {"b.py": [*MATCH, *filler("a", 9), *HALF, "", ""],
                   "a.py": [*filler("c", 3), *HALF, "", ""]}),
        [("b.py", 0, 3, 6 / 7), ("a.py", 3, 3, 3 / 6), ("b.py", 12, 3, 3 / 6)]),
    "nothing in common gives nothing": (
        (4, 2, 2, {"x.py": filler("a", 30)}), []),
    "an excluded file gives nothing": (
        (4, 2, 2, {".env": MATCH}), []),
}


@pytest.mark.parametrize(("shape", "expected"), WINDOW_CASES.values(), ids=WINDOW_CASES.keys())
def test_similar_windows(shape: tuple[int, int, int, dict[str, list[str]]],
                         expected: list[tuple[str, int, int, float]]) -> None:
    window_lines, stride, per_file, files = shape
    texts = {path: "\n".join(lines) for path, lines in files.items()}
    snippets = similar_snippets(CURSOR, texts.items(), excluded=secrets,
                                window_lines=window_lines, stride=stride, per_file=per_file)
    assert [(s.path, s.start_line, s.text.count("\n") + 1, s.score) for s in snippets] == [
        (path, line, count, round(score, 4)) for path, line, count, score in expected]
    for snippet in snippets:
        lines = files[snippet.path]
        assert snippet.text == "\n".join(lines[snippet.start_line:snippet.end_line + 1])
        assert snippet.source == "open_file"


def test_top_k_keeps_the_best_files() -> None:
    files = [(f"f{i}.py", "\n".join([*filler("z", i), *MATCH[:2]])) for i in range(6)]
    snippets = similar_snippets(CURSOR, files, excluded=never, window_lines=3, stride=1,
                                top_k=3)
    assert len(snippets) == 3
    assert [s.score for s in snippets] == sorted((s.score for s in snippets), reverse=True)


def test_the_cache_cuts_a_file_again_only_when_it_changed() -> None:
    cache = WindowCache(max_files=2)
    text = "\n".join(MATCH)
    first = cache.windows("a.py", text, 4, 2)
    assert cache.windows("a.py", text, 4, 2) is first
    assert cache.windows("a.py", text + "\nmore", 4, 2) is not first
    changed = cache.windows("a.py", text + "\nmore", 4, 2)
    assert cache.windows("a.py", text + "\nmore", 8, 2) is not changed  # other window shape
    cache.windows("b.py", text, 4, 2)
    cache.windows("c.py", text, 4, 2)  # evicts a.py, the least recently used
    again = cache.windows("b.py", text, 4, 2)
    assert cache.windows("b.py", text, 4, 2) is again
    similar = similar_snippets(CURSOR, [("b.py", text)], excluded=never, cache=cache,
                               window_lines=4, stride=2)
    assert similar and cache.windows("b.py", text, 4, 2) is again


DOC = "\n".join(f"line{i}" for i in range(40))

# [(path, start, end, new_text, time)] -> regions newest first
RECORD_CASES = {
    "far apart stay apart": (
        [("a.py", 2, 2, "x", 1.0), ("a.py", 20, 20, "y", 2.0)],
        [Region("a.py", 20, 20, 2.0), Region("a.py", 2, 2, 1.0)]),
    "nearby edits merge, the merged region is as new as its newest edit": (
        [("a.py", 2, 2, "x", 1.0), ("a.py", 5, 5, "y", 2.0), ("b.py", 0, 0, "z", 3.0)],
        [Region("b.py", 0, 0, 3.0), Region("a.py", 2, 5, 2.0)]),
    "lines inserted above move a region down": (
        [("a.py", 20, 20, "x", 1.0), ("a.py", 2, 2, "one\ntwo\nthree\n", 2.0)],
        [Region("a.py", 2, 5, 2.0), Region("a.py", 23, 23, 1.0)]),
    "lines deleted above move a region up": (
        [("a.py", 20, 21, "x\ny", 1.0), ("a.py", 2, 8, "", 2.0)],
        [Region("a.py", 2, 2, 2.0), Region("a.py", 14, 15, 1.0)]),
    "a region deleted with its lines shrinks into the edit": (
        [("a.py", 10, 10, "x", 1.0), ("a.py", 8, 14, "", 2.0)],
        [Region("a.py", 8, 8, 2.0)]),
    "an excluded file is never recorded": (
        [(".env", 0, 0, "TOKEN=x", 1.0)], []),
}


@pytest.mark.parametrize(("edits", "expected"), RECORD_CASES.values(), ids=RECORD_CASES.keys())
def test_record(edits: list[tuple[str, int, int, str, float]], expected: list[Region]) -> None:
    recent = RecentEdits(secrets, merge_gap=3)
    for path, start, end, text, time in edits:
        recent.record(path, start, end, text, time)
    assert recent.regions == expected


def test_the_least_recently_edited_region_goes_first() -> None:
    recent = RecentEdits(never, limit=3)
    for i in range(5):
        recent.record(f"f{i}.py", 0, 0, "x", float(i))
    recent.record("f2.py", 0, 0, "again", 9.0)
    assert [r.path for r in recent.regions] == ["f2.py", "f4.py", "f3.py"]
    recent.forget("f4.py")
    assert [r.path for r in recent.regions] == ["f2.py", "f3.py"]


def test_snippets_newest_first_without_the_cursors_own_region() -> None:
    recent = RecentEdits(never)
    texts = {"a.py": DOC, "b.py": DOC}
    recent.record("a.py", 10, 10, "line10", 1.0)
    recent.record("b.py", 30, 30, "line30", 2.0)
    recent.record("a.py", 30, 31, "line30\nline31", 3.0)
    recent.record("gone.py", 0, 0, "x", 4.0)
    recent.record("a.py", 0, 0, "line0", 5.0)
    snippets = recent.snippets("a.py", 30, texts.get, context_lines=1)
    assert [(s.path, s.start_line, s.text, s.score) for s in snippets] == [
        ("a.py", 0, "line0\nline1", 0.9),
        ("b.py", 29, "line29\nline30\nline31", 0.8),
        ("a.py", 9, "line9\nline10\nline11", 0.7)]
    assert all(s.source == "recent_edit" for s in snippets)
    skipped = recent.snippets("a.py", 5, texts.get, skip_lines=range(0, 11), limit=1)
    assert [(s.path, s.start_line) for s in skipped] == [("a.py", 28)]


def test_snippets_follow_the_text_as_it_is_now() -> None:
    recent = RecentEdits(never)
    recent.record("a.py", 38, 38, "x", 1.0)
    short = "\n".join(DOC.split("\n")[:37])  # the file lost its tail since
    assert recent.snippets("b.py", 0, {"a.py": short}.get, context_lines=2) == []
    recent.record("a.py", 5, 5, "y", 2.0)
    long_region = recent.snippets("b.py", 0, {"a.py": DOC}.get, context_lines=50,
                                  max_lines=4)
    # Both regions show as the same first lines: once is enough.
    assert [(s.start_line, s.text) for s in long_region] == [(0, "line0\nline1\nline2\nline3")]


@pytest.mark.parametrize(("window_lines", "stride"), [(20, 5), (7, 3), (60, 60)])
def test_the_best_score_is_the_best_windows_jaccard(window_lines: int, stride: int) -> None:
    source = (Path(sysconfig.get_paths()["stdlib"]) / "textwrap.py").read_text()
    lines = source.split("\n")
    cursor = "\n".join(lines[100:115])
    other = "\n".join(lines[:100] + lines[115:])
    [best] = similar_snippets(cursor, [("textwrap.py", other)], excluded=never,
                              window_lines=window_lines, stride=stride, per_file=1)
    rest = other.split("\n")
    starts = [*range(0, len(rest) - window_lines + 1, stride), len(rest) - window_lines]
    expected = max(jaccard(identifiers(cursor),
                           identifiers("\n".join(rest[start:start + window_lines])))
                   for start in starts)
    assert best.score == round(expected, 4)
    assert best.score == round(jaccard(identifiers(cursor), identifiers(best.text)), 4)
