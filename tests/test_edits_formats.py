"""Edit formats: exact prompts (golden files) and tolerant reading of answers, per format."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lspilot.context.snippet import Snippet
from lspilot.edits import FORMATS, EditError, EditTask, FileChange, Selection, SourceFile
from lspilot.edits.block import Block, blocks
from tests.conftest import at_cursor

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("LSPILOT_UPDATE_GOLDEN") == "1"

LOAD = """\
from dates import parse_date


def load(text):
    return [parse_date(line) for line in text.splitlines()]


def count(text):
    return len(text.splitlines())
"""
DATES = """\
import datetime


def parse_date(text):
    return datetime.date.fromisoformat(text.strip())


class Calendar:
    def __init__(self):
        self.days = []

    def add(self, text):
        self.days.append(parse_date(text))
"""
INSTRUCTION = "rename parse_date to parse_iso_date everywhere"
FILES = (SourceFile("app/load.py", LOAD, 3), SourceFile("dates.py", DATES, None))
CONTEXT = (Snippet("definition", "app/config.py", "FORMAT = 'iso'\n", 1.0, 4),)
TASK = EditTask(INSTRUCTION, FILES, context=CONTEXT)

RENAMED_LOAD = LOAD.replace("parse_date", "parse_iso_date")
RENAMED_DATES = DATES.replace("parse_date", "parse_iso_date")


def transcript(task: EditTask, format_name: str) -> str:
    return "".join(f"--- {m.role} ---\n{m.content}"
                   for m in FORMATS[format_name].messages(task))


def check_golden(name: str, text: str) -> None:
    golden = GOLDEN / name
    if UPDATE:
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8"), "run with LSPILOT_UPDATE_GOLDEN=1 to update"


@pytest.mark.parametrize("format_name", sorted(FORMATS))
def test_prompt_matches_golden_file(format_name: str) -> None:
    check_golden(f"edit-{format_name}.txt", transcript(TASK, format_name))


def test_block_prompt_for_a_cursor_matches_golden_file() -> None:
    text, cursor = at_cursor(DATES.replace("self.days = []", "self.days = █[]"))
    task = EditTask("keep the days in a set", (SourceFile("dates.py", text, 1),),
                    Selection("dates.py", cursor, cursor))
    check_golden("edit-block-cursor.txt", transcript(task, "block"))


def test_prompts_are_short_and_end_with_the_instruction() -> None:
    for format_name in FORMATS:
        system, user = FORMATS[format_name].messages(TASK)
        assert (system.role, user.role) == ("system", "user")
        assert len(system.content.split()) < 120, format_name
        assert user.content.endswith(f"Instruction: {INSTRUCTION}\n")
        assert "app/config.py (line 5)" in user.content  # context, read-only


def changed(changes: list[FileChange]) -> dict[str, str]:
    return {c.path: c.new_text for c in changes}


# The whole format: where the path is and how it is written.
WHOLE_ANSWERS = {
    "path-line": "app/load.py\n```python\n{load}```\n",
    "dot-slash": "./app/load.py\n```python\n{load}```\n",
    "suffix": "load.py\n```python\n{load}```\n",
    "wrong-case": "App/Load.py\n```python\n{load}```\n",
    "bold": "**app/load.py**\n```python\n{load}```\n",
    "file-colon": "File: `app/load.py`\n```python\n{load}```\n",
    "heading": "### app/load.py\n\n```python\n{load}```\n",
    "prose": "Here is the updated `app/load.py`:\n```python\n{load}```\nDone.\n",
    "no-tag": "app/load.py\n```\n{load}```\n",
    "info-path": "```python app/load.py\n{load}```\n",
    "info-colon": "```python:app/load.py\n{load}```\n",
    "comment": "```python\n# app/load.py\n{load}```\n",
    "tilde": "app/load.py\n~~~python\n{load}~~~\n",
    "crlf-reply": "app/load.py\r\n```python\r\n{load_crlf}```\r\n",
    "four-backticks": "app/load.py\n````python\n{load}````\n",
    "unclosed-but-complete": "app/load.py\n```python\n{load}",
    "chatter": "Sure! I renamed it.\n\napp/load.py\n```python\n{load}```\n\nRun it with:\n"
               "```bash\npython -m app.load\n```\n",
}


@pytest.mark.parametrize("answer", WHOLE_ANSWERS.values(), ids=WHOLE_ANSWERS.keys())
def test_whole_reads_paths_written_loosely(answer: str) -> None:
    reply = answer.format(load=RENAMED_LOAD, load_crlf=RENAMED_LOAD.replace("\n", "\r\n"))
    assert changed(FORMATS["whole"].parse(reply, TASK)) == {"app/load.py": RENAMED_LOAD}


def test_whole_reads_several_files_and_new_files() -> None:
    reply = (f"app/load.py\n```python\n{RENAMED_LOAD}```\n\ndates.py\n```python\n"
             f"{RENAMED_DATES}```\n\napp/iso.py\n```python\nFORMAT = 'iso'\n```\n")
    changes = FORMATS["whole"].parse(reply, TASK)
    assert changed(changes) == {"app/load.py": RENAMED_LOAD, "dates.py": RENAMED_DATES,
                                "app/iso.py": "FORMAT = 'iso'\n"}
    assert [c.created for c in changes] == [False, False, True]


def test_whole_takes_an_unnamed_block_by_resemblance() -> None:
    reply = f"```python\n{RENAMED_DATES}```\n"
    assert changed(FORMATS["whole"].parse(reply, TASK)) == {"dates.py": RENAMED_DATES}


def test_whole_keeps_a_first_line_comment_that_is_code() -> None:
    text = "# app/load.py\nx = 1\n"
    task = EditTask("set x to 2", (SourceFile("app/load.py", text, 1),))
    reply = "app/load.py\n```python\n# app/load.py\nx = 2\n```\n"
    assert changed(FORMATS["whole"].parse(reply, task)) == {"app/load.py": "# app/load.py\nx = 2\n"}


@pytest.mark.parametrize(("text", "model", "expected"), [
    ("a = 1\r\nb = 2\r\n", "a = 1\nb = 3\n", "a = 1\r\nb = 3\r\n"),
    ("if x:\n\ty = 1\n\tz = 2\n", "if x:\n    y = 1\n    z = 3\n", "if x:\n\ty = 1\n\tz = 3\n"),
    ("a = 1\nb = 2", "a = 1\nb = 3\n", "a = 1\nb = 3"),
], ids=["crlf", "tabs", "no-final-newline"])
def test_whole_keeps_the_files_style(text: str, model: str, expected: str) -> None:
    task = EditTask("change", (SourceFile("m.py", text, 1),))
    reply = f"m.py\n```python\n{model}```\n"
    assert changed(FORMATS["whole"].parse(reply, task)) == {"m.py": expected}


# The search-replace format.
def sr(path: str, search: str, replace: str, fence: str = "```python") -> str:
    return f"{path}\n{fence}\n<<<<<<< SEARCH\n{search}=======\n{replace}>>>>>>> REPLACE\n```\n"


def test_search_replace_applies_blocks_in_order_and_records_stages() -> None:
    reply = (sr("app/load.py", "from dates import parse_date\n",
                "from dates import parse_iso_date\n")
             + sr("app/load.py", "return [parse_date(line) for line in text.splitlines()]\n",
                  "return [parse_iso_date(line) for line in text.splitlines()]\n")
             + sr("dates.py", "def parse_date(text):\n", "def parse_iso_date(text):\n")
             + sr("dates.py", "        self.days.append(parse_dates(text))\n",
                  "        self.days.append(parse_iso_date(text))\n"))
    changes = FORMATS["search-replace"].parse(reply, TASK)
    assert changed(changes) == {"app/load.py": RENAMED_LOAD, "dates.py": RENAMED_DATES}
    assert [c.match_stages for c in changes] == [("exact", "whitespace"), ("exact", "fuzzy")]


@pytest.mark.parametrize("reply", [
    # the path inside the fence, markers without spaces, no fence at all
    "```python\ndates.py\n<<<<<<<SEARCH\ndef parse_date(text):\n=======\n"
    "def parse_iso_date(text):\n>>>>>>>REPLACE\n```\n",
    "dates.py\n<<<<<<< SEARCH\ndef parse_date(text):\n=======\ndef parse_iso_date(text):\n"
    ">>>>>>> REPLACE\n",
    "```python dates.py\n<<<<<<< SEARCH\ndef parse_date(text):\n=======\n"
    "def parse_iso_date(text):\n>>>>>>> REPLACE\n```\n",
], ids=["path-in-fence", "no-fence", "info-path"])
def test_search_replace_reads_blocks_written_loosely(reply: str) -> None:
    expected = DATES.replace("def parse_date", "def parse_iso_date")
    assert changed(FORMATS["search-replace"].parse(reply, TASK)) == {"dates.py": expected}


def test_search_replace_creates_a_file_with_an_empty_search() -> None:
    reply = sr("app/iso.py", "", "FORMAT = 'iso'\n")
    changes = FORMATS["search-replace"].parse(reply, TASK)
    assert changes == [FileChange("app/iso.py", "FORMAT = 'iso'\n", created=True)]


def test_search_replace_keeps_crlf_and_tabs() -> None:
    text = "def f():\r\n\tif x:\r\n\t\treturn 1\r\n"
    task = EditTask("return 2", (SourceFile("f.py", text, 1),))
    reply = sr("f.py", "    if x:\n        return 1\n", "    if x:\n        return 2\n")
    change, = FORMATS["search-replace"].parse(reply, task)
    assert change.new_text == "def f():\r\n\tif x:\r\n\t\treturn 2\r\n"
    assert change.match_stages == ("whitespace",)


# The block format: which blocks, and how a rewritten block goes back in place.
def test_blocks_are_the_definitions_call_sites_and_imports_of_the_names() -> None:
    assert blocks(TASK) == [
        Block("app/load.py", 0, 0, "import"),
        Block("app/load.py", 3, 4, "function load"),
        Block("dates.py", 3, 4, "function parse_date"),
        Block("dates.py", 11, 12, "method add"),
    ]


def test_blocks_for_a_selection_and_a_cursor() -> None:
    text, cursor = at_cursor(DATES.replace("self.days = []", "self.days = █[]"))
    task = EditTask("keep the days in a set", (SourceFile("dates.py", text, 1),),
                    Selection("dates.py", cursor, cursor))
    assert blocks(task) == [Block("dates.py", 8, 9, "method __init__")]
    start = DATES.index("class Calendar")
    task = EditTask("add a docstring", (SourceFile("dates.py", DATES, 1),),
                    Selection("dates.py", start, DATES.index("    def add")))
    assert blocks(task)[0] == Block("dates.py", 7, 10, "selection")


def test_a_file_with_nothing_named_is_one_block() -> None:
    task = EditTask("add type hints", FILES)  # `add` is a method, but not written as code
    assert blocks(task) == [Block("app/load.py", 0, 8, "file"), Block("dates.py", 0, 12, "file")]


BLOCK_REPLY = """\
[1]
```python
from dates import parse_iso_date
```

