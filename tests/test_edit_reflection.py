"""An answer that cannot be applied, or that uses names its file defines nowhere, goes back to
the model once with the problem (`edit.reflections`): the names check, the rounds through the
real llama.cpp runtime, and which answer wins."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from lspilot.context.ignore import Exclusions
from lspilot.edits.formats import FORMATS
from lspilot.edits.names import new_undefined_names, undefined_names
from lspilot.edits.run import REFLECTION, is_module, run_edit, undefined_in
from lspilot.edits.task import EditTask, FileChange, SourceFile
from lspilot.models.backends.base import (
    EmbeddedConfig,
    GenerationParams,
    GenerationStats,
    Message,
    make_backend,
)
from lspilot.settings import LlamaCppSettings
from tests.tiny_gguf import build, chat_model, cut

MONEY = "def cents(amount):\n    return round(amount * 100)\n"
FORGOT_IMPORT = ("shop/money.py\n```python\n@dataclass(frozen=True)\nclass Money:\n"
                 "    cents: int\n\n\ndef cents(amount):\n    return round(amount * 100)\n```\n")
WITH_IMPORT = ("shop/money.py\n```python\nfrom dataclasses import dataclass\n\n\n"
               "@dataclass(frozen=True)\nclass Money:\n    cents: int\n\n\n"
               "def cents(amount):\n    return round(amount * 100)\n```\n")
LAZY = "shop/money.py\n```python\n# ... existing code ...\n```\n"
TASK = EditTask("Add a frozen Money dataclass with an int cents field",
                (SourceFile("shop/money.py", MONEY, None),))


@pytest.mark.parametrize(("text", "undefined"), [
    ("x = 1\nprint(x)\n", set()),
    ("@dataclass\nclass A:\n    pass\n", {"dataclass"}),
    ("from dataclasses import dataclass\n@dataclass\nclass A:\n    pass\n", set()),
    ("import os.path\nos.path.join('a')\n", set()),
    ("import numpy as np\nnp.zeros(1)\n", set()),
    ("def f(a, *args, b=1, **kw):\n    return a, args, b, kw, c\n", {"c"}),
    ("for i in range(3):\n    pass\nprint(i)\n", set()),
    ("try:\n    pass\nexcept ValueError as e:\n    print(e)\n", set()),
    ("y = [n for n in range(3) if n]\n", set()),
    ("if (m := 3):\n    print(m)\n", set()),
    ("class A:\n    def f(self):\n        return __class__, __name__\n", set()),
    ("match p:\n    case [x, *rest]:\n        print(x, rest)\n    case {**kw}:\n"
     "        print(kw)\n", {"p"}),
    ("def f():\n    global G\n    G = 1\n", set()),
    ("quantize(ROUND_HALF_UP)\n", {"quantize", "ROUND_HALF_UP"}),
])
def test_undefined_names(text: str, undefined: set[str]) -> None:
    assert undefined_names("python", text) == frozenset(undefined)


@pytest.mark.parametrize(("language", "text"), [
    ("python", "from os import *\nprint(path)\n"),  # a star import may bind anything
    ("python", "def broken(:\n"),  # the syntax check has its own message
    ("javascript", "foo(bar)\n"),  # Python only
])
def test_undefined_names_cannot_tell(language: str, text: str) -> None:
    assert undefined_names(language, text) is None


def test_only_names_the_change_brings_count() -> None:
    before = "print(LEGACY)\n"
    assert new_undefined_names("python", before, "print(LEGACY, dataclass)\n") == ["dataclass"]
    assert new_undefined_names("python", before, before) == []
    assert new_undefined_names("python", "", "@dataclass\nclass A: pass\n") == ["dataclass"]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "money.py").write_text(MONEY)
    return tmp_path


def real(path: Path) -> object:
    return make_backend(EmbeddedConfig("tiny-chat", path, LlamaCppSettings(
        context_size=2048, threads=1)))


@pytest.mark.parametrize(("reflections", "rounds"), [(0, 1), (1, 2)])
async def test_an_undefined_name_goes_back_to_the_real_model(
        tmp_path: Path, root: Path, reflections: int, rounds: int) -> None:
    # The tiny model answers every round the same: the answer is applicable all the same
    # (an undefined name does not refuse it), and each round is one more answer written.
    backend = real(build(tmp_path / "chat.gguf", chat_model(FORGOT_IMPORT)))
    result = await run_edit(TASK, backend, FORMATS["whole"], 512, root, Exclusions(root),  # type: ignore[arg-type]
                            reflections=reflections)
    assert result.error is None and [c.path for c in result.changes] == ["shop/money.py"]
    assert "@dataclass" in result.changes[0].new_text
    assert result.stats.generated_tokens == len(cut(FORGOT_IMPORT)) * rounds  # a token a piece
    if rounds == 2:
        # The second round reads only what follows the first conversation (KV cache):
        # without reuse it would read the first prompt again, 1.66x the second's length.
        assert result.stats.evaluated_tokens < 1.5 * result.stats.prompt_tokens


async def test_a_refused_answer_goes_back_and_stays_refused(tmp_path: Path, root: Path) -> None:
    backend = real(build(tmp_path / "lazy.gguf", chat_model(LAZY)))
    result = await run_edit(TASK, backend, FORMATS["whole"], 512, root, Exclusions(root),  # type: ignore[arg-type]
                            reflections=1)
    assert result.error is not None and "leaves code out" in result.error
    assert not result.changes
    assert (root / "shop" / "money.py").read_text() == MONEY


class Rounds:
    """A stand-in backend that answers each round with the next scripted reply: the tiny GGUF
    answers every round the same, so a model that corrects itself is scripted here. It
    records the conversation of each round."""

    name = "scripted"
    context_size = 4096

    def __init__(self, replies: Sequence[str]) -> None:
        self.replies = list(replies)
        self.conversations: list[list[Message]] = []

    def count_chat_tokens(self, messages: Sequence[Message]) -> int:
        return sum(len(m.content) for m in messages) // 4

    async def chat(self, messages: Sequence[Message], params: GenerationParams,
                   stats: GenerationStats) -> AsyncIterator[str]:
        self.conversations.append(list(messages))
        reply = self.replies.pop(0)
        stats.generated_tokens += len(reply) // 4
        yield reply


@pytest.mark.parametrize(("replies", "wins", "rounds"), [
    ([FORGOT_IMPORT, WITH_IMPORT], "from dataclasses import dataclass", 2),
    ([LAZY, WITH_IMPORT], "from dataclasses import dataclass", 2),
    ([WITH_IMPORT], "from dataclasses import dataclass", 1),  # nothing to correct
    ([FORGOT_IMPORT, LAZY], "@dataclass(frozen=True)\nclass Money", 2),  # the first stays
])
async def test_the_last_applicable_answer_wins(root: Path, replies: list[str], wins: str,
                                               rounds: int) -> None:
    backend = Rounds(replies)
    result = await run_edit(TASK, backend, FORMATS["whole"], 512, root, Exclusions(root),  # type: ignore[arg-type]
                            reflections=1)
    assert result.error is None and wins in result.changes[0].new_text
    assert len(backend.conversations) == rounds
    if rounds == 2:
        first, second = backend.conversations
        assert second[:len(first)] == first  # the conversation goes on (KV cache reuse)
        assert second[-2] == Message("assistant", replies[0])
        problem = second[-1].content
        assert problem.startswith(REFLECTION.split("{")[0])
        assert ("shop/money.py uses dataclass, which it neither defines nor imports" in problem
                or "leaves code out" in problem)
    assert result.messages == tuple(backend.conversations[0])


SHAPES = "import math\n\n\ndef area(shape):\n    return shape.w * shape.h\n\n\nUNIT = 1\n"
REPORT = ("from geometry.shapes import area\n\n\ndef total(shapes):\n"
          "    return sum(map(area, shapes))\n")
LAYOUT = "from .shapes import UNIT, area\n\nSIDE = UNIT\n"
METHODS = "import math\n\n\nclass Box:\n    def area(self):\n        return 1\n\n\nUNIT = 1\n"
SHAPE_TASK = EditTask("Make area a method of Box", (
    SourceFile("geometry/shapes.py", SHAPES, None), SourceFile("geometry/report.py", REPORT, 1),
    SourceFile("geometry/layout.py", LAYOUT, None)))


@pytest.mark.parametrize(("changes", "problem"), [
    # the callers left behind, absolute and relative imports
    ({"geometry/shapes.py": METHODS},
     "geometry/report.py imports area from geometry/shapes.py, which no longer defines it; "
     "geometry/layout.py imports area from geometry/shapes.py, which no longer defines it"),
    # callers updated too: nothing to say
    ({"geometry/shapes.py": METHODS, "geometry/report.py": "def total(s):\n    return 0\n",
      "geometry/layout.py": "from .shapes import UNIT\n\nSIDE = UNIT\n"}, None),
    # a name defined under `if` or `try` still counts, and one only moved down stays
    ({"geometry/shapes.py": "try:\n    from fast import area\nexcept ImportError:\n"
      "    area = None\nUNIT = 2\n"}, None),
    # a caller that imports from the changed file what it still defines
    ({"geometry/shapes.py": SHAPES.replace("UNIT = 1", "UNIT = 2")}, None),
    # a name the change reads but binds nowhere
    ({"geometry/shapes.py": SHAPES + "\n\n@dataclass\nclass Box:\n    w: int\n"},
     "geometry/shapes.py uses dataclass, which it neither defines nor imports"),
])
def test_what_a_change_leaves_undefined(changes: dict[str, str], problem: str | None) -> None:
    found = undefined_in([FileChange(path, text) for path, text in changes.items()],
                         SHAPE_TASK)
    assert found == problem


@pytest.mark.parametrize(("path", "module", "expected"), [
    ("geometry/shapes.py", "geometry/shapes.py", True),
    ("src/geometry/shapes.py", "geometry/shapes.py", True),
    ("geometry/__init__.py", "geometry.py", True),
    ("other/shapes.py", "geometry/shapes.py", False),
    ("xgeometry/shapes.py", "geometry/shapes.py", False),
])
def test_is_module(path: str, module: str, expected: bool) -> None:
    assert is_module(path, module) is expected


def fenced(path: str, text: str) -> str:
    return f"{path}\n```python\n{text}```\n"


async def test_a_correction_keeps_the_files_it_does_not_rewrite(tmp_path: Path) -> None:
    for source in SHAPE_TASK.files:
        (tmp_path / source.path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / source.path).write_text(source.text)
    fixed_report = "from geometry.shapes import Box\n\n\ndef total(shapes):\n    return 0\n"
    fixed_layout = "from .shapes import UNIT\n\nSIDE = UNIT\n"
    backend = Rounds([fenced("geometry/shapes.py", METHODS),
                      fenced("geometry/report.py", fixed_report)
                      + fenced("geometry/layout.py", fixed_layout)])
    result = await run_edit(SHAPE_TASK, backend, FORMATS["whole"], 512, tmp_path,  # type: ignore[arg-type]
                            Exclusions(tmp_path), reflections=1)
    assert result.error is None
    assert {c.path: c.new_text for c in result.changes} == {
        "geometry/shapes.py": METHODS, "geometry/report.py": fixed_report,
        "geometry/layout.py": fixed_layout}
    problem = backend.conversations[1][-1].content
    assert "geometry/report.py imports area from geometry/shapes.py" in problem
