"""Imports an answer left out come back when the edit's files import the name one way only
(edits/imports.py), and nowhere else: table cases, then once through `run_edit` with the
real llama.cpp runtime and a tiny scripted model."""

from __future__ import annotations

from pathlib import Path

import pytest

from lspilot.context.ignore import Exclusions
from lspilot.edits.formats import FORMATS
from lspilot.edits.imports import restore_imports
from lspilot.edits.run import describe, run_edit
from lspilot.edits.task import EditTask, FileChange, SourceFile
from lspilot.models.backends.base import EmbeddedConfig, make_backend
from lspilot.settings import LlamaCppSettings
from tests.tiny_gguf import build, chat_model

PRICING = "from decimal import ROUND_HALF_UP, Decimal\n\nCENT = Decimal('0.01')\n"
INVOICE = ("from decimal import ROUND_HALF_UP, Decimal\n\n\ndef net(x):\n"
           "    return Decimal(x).quantize(Decimal('0.01'), rounding=ROUND_HALF_UP)\n")
INVOICE_DROPPED = ("def net(x):\n"
                   "    return Decimal(x).quantize(Decimal('0.01'), rounding=ROUND_HALF_UP)\n")
CART = "from dataclasses import dataclass\n\n\n@dataclass\nclass Cart:\n    items: list\n"
MONEY_NEW = "@dataclass(frozen=True)\nclass Money:\n    cents: int\n"


def task(*files: tuple[str, str]) -> EditTask:
    return EditTask("do it", tuple(SourceFile(path, text, None) for path, text in files))


@pytest.mark.parametrize(("files", "change", "expected", "restored"), [
    # The rewrite dropped the file's own import line: it comes back, one statement per module.
    ([("billing/invoice.py", INVOICE)], FileChange("billing/invoice.py", INVOICE_DROPPED),
     "from decimal import Decimal, ROUND_HALF_UP\n\n" + INVOICE_DROPPED,
     ("Decimal", "ROUND_HALF_UP")),
    # A new module uses a decorator another file of the edit imports.
    ([("shop/cart.py", CART)], FileChange("shop/money.py", MONEY_NEW, created=True),
     "from dataclasses import dataclass\n\n" + MONEY_NEW, ("dataclass",)),
    # After a docstring and the future import, before the code.
    ([("shop/cart.py", CART)],
     FileChange("shop/money.py", '"""Money."""\nfrom __future__ import annotations\n' + MONEY_NEW,
                created=True),
     '"""Money."""\nfrom __future__ import annotations\nfrom dataclasses import dataclass\n'
     + MONEY_NEW, ("dataclass",)),
    # After the imports the answer kept.
    ([("shop/cart.py", CART)], FileChange("shop/money.py", "import os\n\n" + MONEY_NEW),
     "import os\nfrom dataclasses import dataclass\n\n" + MONEY_NEW, ("dataclass",)),
    # A CRLF file keeps CRLF.
    ([("shop/cart.py", CART)], FileChange("shop/money.py", MONEY_NEW.replace("\n", "\r\n")),
     ("from dataclasses import dataclass\n\n" + MONEY_NEW).replace("\n", "\r\n"), ("dataclass",)),
    # `import x as y` and relative imports from the same folder are written as the project does.
    ([("a/b.py", "import numpy as np\nfrom .util import helper\n")],
     FileChange("a/c.py", "x = np.zeros(helper())\n"),
     "import numpy as np\nfrom .util import helper\n\nx = np.zeros(helper())\n", ("helper", "np")),
])
def test_a_left_out_import_comes_back(files: list[tuple[str, str]], change: FileChange,
                                      expected: str, restored: tuple[str, ...]) -> None:
    [result] = restore_imports([change], task(*files))
    assert result.new_text == expected
    assert result.restored == restored


