"""Which files an edit may change (the user's, then the definers and callers of the names the
instruction mentions) and writing an edit's files all or nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from lspilot.context.index import WorkspaceIndex
from lspilot.edits.gather import Budget, build_task, instruction_names, selection_names
from lspilot.edits.sources import read_file
from lspilot.edits.task import EditError, Selection, SourceFile
from lspilot.edits.write import Write, write_all
from tests.conftest import at_cursor

FILES = {
    "dates.py": "def parse_date(text):\n    return text\n",
    "jobs.py": "from dates import parse_date\n\n\ndef due(item):\n    return parse_date(item)\n",
    "report.py": "from dates import parse_date\n\nprint(parse_date('2020-01-01'))\n",
    "other.py": "def unrelated():\n    return 1\n",
    ".env": "KEY=secret\n",
}


def words(text: str) -> int:
    return len(text.split())


@pytest.fixture
def index(tmp_path: Path) -> WorkspaceIndex:
    for name, text in FILES.items():
        (tmp_path / name).write_text(text)
    index = WorkspaceIndex(tmp_path)
    index.start()
    assert index.wait_ready(30)
    yield index
    index.stop()


def reader(root: Path):  # type: ignore[no-untyped-def]
    def read(path: str) -> SourceFile | None:
        try:
            return read_file(root, path, None)
        except EditError:
            return None
    return read


@pytest.mark.parametrize(("instruction", "names"), [
    ("rename parse_date to parse_iso_date", ["rename", "parse_date", "parse_iso_date"]),
    ("add a timeout to fetch() and fetch", ["add", "timeout", "fetch", "and"]),
    ("x", []),
])
def test_instruction_names(instruction: str, names: list[str]) -> None:
    assert instruction_names(instruction) == names


def test_names_around_a_selection_innermost_first() -> None:
    text, at = at_cursor("class Box:\n    def size(self):\n        return █1\n")
    source = SourceFile("box.py", text, None, "python")
    assert selection_names(source, Selection("box.py", at, at)) == ["size", "Box"]


def test_callers_of_a_named_function_join_the_edit(index: WorkspaceIndex, tmp_path: Path) -> None:
    picked = [read_file(tmp_path, "dates.py", None)]
    task = build_task("rename parse_date to parse_iso_date everywhere", picked, None, index,
                      reader(tmp_path), words, Budget(files=1000, context=100))
    assert [f.path for f in task.files] == ["dates.py", "jobs.py", "report.py"]
    assert task.omitted == ()


def test_what_does_not_fit_is_reported(index: WorkspaceIndex, tmp_path: Path) -> None:
    picked = [read_file(tmp_path, "dates.py", None)]
    budget = Budget(files=words(FILES["dates.py"]) + words(FILES["jobs.py"]), context=0)
    task = build_task("rename parse_date", picked, None, index, reader(tmp_path), words, budget)
    assert [f.path for f in task.files] == ["dates.py", "jobs.py"]
    assert task.omitted == (f"report.py ({words(FILES['report.py'])} tokens: over the budget)",)


def test_a_selection_brings_call_sites_as_read_only_context(index: WorkspaceIndex,
                                                            tmp_path: Path) -> None:
    picked = [read_file(tmp_path, "dates.py", None)]
    task = build_task("add a docstring", picked, Selection("dates.py", 0, 10), index,
                      reader(tmp_path), words, Budget(files=1000, context=1000))
    assert [f.path for f in task.files] == ["dates.py"]
    assert sorted(s.path for s in task.context) == ["jobs.py", "report.py"]
    assert all(s.reason == "calls parse_date" for s in task.context)


@pytest.mark.parametrize(("instruction", "picked", "message"), [
    ("  ", ["dates.py"], "instruction is empty"),
    ("do it", [], "no files to edit"),
])
def test_bad_tasks(tmp_path: Path, instruction: str, picked: list[str], message: str) -> None:
    (tmp_path / "dates.py").write_text(FILES["dates.py"])
    files = [read_file(tmp_path, p, None) for p in picked]
    with pytest.raises(EditError, match=message):
        build_task(instruction, files, None, None, reader(tmp_path), words, Budget(100, 0))


def test_files_over_the_budget_are_refused_with_a_way_out(tmp_path: Path) -> None:
    (tmp_path / "dates.py").write_text(FILES["dates.py"])
    with pytest.raises(EditError, match="select the code to change"):
        build_task("x y z", [read_file(tmp_path, "dates.py", None)], None, None,
                   reader(tmp_path), words, Budget(files=2, context=0))


@pytest.mark.parametrize(("name", "content", "message"), [
    (".env", b"KEY=1\n", "secret or ignored"),
    ("logo.png", b"\x89PNG\0\0", "binary file"),
    ("latin.txt", "café".encode("latin-1"), "not UTF-8"),
    ("../up.py", b"", "outside|\\.\\."),
    ("missing.py", None, "does not exist"),
])
def test_files_that_cannot_be_edited(tmp_path: Path, name: str, content: bytes | None,
                                     message: str) -> None:
    if content is not None and not name.startswith(".."):
        (tmp_path / name).write_bytes(content)
    with pytest.raises(EditError, match=message):
        read_file(tmp_path, name, None)


def test_a_link_out_of_the_workspace_is_not_read(tmp_path: Path) -> None:
    outside = tmp_path / "outside.py"
    outside.write_text("x = 1\n")
    root = tmp_path / "root"
    root.mkdir()
    (root / "link.py").symlink_to(outside)
    with pytest.raises(EditError, match="out of the workspace"):
        read_file(root, "link.py", None)


def test_writes_replace_every_file(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("a\r\n")
    write_all([Write(tmp_path / "a.py", "a\r\n", "b\r\n"),
               Write(tmp_path / "pkg" / "new.py", None, "n\n")])
    assert (tmp_path / "a.py").read_bytes() == b"b\r\n"
    assert (tmp_path / "pkg" / "new.py").read_text() == "n\n"
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a.py", "new.py", "pkg"]


def test_a_file_changed_since_it_was_read_stops_every_write(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("a\n")
    (tmp_path / "b.py").write_text("typed meanwhile\n")
    with pytest.raises(EditError, match=r"b\.py changed since the edit read it"):
        write_all([Write(tmp_path / "a.py", "a\n", "A\n"), Write(tmp_path / "b.py", "b\n", "B\n")])
    assert (tmp_path / "a.py").read_text() == "a\n"


def test_a_write_that_fails_leaves_every_file_as_it_was(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("a\n")
    (tmp_path / "blocker").write_text("a file where a folder must go\n")
    with pytest.raises(EditError, match="nothing was written"):
        write_all([Write(tmp_path / "a.py", "a\n", "A\n"),
                   Write(tmp_path / "blocker" / "new.py", None, "n\n")])
    assert (tmp_path / "a.py").read_text() == "a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.py", "blocker"]
