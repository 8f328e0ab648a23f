"""The structure sources: scope headers, imported definitions and usages, on real parses.

The workspace here is a dict of files analyzed with the real `symbols.analyze`; the index
class below only serves those results by name (tests/test_index.py covers the real index).
"""

from __future__ import annotations

import pytest

from lspilot.context.definitions import (
    OpenCall,
    Site,
    definition_snippets,
    import_usage_snippets,
    near_names,
    open_calls,
    scope_snippets,
    short_header,
    usage_snippets,
)
from lspilot.context.symbols import (
    Call,
    Definition,
    FileSymbols,
    Import,
    analyze,
    index_files,
    resolve_import,
)
from tests.conftest import at_cursor

FILES = {
    "shop/__init__.py": "",
    "shop/pricing.py": (
        "def apply_discount(amount, percent):\n"
        '    """Reduce `amount` by `percent` percent."""\n'
        "    return amount - amount * percent // 100\n"
        "\n\n"
        "def tax(amount):\n"
        "    return amount // 5\n"),
    "shop/report.py": (
        "from shop.pricing import apply_discount\n\n\n"
        "def totals(rows):\n"
        "    return [apply_discount(r.amount, r.percent) for r in rows]\n"),
}


class Files:
    """Real analyses of in-memory files, looked up as the workspace index does."""

    def __init__(self, files: dict[str, str]) -> None:
        self.texts = files
        self.parsed = {path: analyze("python", text) for path, text in files.items()}

    def files(self) -> frozenset[str]:
        return frozenset(self.texts)

    def symbols(self, path: str) -> FileSymbols | None:
        return self.parsed.get(path)

    def text(self, path: str) -> str | None:
        return self.texts.get(path)

    def callers(self, name: str, limit: int | None = None) -> list[tuple[str, Call]]:
        return sorted(((p, c) for p, s in self.parsed.items() for c in s.calls if c.name == name),
                      key=lambda pc: (pc[0], pc[1].line))[:limit]

    def caller_count(self, name: str) -> int:
        return len(self.callers(name))

    def definitions(self, name: str) -> list[tuple[str, Definition]]:
        return [(p, d) for p, s in self.parsed.items() for d in s.definitions if d.name == name]


def site(fixture: str, path: str = "shop/cart.py", window: range | None = None) -> Site:
    text, offset = at_cursor(fixture)
    line = text.count("\n", 0, offset)
    return Site(path, "python", text, line, analyze("python", text),
                window if window is not None else range(0, text.count("\n") + 1),
                open_calls("python", text, offset))


def resolver(files: Files):  # type: ignore[no-untyped-def]
    index = index_files(files.files())
    return lambda language_id, path, imp: resolve_import(language_id, path, imp, index)


def never() -> bool:
    return False


CART = ("from .pricing import apply_discount, tax\n\n\n"
        "def checkout(items):\n"
        "    total = sum(i.price for i in items)\n"
        "    return █\n")


def test_an_imported_name_brings_its_definition_header_then_the_whole_of_it() -> None:
    files = Files(FILES)
    found = definition_snippets(site(CART), files, resolver(files), never)
    [header] = [s for s in found if s.reason.startswith("defines apply_discount")
                and "whole" not in s.reason]
    assert (header.path, header.start_line, header.source) == ("shop/pricing.py", 0,
                                                                "definition")
    assert header.text == ('def apply_discount(amount, percent):\n'
                           '    """Reduce `amount` by `percent` percent."""')
    assert "imported as apply_discount (line 1)" in header.reason
    whole = [s for s in found if s.reason.endswith("(whole definition)")
             and "apply_discount" in s.reason]
    assert whole and whole[0].score < header.score
    assert "return amount - amount" in whole[0].text


def test_names_used_near_the_cursor_score_above_names_used_elsewhere() -> None:
    files = Files(FILES)
    fixture = ("from .pricing import apply_discount, tax\n\n\n"
               "def a(x):\n    return tax(x)\n" + "\n" * 40 +
               "def b(x):\n    y = apply_discount(x, 5)\n    return █\n")
    found = definition_snippets(site(fixture), files, resolver(files), never)
    score = {s.reason.split(",")[0]: s.score for s in found if "whole" not in s.reason}
    assert score["defines apply_discount"] > score["defines tax"]


def test_import_lines_do_not_make_a_name_near() -> None:
    assert "tax" not in near_names(site(CART))
    assert "total" in near_names(site(CART))


def test_usages_show_how_an_imported_function_is_called_elsewhere() -> None:
    files = Files(FILES)
    fixture = ("from .pricing import apply_discount\n\n\n"
               "def checkout(items):\n    total = apply_discount(█\n")
    found = usage_snippets(site(fixture), files, never)
    assert [(s.path, s.start_line) for s in found] == [("shop/report.py", 2)]
    assert "apply_discount(r.amount, r.percent)" in found[0].text
    assert found[0].reason.startswith("calls apply_discount() (line 5, similarity 0.")