@pytest.mark.parametrize(("files", "change"), [
    # Imported two different ways in the project: which one is meant is not guessed.
    ([("a.py", "from x import thing\n"), ("b.py", "from y import thing\n")],
     FileChange("c.py", "thing()\n")),
    # Imported nowhere.
    ([("a.py", "import os\n")], FileChange("c.py", "dataclass()\n")),
    # A relative import from another folder means another module from here.
    ([("pkg/a.py", "from .util import helper\n")], FileChange("other/c.py", "helper()\n")),
    # Imported only inside a function: not the project's top-level way.
    ([("a.py", "def f():\n    from x import thing\n")], FileChange("c.py", "thing()\n")),
    # A name the file already used unbound before the change is not the answer's doing.
    ([("c.py", "thing()\n"), ("a.py", "from x import thing\n")],
     FileChange("c.py", "thing()\nthing()\n")),
    # Not Python; a Python answer that does not parse.
    ([("a.py", "from x import thing\n")], FileChange("c.js", "thing()\n")),
    ([("a.py", "from x import thing\n")], FileChange("c.py", "thing(\n")),
])
def test_nothing_is_guessed(files: list[tuple[str, str]], change: FileChange) -> None:
    assert restore_imports([change], task(*files)) == [change]


async def test_an_edit_through_the_runtime_gets_its_import_back(tmp_path: Path) -> None:
    answer = ("billing/invoice.py\n```python\n" + INVOICE_DROPPED + "```\n")
    backend = make_backend(EmbeddedConfig("tiny-chat", build(tmp_path / "m.gguf", chat_model(
        answer)), LlamaCppSettings(context_size=2048, threads=1)))
    root = tmp_path / "repo"
    (root / "billing").mkdir(parents=True)
    (root / "billing" / "invoice.py").write_text(INVOICE)
    (root / "billing" / "pricing.py").write_text(PRICING)
    edit = EditTask("round half up", (SourceFile("billing/invoice.py", INVOICE, None),
                                      SourceFile("billing/pricing.py", PRICING, None)))
    result = await run_edit(edit, backend, FORMATS["whole"], 512, root, Exclusions(root))  # type: ignore[arg-type]
    assert result.error is None
    [change] = result.changes
    assert change.new_text == "from decimal import Decimal, ROUND_HALF_UP\n\n" + INVOICE_DROPPED
    assert "imports the answer left out put back: Decimal, ROUND_HALF_UP in billing/invoice.py" \
        in describe(result)


@pytest.mark.parametrize(("files", "change", "expected", "restored"), [
    # The file imports from decimal, which has the constant the fix needs (bench.edits'
    # fix_invoice_totals: the 1.5B wrote ROUND_HALF_UP beside an import of ROUND_DOWN).
    ([("billing/invoice.py", "from decimal import ROUND_DOWN, Decimal\n")],
     FileChange("billing/invoice.py", "from decimal import ROUND_DOWN, Decimal\n\n"
                "x = Decimal(1).quantize(Decimal(1), rounding=ROUND_HALF_UP)\n"),
     "from decimal import ROUND_DOWN, Decimal\nfrom decimal import ROUND_HALF_UP\n\n"
     "x = Decimal(1).quantize(Decimal(1), rounding=ROUND_HALF_UP)\n", ("ROUND_HALF_UP",)),
    # One of the edit's files, imported from, defines it at its top level.
    ([("shop/money.py", "class Money:\n    pass\n\n\nclass Mismatch(Exception):\n    pass\n"),
      ("shop/cart.py", "from shop.money import Money\n")],
     FileChange("shop/cart.py", "from shop.money import Money\n\nraise Mismatch(Money())\n"),
     "from shop.money import Money\nfrom shop.money import Mismatch\n\n"
     "raise Mismatch(Money())\n", ("Mismatch",)),
])
def test_a_name_the_imported_module_defines_is_imported_from_it(
        files: list[tuple[str, str]], change: FileChange, expected: str,
        restored: tuple[str, ...]) -> None:
    [result] = restore_imports([change], task(*files))
    assert result.new_text == expected
    assert result.restored == restored


@pytest.mark.parametrize("change", [
    # Two modules imported from both define it: which one is meant is not guessed.
    FileChange("a.py", "from os import sep\nfrom sys import argv\n\nx = path\n"),
    # Not a standard-library module, and not one of the edit's files: not known.
    FileChange("a.py", "from requests import get\n\nx = post\n"),
    # The module does not have it.
    FileChange("a.py", "from decimal import Decimal\n\nx = ROUND_SIDEWAYS\n"),
    # A module whose import does something is not imported to find out.
    FileChange("a.py", "from antigravity import geohash\n\nx = webbrowser\n"),
])
def test_a_module_is_only_asked_when_it_is_known(change: FileChange) -> None:
    assert restore_imports([change], task()) == [change]