[2] app/load.py
```python
def load(text):
    return [parse_iso_date(line) for line in text.splitlines()]
```

Block 3:
```python
def parse_iso_date(text):
    return datetime.date.fromisoformat(text.strip())
```

[4]
```python
class Calendar:
def add(self, text):
    self.days.append(parse_iso_date(text))
```
"""


def test_block_puts_rewritten_blocks_in_place() -> None:
    # Block 4 comes back dedented and with its class's header line: both are mended.
    changes = FORMATS["block"].parse(BLOCK_REPLY, TASK)
    assert changed(changes) == {"app/load.py": RENAMED_LOAD, "dates.py": RENAMED_DATES}


def test_block_matches_unnumbered_blocks_by_the_names_they_define() -> None:
    reply = ("```python\ndef load(text):\n    return [parse_iso_date(line) for line in "
             "text.splitlines()]\n```\n")
    expected = LOAD.replace("[parse_date(", "[parse_iso_date(")
    assert changed(FORMATS["block"].parse(reply, TASK)) == {"app/load.py": expected}


def test_block_creates_a_file_named_instead_of_a_number() -> None:
    reply = "app/iso.py\n```python\nFORMAT = 'iso'\n```\n"
    assert FORMATS["block"].parse(reply, TASK) == [
        FileChange("app/iso.py", "FORMAT = 'iso'\n", created=True)]


def test_block_keeps_tabs_and_crlf_around_a_method() -> None:
    text = "class A:\r\n\tdef f(self):\r\n\t\treturn 1\r\n\r\n\tdef g(self):\r\n\t\treturn 2\r\n"
    source = SourceFile("a.py", text, 1)
    task = EditTask("make f return 3", (source,), Selection("a.py", 20, 20))
    assert blocks(task) == [Block("a.py", 1, 2, "method f")]
    reply = "[1]\n```python\ndef f(self):\n    return 3\n```\n"
    change, = FORMATS["block"].parse(reply, task)
    assert change.new_text == text.replace("return 1", "return 3")


# What a small model does wrong most often.
def test_a_part_of_a_file_for_the_whole_file_is_refused() -> None:
    reply = ("app/load.py\n```python\nfrom dates import parse_iso_date\n\n\ndef load(text):\n"
             "    return [parse_iso_date(line) for line in text.splitlines()]\n```\n")
    with pytest.raises(EditError, match=r"app/load\.py drops count, which the instruction"):
        FORMATS["whole"].parse(reply, TASK)


def test_definitions_the_instruction_names_or_removes_may_go() -> None:
    reply = f"app/load.py\n```python\n{LOAD.split('def count')[0].rstrip()}\n```\n"
    for instruction in ("drop count", "remove unused functions", "move `count` to utils"):
        task = EditTask(instruction, FILES)
        (change,) = FORMATS["whole"].parse(reply, task)
        assert "def count" not in change.new_text


def test_a_block_that_loses_its_function_is_refused() -> None:
    reply = "[2]\n```python\nx = [parse_iso_date(line) for line in text.splitlines()]\n```\n"
    with pytest.raises(EditError, match="drops load"):
        FORMATS["block"].parse(reply, TASK)


def test_echoed_context_is_not_a_change() -> None:
    reply = (f"app/config.py\n```python\nFORMAT = 'iso'\n```\n\napp/load.py\n```python\n"
             f"{RENAMED_LOAD}```\n")
    assert changed(FORMATS["whole"].parse(reply, TASK)) == {"app/load.py": RENAMED_LOAD}


def test_the_file_named_nearest_the_code_wins() -> None:
    reply = ("No change to dates.py is needed. Here is `app/load.py`:\n"
             f"```python\n{RENAMED_LOAD}```\n")
    assert changed(FORMATS["whole"].parse(reply, TASK)) == {"app/load.py": RENAMED_LOAD}


def test_search_replace_without_a_path_finds_the_file_that_holds_the_text() -> None:
    reply = ("```python\n<<<<<<< SEARCH\nclass Calendar:\n=======\nclass Diary:\n"
             ">>>>>>> REPLACE\n```\n")
    assert changed(FORMATS["search-replace"].parse(reply, TASK)) == {
        "dates.py": DATES.replace("class Calendar", "class Diary")}
    with pytest.raises(EditError, match="names no file"):
        FORMATS["search-replace"].parse(reply.replace("class Calendar:", ""), TASK)


def test_search_replace_skips_echoes_and_takes_files_written_out_whole() -> None:
    # What Qwen2.5-Coder 1.5B answered to the golden search-replace prompt.
    reply = ("app/config.py\n```python\n<<<<<<< SEARCH\nFORMAT = 'iso'\n=======\n"
             "FORMAT = 'iso'\n>>>>>>> REPLACE\n```\n\n"
             f"app/load.py\n```python\n{RENAMED_LOAD}```\n\n"
             + sr("dates.py", "def parse_date(text):\n", "def parse_iso_date(text):\n")
             + sr("dates.py", "        self.days.append(parse_date(text))\n",
                  "        self.days.append(parse_iso_date(text))\n"))
    changes = FORMATS["search-replace"].parse(reply, TASK)
    assert changed(changes) == {"app/load.py": RENAMED_LOAD, "dates.py": RENAMED_DATES}
    assert [c.match_stages for c in changes] == [("whole",), ("exact", "exact")]


def test_block_ignores_a_block_repeated_under_a_new_number() -> None:
    # What Qwen2.5-Coder 0.5B answered to the golden block prompt: [1] to [4], then [4] again.
    reply = BLOCK_REPLY + ("\n[5] app/load.py line 14 (method add)\n```python\n"
                           "class Calendar:\ndef add(self, text):\n"
                           "    self.days.append(parse_iso_date(text))\n```\n")
    assert changed(FORMATS["block"].parse(reply, TASK)) == {"app/load.py": RENAMED_LOAD,
                                                          "dates.py": RENAMED_DATES}


def test_a_made_up_folder_and_a_partial_file_are_seen() -> None:
    # What Qwen2.5-Coder 0.5B answered to the golden whole prompt: the example's `src/`
    # before the path, and only the function it changed.
    reply = ("src/dates.py\n```python\nimport datetime\n\n\ndef parse_iso_date(text):\n"
             "    return datetime.date.fromisoformat(text.strip())\n```\n")
    with pytest.raises(EditError, match=r"the answer for dates\.py drops Calendar, __init__, add"):
        FORMATS["whole"].parse(reply, TASK)
