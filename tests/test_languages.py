"""The language registry: one record per language, read by every table that knows languages."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from tree_sitter import Node

from lspilot.context.imports import FileIndex, Import, node_text
from lspilot.context.languages import LANGUAGES, PYTHON, Languages, LanguageSpec, language_id_for
from lspilot.context.similar import STOP_WORDS
from lspilot.context.symbols import Call, analyze, index_files, resolve_import
from lspilot.templates.comments import language_of, path_comment


def read_toy(source: bytes, node: Node) -> list[Import]:
    """`import a` binds nothing: the module is named whole."""
    return [Import(node_text(source, node).split()[1], (), (), node.start_point.row)]


def resolve_toy(importing_path: str, imp: Import, index: FileIndex) -> list[str]:
    """A module is the file of its name, beside the importing one."""
    return [f"{imp.module}.toy"]


# A language added the way a new one would be: one record and its query files. It borrows
# Python's grammar (a real one, from its wheel) under its own id, extension and rules.
TOY = LanguageSpec(
    "toy", (".toy",), filenames=("Toyfile",), comment="%% {path}",
    grammar=("tree_sitter_python", "language"), queries=("toy",), shape=PYTHON.shape,
    read_imports=read_toy, resolve_import=resolve_toy, block_openers=(" then",),
    stop_words=frozenset({"zork"}))

TOY_QUERIES = {
    "definitions": "(function_definition name: (identifier) @name body: (block) @body)"
                   " @definition.function",
    "imports": "(import_statement) @import",
    "calls": "(call function: (identifier) @call)",
}


@pytest.fixture
def registry(tmp_path: Path) -> Languages:
    (tmp_path / "toy").mkdir()
    for kind, text in TOY_QUERIES.items():
        (tmp_path / "toy" / f"{kind}.scm").write_text(text + "\n")
    return Languages([TOY], queries=tmp_path)


def test_a_new_language_is_one_record_and_its_queries(registry: Languages) -> None:
    assert registry.get("toy") is TOY and LANGUAGES.get("toy") is None
    assert registry.for_path("src/a.TOY") is TOY and registry.for_path("x/Toyfile") is TOY
    assert registry.language_id_for("a.toy") == "toy" and language_id_for("a.toy") == ""
    assert registry.comment("toy") == "%% {path}"
    assert registry.block_openers("toy") == (" then",)
    assert registry.stop_words == {"zork"}
    parser = registry.parser("toy")
    assert parser is not None and not parser.parse(b"def f():\n    pass\n").root_node.has_error

    symbols = analyze("toy", "import util\n\ndef run():\n    go(1)\n", languages=registry)
    assert [(d.name, d.kind) for d in symbols.definitions] == [("run", "function")]
    assert symbols.imports == (Import("util", (), (), 0),)
    assert symbols.calls == (Call("go", 3),)
    files = index_files(["util.toy", "main.toy"])
    assert resolve_import("toy", "main.toy", symbols.imports[0], files,
                          languages=registry) == ["util.toy"]
    assert analyze("toy", "def run():\n    pass\n").definitions == ()


def test_a_record_names_only_query_parts_that_exist(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no queries named 'toy'"):
        Languages([TOY], queries=tmp_path)


@pytest.mark.parametrize("clash", [
    dataclasses.replace(TOY, extensions=(".py",)),
    dataclasses.replace(TOY, id="python", extensions=()),
])
def test_two_records_cannot_claim_one_name(clash: LanguageSpec) -> None:
    with pytest.raises(ValueError, match="belongs to both"):
        Languages([PYTHON, dataclasses.replace(clash, queries=())])


@pytest.mark.parametrize("record", [r for r in LANGUAGES.records if r.grammar is not None],
                         ids=lambda r: r.id)
def test_every_grammar_language_has_queries_that_compile(record: LanguageSpec) -> None:
    query = LANGUAGES.query(record.id)
    assert query is not None
    captures = {query.capture_name(i) for i in range(query.capture_count)}
    assert {"name", "import", "call"} <= captures
    assert record.read_imports is not None and record.resolve_import is not None


@pytest.mark.parametrize("record", LANGUAGES.records, ids=lambda r: r.id)
def test_the_tables_read_the_records(record: LanguageSpec) -> None:
    assert path_comment("a/b", record.id) == record.comment.replace("{path}", "a/b")
    for name in [f"src/file{extension}" for extension in record.extensions] + \
            [f"src/{name}" for name in record.filenames]:
        assert language_of(name) == record.id
        assert language_id_for(name) == (record.id if record.grammar is not None else "")
    assert record.stop_words <= STOP_WORDS


@pytest.mark.parametrize(("language_id", "starts"), [
    ("python", ("#",)),
    ("go", ("//", "/*", "* ", "*/")),
    ("lua", ("--",)),
    ("not-a-language", ("#",)),
])
def test_comment_lines_start_with_the_languages_markers(language_id: str,
                                                        starts: tuple[str, ...]) -> None:
    assert LANGUAGES.comment_starts(language_id) == starts