def test_the_usages_most_like_the_cursor_go_first_and_do_not_overlap() -> None:
    calls = "".join(f"    apply_discount(r{i}, {i})\n" for i in range(4))
    files = Files(FILES | {
        "shop/a.py": "from shop.pricing import apply_discount\n\n\ndef f(r0, r1, r2, r3):\n"
                     + calls,
        "shop/z.py": "from shop.pricing import apply_discount\n\n\n"
                     "def basket_total(basket, coupon):\n"
                     "    return apply_discount(basket.total, coupon.percent)\n"})
    fixture = ("from .pricing import apply_discount\n\n\n"
               "def checkout(basket, coupon):\n    price = apply_discount(█\n")
    found = usage_snippets(site(fixture), files, never, per_name=3)
    # a.py's four calls on four lines are one place: one window from it, not four.
    assert [s.path for s in found] == ["shop/z.py", "shop/a.py", "shop/report.py"]
    assert found[0].score > found[1].score > found[2].score


CALC = {
    "shop/calc.py": "def add(a, b):\n    return a + b\n",
    "shop/bag.py": ("class Bag:\n    def add(self, item):\n        self.items.append(item)\n"),
    "shop/files.py": ("def collect(paths):\n    batch = set()\n    for path in paths:\n"
                      "        batch.add(path)\n    return batch\n"),
    "shop/sums.py": "from shop.calc import add\n\n\ndef total(x, y):\n    return add(x, y)\n",
    "shop/mods.py": "import shop.calc as calc\n\n\ndef plus(x):\n    return calc.add(x, 1)\n",
}


@pytest.mark.parametrize(("fixture", "path", "expected"), [
    # In a function's arguments: its usages are bare calls and calls through a module, not
    # a set's `add`.
    ("from shop.calc import add\n\n\ndef f(x):\n    y = add(x, █\n", "shop/f.py",
     ["shop/mods.py", "shop/sums.py"]),
    ("import shop.calc as calc\n\n\ndef f(x):\n    return calc.add(█)\n", "shop/f.py",
     ["shop/mods.py", "shop/sums.py"]),
    # In a method's arguments (a call through an object): its usages are such calls.
    ("def keep(seen, path):\n    seen.add(█)\n", "shop/keep.py", ["shop/files.py"]),
    # Inside a call nested in the arguments, of a name the workspace does not define.
    ("from shop.calc import add\n\n\ndef f(x):\n    y = add(x, len(█\n", "shop/f.py",
     ["shop/mods.py", "shop/sums.py"]),
    # Out of the call: call sites of the names around the cursor cost more than they gave
    # on in-file holes (bench.fim), so there are none.
    ("from shop.calc import add\n\n\ndef f(x):\n    y = add(x, 2)\n    █\n", "shop/f.py",
     []),
    # Declaring a function of that name is not calling it.
    ("def add(a, █\n", "shop/calc2.py", []),
    ("class Bag:\n    def add(self, item):\n        █\n        return item\n", "shop/bag2.py",
     []),
])
def test_a_name_match_is_not_a_usage(fixture: str, path: str, expected: list[str]) -> None:
    files = Files(CALC)
    found = usage_snippets(site(fixture, path), files, never, per_name=5)
    assert sorted({s.path for s in found if "calls add()" in s.reason}) == expected


@pytest.mark.parametrize(("fixture", "expected"), [
    # Anywhere in the file: the imported function's calls elsewhere (bare and through a
    # module alike), not a set's `add`.
    ("from shop.calc import add\n\n\ndef f(x):\n    y = 1\n    █\n",
     ["shop/mods.py", "shop/sums.py"]),
    # In the imported function's own arguments, the calls are `usage`'s.
    ("from shop.calc import add\n\n\ndef f(x):\n    y = add(█\n", []),
])
def test_import_usages_show_the_imported_names_calls_anywhere(fixture: str,
                                                              expected: list[str]) -> None:
    found = import_usage_snippets(site(fixture, "shop/f.py"), Files(CALC), never, per_name=5)
    assert sorted({s.path for s in found}) == expected
    assert all(s.source == "import_usage" and "calls add()" in s.reason for s in found)


def test_usages_skip_names_the_workspace_does_not_define() -> None:
    files = Files(FILES | {"shop/other.py": "def f(x):\n    return len(x)\n"})
    fixture = "def g(x):\n    n = len(x)\n    return len(█\n"
    assert usage_snippets(site(fixture), files, never) == []


