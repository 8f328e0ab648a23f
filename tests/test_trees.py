"""The incremental tree of a document matches a fresh parse after every edit."""

from __future__ import annotations

import random

import pytest

from lspilot.context.languages import parser
from lspilot.context.trees import MAX_TREE_BYTES, DocumentTree
from lspilot.lsp.documents import Documents

SOURCES = {
    "python": 'def área(x):\n    """Döc 😀."""\n    return x + 1\n\nclass K:\n    pass\n',
    "rust": "fn main() {\n    let s = \"héllo 😀\";\n    println!(\"{}\", s);\n}\n",
    "go": "package main\n\nfunc f(a int) int {\n\treturn a * 2 // ü\n}\n",
}


def fresh(language_id: str, text: str) -> str:
    ts = parser(language_id)
    assert ts is not None
    return str(ts.parse(text.encode("utf-8")).root_node)


@pytest.mark.parametrize("language_id", sorted(SOURCES))
def test_random_edits_match_a_fresh_parse(language_id: str) -> None:
    rng = random.Random(7)
    text = SOURCES[language_id]
    doc = DocumentTree(language_id, text)
    pieces = ["", "x", "(", ")", "\n    ", "é", "😀", "def g():\n    return 2\n", '"', "{"]
    for _ in range(200):
        a = rng.randrange(len(text) + 1)
        b = min(len(text), a + rng.randrange(4))
        new = rng.choice(pieces)
        text = text[:a] + new + text[b:]
        doc.replace(a, b, new)
        assert doc.text == text
        assert doc.tree is not None
        assert str(doc.tree.root_node) == fresh(language_id, text)


def test_a_keystroke_reparses_only_around_the_edit() -> None:
    body = "".join(f"def f{i}(x):\n    return x + {i}\n\n" for i in range(2000))
    doc = DocumentTree("python", body)
    assert doc.tree is not None  # parsed when first read
    at = body.index("def f1000")
    doc.replace(at, at, "y = 1\n")
    assert doc.tree is not None and not doc.tree.root_node.has_error
    assert 0 < doc.reparsed_bytes < 200, doc.reparsed_bytes


def test_unknown_language_keeps_text_without_a_tree() -> None:
    doc = DocumentTree("cobol", "IDENTIFICATION DIVISION.")
    doc.replace(0, 0, "  ")
    assert doc.tree is None and doc.text == "  IDENTIFICATION DIVISION."


def test_documents_report_edits_in_code_points_and_keep_the_tree() -> None:
    docs = Documents()
    docs.open("file:///a.py", "python", 1, "x = 1\ny = '😀'\n")
    # utf-16: the emoji is two units; insert after it on line 1.
    edits = docs.change("file:///a.py", 2, [(((1, 7), (1, 7)), "!")], "utf-16")
    doc = docs.get("file:///a.py")
    assert doc is not None
    assert doc.text == "x = 1\ny = '😀!'\n"
    assert [(e.start, e.end, e.text, e.start_line, e.end_line) for e in edits] == [
        (12, 12, "!", 1, 1)]
    assert str(doc.tree.tree.root_node) == fresh("python", doc.text)  # type: ignore[union-attr]


def test_keystrokes_only_edit_the_tree_until_it_is_read() -> None:
    text = "def f(x):\n    return x\n"
    doc = DocumentTree("python", text)
    first = doc.tree
    for at in range(5):
        doc.replace(len("def f") + at, len("def f") + at, "o")
    assert doc.tree is not first  # one parse, when read
    assert doc.text == "def fooooo(x):\n    return x\n"
    assert str(doc.tree.root_node) == fresh("python", doc.text)  # type: ignore[union-attr]


def test_a_large_document_keeps_no_tree_until_its_text_is_small_again() -> None:
    line = "x = 1\n"
    doc = DocumentTree("python", line * (MAX_TREE_BYTES // len(line) + 1))
    assert doc.tree is None
    doc.replace(0, 0, "y = 2\n")
    assert doc.tree is None and doc.text.startswith("y = 2\nx = 1\n")
    small = DocumentTree("python", line)
    small.replace(0, 0, line * (MAX_TREE_BYTES // len(line)))
    assert small.tree is None  # grew past the size: dropped
    small.set_text(line)
    assert small.tree is not None and str(small.tree.root_node) == fresh("python", line)


def test_a_document_whose_parse_ran_over_budget_keeps_no_tree_until_replaced() -> None:
    text = "foo(\n" + "x = 1\n" * 1000
    doc = DocumentTree("python", text, budget_s=0.0)
    assert doc.tree is not None  # the parse that ran over is still used once
    doc.replace(0, 4, "")
    assert doc.tree is None and doc.text == text[4:]
    doc.set_text(text)
    assert doc.tree is not None


def test_a_reparse_after_edits_has_its_own_budget() -> None:
    text = "foo(\n" + "x = 1\n" * 1000
    doc = DocumentTree("python", text, budget_s=1e9, reparse_budget_s=0.0)
    assert doc.tree is not None
    doc.replace(0, 4, "bar(")
    assert doc.tree is not None  # over budget, and still this reader's
    doc.replace(0, 0, "#")
    assert doc.tree is None
