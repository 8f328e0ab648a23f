"""The small readers under every format: placeholders, file names, fences."""

from __future__ import annotations

import pytest

from lspilot.edits.fences import fence, fenced_blocks
from lspilot.edits.lazy import is_placeholder, placeholder
from lspilot.edits.paths import clean, comment_path, resolve
from lspilot.edits.task import EditError, EditTask, SourceFile

PLACEHOLDERS = [
    "# ...", "// ...", "/* ... */", "# …", "...", "    # ... existing code ...",
    "// ... rest of the function ...", "# rest of the file unchanged",
    "# Rest of code remains unchanged",
    "// existing code", "# (other methods unchanged)", "<!-- ... -->", "-- ...", "{/* ... */}",
    "# ... (same as before)", "// other code omitted for brevity",
]
CODE = [
    "x = ...", "def f(): ...", "foo(...args)", "# TODO: handle errors", "// see the docs",
    "return rest", "# keep these sorted", "print('...')", "*args, **kwargs", "",
    "# rest is computed below", "s = '# ...'",
]


@pytest.mark.parametrize("line", PLACEHOLDERS)
def test_placeholders_are_seen(line: str) -> None:
    assert is_placeholder(line)


@pytest.mark.parametrize("line", CODE)
def test_code_is_not_a_placeholder(line: str) -> None:
    assert not is_placeholder(line)


def test_a_python_ellipsis_body_is_code() -> None:
    assert placeholder("", "class P(Protocol):\n    def f(self) -> int:\n        ...\n",
                       "python") is None
    assert placeholder("", "def f():\n    x = 1\n    ...\n", "python") == "..."


def test_a_placeholder_the_file_already_had_is_kept() -> None:
    original = "def f():\n    # ...\n    return 1\n"
    assert placeholder(original, original.replace("1", "2")) is None
    assert placeholder(original, "def f():\n    # ... rest unchanged\n") == "# ... rest unchanged"


TASK = EditTask("x", (SourceFile("pkg/util.py", "", 1), SourceFile("src/App.tsx", "", 1),
                      SourceFile("a/main.go", "", 1), SourceFile("b/main.go", "", 1)))


@pytest.mark.parametrize(("written", "path"), [
    ("pkg/util.py", "pkg/util.py"),
    ("./pkg/util.py", "pkg/util.py"),
    ("util.py", "pkg/util.py"),
    ("PKG/Util.py", "pkg/util.py"),
    ("app.tsx", "src/App.tsx"),
    ("`pkg/util.py`:", "pkg/util.py"),
    ("**pkg/util.py**", "pkg/util.py"),
    ("### File: pkg/util.py", "pkg/util.py"),
    ("pkg\\util.py", "pkg/util.py"),
    ("/home/me/project/pkg/util.py", "pkg/util.py"),
    ("src/pkg/util.py", "pkg/util.py"),
    ("lib/util.py", "lib/util.py"),
    ("a/main.go", "a/main.go"),
    ("pkg/new.py", "pkg/new.py"),
    ("../pkg/util.py", "../pkg/util.py"),
], ids=lambda value: value)
def test_resolve_maps_loose_names_to_task_files(written: str, path: str) -> None:
    assert resolve(written, TASK) == path


def test_resolve_refuses_a_name_that_fits_two_files() -> None:
    with pytest.raises(EditError, match=r"main\.go, which could be a/main\.go or b/main\.go"):
        resolve("main.go", TASK)


def test_clean_leaves_odd_names_for_validation() -> None:
    assert clean("  ./.env ") == ".env"
    assert clean("1. `src/a.py`") == "src/a.py"


def test_fences_round_trip_and_nest() -> None:
    text = "Use it like this:\n```python\nx = 1\n```\n"
    written = fence(text, "markdown")
    assert written.startswith("````markdown\n")
    (block,) = fenced_blocks(written)
    assert (block.info, block.body, block.closed) == ("markdown", text, True)


def test_fenced_blocks_reads_before_lines_and_unclosed_ends() -> None:
    reply = "Intro.\n\na.py\n```py\nx = 1\n```\nthen\n   ```\ny = 2\n\n\n"
    first, second = fenced_blocks(reply)
    assert (first.before, first.body, first.closed) == (("a.py", "Intro."), "x = 1\n", True)
    assert (second.before, second.body, second.closed) == (("then",), "y = 2\n", False)


@pytest.mark.parametrize(("line", "path"), [
    ("# pkg/util.py", "pkg/util.py"),
    ("// File: src/App.tsx", "src/App.tsx"),
    ("/* helpers.c */", "helpers.c"),
    ("<!-- docs/new.md -->", "docs/new.md"),
    ("# e.g.", None),
    ("# version 2.0", None),
    ("x = 1  # util.py", None),
], ids=lambda value: str(value))
def test_comment_path_names_a_file_only_when_it_is_one(line: str, path: str | None) -> None:
    assert comment_path(line, TASK) == path