@pytest.mark.parametrize(("language_id", "fixture", "expected"), [
    ("python", "x = parse(█", [("parse", "")]),
    ("python", "x = config.parse(a, █", [("parse", "config")]),
    ("python", "x = self.cfg.parse(a, [1, █", [("parse", "self.cfg")]),
    ("python", "f(a, g(b, █", [("g", ""), ("f", "")]),
    ("python", "f(a, g(b), █", [("f", "")]),
    ("python", "f(a)\nx = █", []),
    ("python", "(a + █", []),
    ("python", "return parse(█", [("parse", "")]),
    ("python", "with open(█", [("open", "")]),
    ("python", "def parse(text, █", []),
    ("python", "class Parser(Base, █", []),
    # Brackets in strings and comments do not count; a string argument is inside the call.
    ("python", "f(')', \"(\", █", [("f", "")]),
    ("python", "f(x)  # g(\ny = █", []),
    # Lines above one that may be in a string or comment over several lines are not read.
    ("python", 'f("""(\n""", █', []),
    ("python", 'f(a,\n  """doc (""",\n  █', []),
    ("python", '"""A docstring\nends here."""\nx = g(a, █', [("g", "")]),
    ("java", "/* see\n * g( */\nx = f(█", [("f", "")]),
    ("python", "f(\n    *args,\n    █", [("f", "")]),
    ("c", "f(a,\n  *p,\n  █", [("f", "")]),
    ("python", "log(\"open: (█", [("log", "")]),
    # Arguments over several lines; a chain continued from the line above is a method.
    ("python", "result = compute(\n    first,\n    █", [("compute", "")]),
    ("python", "rows = (query\n    .filter(█", [("filter", "…")]),
    ("javascript", "const x = await load(url, { a: █", [("load", "")]),
    ("javascript", "if (ready) { start(█", [("start", "")]),
    ("javascript", "while (ready(█", [("ready", "")]),
    ("javascript", "function parse(text, █", []),
    ("javascript", "s = `(${a}` + f(█", [("f", "")]),
    ("typescript", "x = api?.get(█", [("get", "api")]),
    ("go", "err := pkg.Open(name, █", [("Open", "pkg")]),
    ("go", "func (r *Reader) Read(p █", []),
    ("go", "func Read(p █", []),
    ("rust", "let v = Vec::with_capacity(█", [("with_capacity", "")]),
    ("rust", "fn parse<'a>(s: &'a str) -> u8 { helper('(', █", [("helper", "")]),
    ("rust", "fn parse(s: █", []),
    ("java", "int total = sum(items, █", [("sum", "")]),
    ("java", "public int sum(int a, █", []),
    ("java", "throw new ParseError(█", [("ParseError", "")]),
    ("java", "x = f(a); /* g( */ y = █", []),
])
def test_open_calls_are_the_calls_whose_arguments_the_cursor_is_in(
        language_id: str, fixture: str, expected: list[tuple[str, str]]) -> None:
    text, offset = at_cursor(fixture)
    assert open_calls(language_id, text, offset) == tuple(OpenCall(*c) for c in expected)


def test_open_calls_read_only_the_last_lines() -> None:
    text, offset = at_cursor("f(\n" + "    a,\n" * 8 + "    █")
    assert open_calls("python", text, offset) == ()
    text, offset = at_cursor("f(\n" + "    a,\n" * 7 + "    █")
    assert open_calls("python", text, offset) == (OpenCall("f"),)


def test_a_passed_deadline_stops_the_sources() -> None:
    files = Files(FILES)
    assert definition_snippets(site(CART), files, resolver(files), lambda: True) == []


@pytest.mark.parametrize(("window_start", "expected"), [
    (0, []),                                  # the class is in the window already
    (4, ["class Cart:", "def total(self):"]),  # both headers start above the window
])
def test_scope_headers_come_only_when_the_window_cut_them_off(
        window_start: int, expected: list[str]) -> None:
    fixture = ('class Cart:\n    """Items to buy."""\n\n    def total(self):\n'
               "        x = 1\n        return █\n")
    here = site(fixture, window=range(window_start, 6))
    found = scope_snippets(here)
    assert [s.text.split("\n")[0].strip() for s in found] == expected
    assert all(s.source == "scope" and s.score == 1.0 for s in found)


@pytest.mark.parametrize(("header", "expected"), [
    ("def f(x):\n    return x", "def f(x):\n    return x"),
    ('def f(x):\n    """' + "\n".join(f"    line {i}" for i in range(10)) + '\n    """',
     'def f(x):\n    """    line 0\n    line 1\n    line 2\n    line 3\n    line 4\n'
     '    line 5\n    line 6\n    ..."""'),
])
def test_short_headers_cut_long_docstrings_and_close_them(header: str, expected: str) -> None:
    assert short_header(header) == expected


def test_import_records_resolve_relative_modules() -> None:
    files = Files(FILES)
    imp = Import(".pricing", ("apply_discount",), ("apply_discount",), 0)
    assert resolver(files)("python", "shop/cart.py", imp) == ["shop/pricing.py"]
