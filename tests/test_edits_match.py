"""Finding SEARCH text: exact, whitespace-tolerant, fuzzy when unique (edits.match)."""

from __future__ import annotations

import pytest

from lspilot.edits.match import find, reindent
from lspilot.edits.task import EditError

FILE = """\
def load(path):
    with open(path) as f:
        return parse(f.read())


def save(path, data):
    with open(path) as f:
        f.write(dump(data))


def parse(text):
    return [line.split(",") for line in text.splitlines()]
""".split("\n")


@pytest.mark.parametrize(("search", "span", "stage"), [
    (["def save(path, data):"], (5, 6), "exact"),
    (["    with open(path) as f:", "        return parse(f.read())"], (1, 3), "exact"),
    # indentation lost, spaces doubled, trailing spaces
    (["with open(path) as f:", "    return parse(f.read())  "], (1, 3), "whitespace"),
    (["def  save(path,  data):"], (5, 6), "whitespace"),
    # a blank line the model dropped between two lines it copied
    (["        return parse(f.read())", "def save(path, data):"], (2, 6), "whitespace"),
    # a word the model misremembered
    (["def parse(txt):", "    return [line.split(',') for line in text.splitlines()]"],
     (10, 12), "fuzzy"),
], ids=["exact-line", "exact-lines", "indent", "inner-spaces", "blank-line", "fuzzy"])
def test_stages(search: list[str], span: tuple[int, int], stage: str) -> None:
    match = find(FILE, search, "block 1 (a.py)")
    assert (match.start, match.end, match.stage) == (*span, stage)


@pytest.mark.parametrize(("search", "message"), [
    (["    with open(path) as f:"], "block 1 (a.py): the SEARCH text matches 2 places "
     "(lines 2, 7); include more lines"),
    (["with open(path) as f:"], "matches 2 places (ignoring whitespace)"),
    (["def remove(path):", "    os.unlink(path)"], "block 1 (a.py): the SEARCH text is not in "
     "the file; did you mean lines"),
    (["", "  "], "only blank lines"),
], ids=["two-exact", "two-whitespace", "missing", "blank"])
def test_ambiguous_or_missing_text_names_the_block(search: list[str], message: str) -> None:
    with pytest.raises(EditError) as raised:
        find(FILE, search, "block 1 (a.py)")
    assert message in str(raised.value)


def test_did_you_mean_shows_the_closest_lines() -> None:
    with pytest.raises(EditError) as raised:
        find(FILE, ["def save(path, data, mode):", "    with open(path, mode) as fh:",
                    "        fh.write(json.dumps(data))", "        fh.flush()"], "block 2 (a.py)")
    message = str(raised.value)
    assert "did you mean lines 6-" in message
    assert "    6| def save(path, data):" in message


def test_fuzzy_match_must_be_unique() -> None:
    lines = ["def a():", "    return compute(1, 2)", "", "def b():", "    return compute(1, 3)"]
    with pytest.raises(EditError, match="approximately"):
        find(lines, ["    return compute(1, 4)"], "block 1 (a.py)")


@pytest.mark.parametrize(("replace", "search", "found", "expected"), [
    (["x = 2", "if x:", "    y()"], ["x = 1"], ["        x = 1"],
     ["        x = 2", "        if x:", "            y()"]),
    (["x = 2"], ["    x = 1"], ["\tx = 1"], ["\tx = 2"]),
    (["x = 2", "    y"], ["x = 1"], ["\tx = 1"], ["\tx = 2", "\t\ty"]),
    (["    x = 2"], ["    x = 1"], ["    x = 1"], ["    x = 2"]),
], ids=["dedented", "spaces-for-tab", "tab-file-nested", "same"])
def test_reindent_moves_replacement_to_the_found_indentation(
        replace: list[str], search: list[str], found: list[str], expected: list[str]) -> None:
    assert reindent(replace, search, found) == expected
