"""What a file defines, imports and calls, per language, and where its imports point."""

from __future__ import annotations

from textwrap import dedent

import pytest

from lspilot.context.languages import parser
from lspilot.context.symbols import (
    MODULE,
    Call,
    FileSymbols,
    Import,
    analyze,
    index_files,
    resolve_import,
)

PYTHON = dedent('''\
    import os, a.b as c
    from ..x.y import (a as b, c)
    from . import m
    from x import *

    LIMIT = 10

    @dataclass
    class Point(Base):
        """A point."""
        x: int = 0

        def __init__(self, a,
                     b):
            """Make one."""
            self.a = scale(a)

        @property
        def norm(self) -> float:
            return math.hypot(self.x, Point())

    def main(argv):
        def helper():
            pass
        return helper()
    ''')

JAVASCRIPT = dedent('''\
    import d, * as ns from "./y";
    import {a as b, c} from './x';
    const {q, r: s} = require("./z");
    // Adds two numbers.
    export function add(a, b) {
      return a + b;
    }
    const inc = (x) => x + 1;
    const load = async (url) => {
      return fetch(url);
    };
    /** A shape. */
    class Shape extends Base {
      sides = 0;
      constructor(n) { super(n); }
      area(scale) {
        return new Box(scale).size();
      }
    }
    const handlers = {click() {}};
    const view = <Panel title="x" />;
    ''')

TYPESCRIPT = dedent('''\
    import type {T} from "./t";
    import fs = require("fs");
    export * from "./all";
    export interface Named { name: string; greet(): void; }
    export type Id = string | number;
    enum Color { Red, Green }
    /** Base of all. */
    export abstract class Model<T> implements Named {
      abstract save(): Promise<void>;
      name: string = "";
      greet(): void {
        console.log(this.name);
      }
    }
    export const VERSION = 3;
    ''')

GO = dedent('''\
    package main

    import (
    \tf "fmt"
    \t"example.com/app/store"
    )
    import "os"

    // Item is one thing.
    type Item struct {
    \tName string
    }

    type (
    \tID int
    \tKey = string
    )

    var Default = Item{Name: "x"}

    // Save stores the item.
    func (i *Item) Save(s store.Store) error {
    \treturn s.Put(i.Name)
    }

    func main() {
    \tf.Println(os.Args)
    }
    ''')

RUST = dedent('''\
    use crate::shapes::{circle, square as sq, util::*, self};
    use std::io;
    mod geometry;

    /// A point.
    #[derive(Debug)]
    pub struct Point { x: i32 }

    pub trait Shape {
        type Unit;
        fn area(&self) -> f64;
        fn name(&self) -> String { String::new() }
    }

    impl<T> Shape for Grid<T> {
        /// Make one.
        pub fn new(cells: usize)
            -> Self {
            let v = Vec::with_capacity(cells);
            Grid::<T>::from(Point { x: 1 }).fill(v)
        }
    }
    const LIMIT: usize = 3;
    ''')

JAVA = dedent('''\
    package com.acme.shop;
    import static com.acme.util.Strings.join;
    import com.acme.model.*;
    import java.util.List;

    /** A cart. */
    public class Cart extends Base {
        private int count = 0;
        /** An empty cart. */
        public Cart(int count) { this.count = count; }
        @Override
        public int total(int a,
                         int b) {
            return price(new Item<Long>(a));
        }
    }
    interface Priced { int price(); }
    enum Size { SMALL, LARGE; int factor() { return 2; } }
    ''')

C = dedent('''\
    #include "point.h"
    #include <stdio.h>
    #define MAX 3
    #define SQUARE(x) ((x)*(x))
    /* A point. */
    typedef struct point { int x; } point;
    int count = 1;
    int add(int a, int b);
    // Makes a point.
    static point *make(int x)
    {
        return calloc(x, p->size(1));
    }
    ''')

CPP = dedent('''\
    #include "geo/shape.hpp"
    namespace geo {
    /// A circle.
    class Circle : public Shape {
    public:
        Circle();
        double area(double scale) const;
        virtual ~Circle();
        double r;
        template <typename T> T as(T t) { return t; }
    };
    }
    double geo::Circle::area(double scale) const {
        return std::make_unique<Box>(Box::create(scale));
    }
    ''')

SOURCES = {"python": PYTHON, "javascript": JAVASCRIPT, "typescript": TYPESCRIPT, "go": GO,
           "rust": RUST, "java": JAVA, "c": C, "cpp": CPP}


@pytest.mark.parametrize(("language_id", "expected"), [
    ("python", [("variable", "", "LIMIT", 5, 5), ("class", "", "Point", 7, 19),
                ("method", "Point", "__init__", 12, 15), ("method", "Point", "norm", 17, 19),
                ("function", "", "main", 21, 24)]),
    ("javascript", [("function", "", "add", 3, 6), ("function", "", "inc", 7, 7),
                    ("function", "", "load", 8, 10), ("class", "", "Shape", 11, 18),
                    ("method", "Shape", "constructor", 14, 14),
                    ("method", "Shape", "area", 15, 17), ("variable", "", "handlers", 19, 19),
                    ("variable", "", "view", 20, 20)]),
    ("typescript", [("type", "", "Named", 3, 3), ("type", "", "Id", 4, 4),
                    ("type", "", "Color", 5, 5), ("class", "", "Model", 6, 13),
                    ("method", "Model", "greet", 10, 12), ("variable", "", "VERSION", 14, 14)]),
    ("go", [("type", "", "Item", 8, 11), ("type", "", "ID", 14, 14), ("type", "", "Key", 15, 15),
            ("variable", "", "Default", 18, 18), ("method", "Item", "Save", 20, 23),
            ("function", "", "main", 25, 27)]),
    ("rust", [("type", "", "Point", 4, 6), ("type", "", "Shape", 8, 12),
              ("method", "Shape", "area", 10, 10), ("method", "Shape", "name", 11, 11),
              ("method", "Grid", "new", 15, 20), ("variable", "", "LIMIT", 22, 22)]),
    ("java", [("class", "", "Cart", 5, 15), ("method", "Cart", "Cart", 8, 9),
              ("method", "Cart", "total", 10, 14), ("type", "", "Priced", 16, 16),
              ("method", "Priced", "price", 16, 16), ("type", "", "Size", 17, 17),
              ("method", "Size", "factor", 17, 17)]),
    ("c", [("variable", "", "MAX", 2, 2), ("function", "", "SQUARE", 3, 3),
           ("type", "", "point", 4, 5), ("variable", "", "count", 6, 6),
           ("function", "", "add", 7, 7), ("function", "", "make", 8, 12)]),
    ("cpp", [("class", "", "Circle", 2, 10), ("method", "Circle", "Circle", 5, 5),
             ("method", "Circle", "area", 6, 6), ("method", "Circle", "~Circle", 7, 7),
             ("method", "Circle", "as", 9, 9), ("method", "Circle", "area", 12, 14)]),
])
def test_definitions(language_id: str, expected: list[tuple[str, str, str, int, int]]) -> None:
    found = analyze(language_id, SOURCES[language_id]).definitions
    assert [(d.kind, d.container, d.name, d.start_line, d.end_line) for d in found] == expected


def test_text_is_the_whole_definition_from_its_doc_comment() -> None:
    [add] = [d for d in analyze("javascript", JAVASCRIPT).definitions if d.name == "add"]
    assert add.text == "// Adds two numbers.\nexport function add(a, b) {\n  return a + b;\n}"


@pytest.mark.parametrize(("language_id", "name", "header"), [
    ("python", "__init__",
     '    def __init__(self, a,\n                 b):\n        """Make one."""'),
    ("python", "norm", "    @property\n    def norm(self) -> float:"),
    ("python", "Point", dedent('''\
        @dataclass
        class Point(Base):
            """A point."""
            x: int = 0
            def __init__(self, a, b): ...
            @property
            def norm(self) -> float: ...''')),
    ("python", "LIMIT", "LIMIT = 10"),
    ("javascript", "add", "// Adds two numbers.\nexport function add(a, b)"),
    ("javascript", "inc", "const inc = (x) => x + 1;"),
    ("javascript", "load", "const load = async (url) =>"),
    ("javascript", "Shape", dedent('''\
        /** A shape. */
        class Shape extends Base {
          sides = 0
          constructor(n)
          area(scale)
        }''')),
    ("typescript", "Model", dedent('''\
        /** Base of all. */
        export abstract class Model<T> implements Named {
          abstract save(): Promise<void>
          name: string = ""
          greet(): void
        }''')),
    ("typescript", "Named", "export interface Named { name: string; greet(): void; }"),
    ("go", "Item", "// Item is one thing.\ntype Item struct {\n\tName string\n}"),
    ("go", "Save", "// Save stores the item.\nfunc (i *Item) Save(s store.Store) error"),
    ("go", "ID", "\tID int"),
    ("rust", "Point", "/// A point.\n#[derive(Debug)]\npub struct Point { x: i32 }"),
    ("rust", "Shape", dedent('''\
        pub trait Shape {
            type Unit;
            fn area(&self) -> f64;
            fn name(&self) -> String;
        }''')),
    ("rust", "new", "    /// Make one.\n    pub fn new(cells: usize)\n        -> Self"),
    ("java", "Cart", dedent('''\
        /** A cart. */
        public class Cart extends Base {
            private int count = 0;
            public Cart(int count);
            @Override
            public int total(int a, int b);
        }''')),
    ("java", "total", "    @Override\n    public int total(int a,\n                     int b)"),
    ("c", "make", "// Makes a point.\nstatic point *make(int x)"),
    ("c", "point", "/* A point. */\ntypedef struct point { int x; } point;"),
    ("cpp", "Circle", dedent('''\
        /// A circle.
        class Circle : public Shape {
        public:
            Circle();
            double area(double scale) const;
            virtual ~Circle();
            double r;
            template <typename T> T as(T t);
        }''')),
])
def test_headers(language_id: str, name: str, header: str) -> None:
    found = [d for d in analyze(language_id, SOURCES[language_id]).definitions if d.name == name]
    assert found[0].header == header


@pytest.mark.parametrize(("language_id", "expected"), [
    ("python", [Import("os", (), (), 0), Import("a.b", ("c",), (MODULE,), 0),
                Import("..x.y", ("b", "c"), ("a", "c"), 1), Import(".", ("m",), ("m",), 2),
                Import("x", (), (), 3)]),
    ("javascript", [Import("./y", ("d", "ns"), ("default", MODULE), 0),
                    Import("./x", ("b", "c"), ("a", "c"), 1),
                    Import("./z", ("q", "s"), ("q", "r"), 2)]),
    ("typescript", [Import("./t", ("T",), ("T",), 0), Import("fs", ("fs",), (MODULE,), 1),
                    Import("./all", (), (), 2)]),
    ("go", [Import("fmt", (), (), 3), Import("example.com/app/store", (), (), 4),
            Import("os", (), (), 6)]),
    ("rust", [Import("crate::shapes", ("circle", "sq", "shapes"), ("circle", "square", MODULE), 0),
              Import("crate::shapes::util", (), (), 0), Import("std", ("io",), ("io",), 1),
              Import("self::geometry", ("geometry",), (MODULE,), 2)]),
    ("java", [Import("com.acme.util.Strings", ("join",), ("join",), 1),
              Import("com.acme.model", (), (), 2), Import("java.util", ("List",), ("List",), 3)]),
    ("c", [Import("point.h", (), (), 0)]),
    ("cpp", [Import("geo/shape.hpp", (), (), 0)]),
])
def test_imports(language_id: str, expected: list[Import]) -> None:
    assert list(analyze(language_id, SOURCES[language_id]).imports) == expected


def line(text: str, snippet: str) -> int:
    """The 0-based line of `snippet`, which must occur once in `text`."""
    assert text.count(snippet) == 1, snippet
    return text[:text.index(snippet)].count("\n")


@pytest.mark.parametrize(("language_id", "expected"), [
    ("python", [("scale", "scale(a)"), ("Point", "Point())"), ("hypot", "math.hypot"),
                ("helper", "return helper()")]),
    ("javascript", [("require", "require("), ("fetch", "fetch("), ("Box", "new Box"),
                    ("size", ".size()"), ("Panel", "<Panel")]),
    ("typescript", [("log", "console.log")]),
    ("go", [("Item", "Item{"), ("Put", "s.Put("), ("Println", "f.Println(")]),
    ("rust", [("String", "String::new"), ("new", "String::new"), ("Vec", "Vec::"),
              ("with_capacity", "Vec::"), ("Grid", "Grid::<T>"), ("Point", "Grid::<T>"),
              ("fill", "Grid::<T>"), ("from", "Grid::<T>")]),
    ("java", [("Item", "new Item"), ("price", "price(new")]),
    ("c", [("calloc", "calloc("), ("size", "calloc(")]),
    ("cpp", [("Box", "make_unique"), ("create", "make_unique"), ("make_unique", "make_unique")]),
])
def test_calls(language_id: str, expected: list[tuple[str, str]]) -> None:
    text = SOURCES[language_id]
    assert [(c.name, c.line) for c in analyze(language_id, text).calls] == \
        [(name, line(text, snippet)) for name, snippet in expected]


@pytest.mark.parametrize(("language_id", "text", "expected"), [
    ("python", "import m\nbatch.add(p)\nadd(1)\nm.add(2)\nself.x.add(3)\n",
     ["batch", "", "m", "self.x"]),
    ("javascript", "batch.add(p);\nadd(1);\nu.v.add(3);\n", ["batch", "", "u.v"]),
    ("go", "package a\nfunc f() {\n\tpkg.Add(1)\n\tAdd(2)\n}\n", ["pkg", ""]),
    ("rust", "fn f() {\n    v.push(1);\n    push(2);\n}\n", ["v", ""]),
    ("java", "class A { void f() {\nlist.add(1);\nadd(2);\n} }\n", ["list", ""]),
    ("cpp", "void f() {\n    v.push_back(1);\n    p->push_back(2);\n}\n", ["v", "p"]),
])
def test_a_call_knows_what_it_is_called_on(language_id: str, text: str,
                                           expected: list[str]) -> None:
    assert [c.receiver for c in analyze(language_id, text).calls] == expected


@pytest.mark.parametrize("language_id", sorted(SOURCES))
def test_lines_span_the_text(language_id: str) -> None:
    text = SOURCES[language_id]
    lines = text.split("\n")
    for definition in analyze(language_id, text).definitions:
        spanned = "\n".join(lines[definition.start_line:definition.end_line + 1])
        assert definition.text.count("\n") == definition.end_line - definition.start_line
        assert definition.text.lstrip() in spanned, definition.name


def test_an_interface_header_lists_members_without_their_docs() -> None:
    text = dedent('''\
        /** Something with a name. */
        export interface Named<T> extends Base {
          /** The name. */
          name: string;
          greet(x: number,
                y: string): void;
          [key: string]: T;
        }
        ''')
    [named] = analyze("typescript", text).definitions
    assert (named.kind, named.start_line, named.end_line) == ("type", 0, 7)
    assert named.header == dedent('''\
        /** Something with a name. */
        export interface Named<T> extends Base {
          name: string
          greet(x: number, y: string): void
          [key: string]: T
        }''')


def test_only_top_level_javascript_variables_are_definitions() -> None:
    text = "var a = 1;\nexport let b = 2;\nconst c = 3, d = 4;\nfunction f() {\n  const z = 1;\n}\n"
    found = analyze("javascript", text).definitions
    assert [(d.kind, d.name, d.header) for d in found] == [
        ("variable", "a", "var a = 1;"), ("variable", "b", "export let b = 2;"),
        ("variable", "c", "c = 3"), ("variable", "d", "d = 4"),
        ("function", "f", "function f()")]


def test_react_variants_use_their_grammar() -> None:
    jsx = analyze("javascriptreact", "const App = () => <Panel />;\n")
    tsx = analyze("typescriptreact", "const App = (): JSX.Element => <Panel />;\n")
    assert [(d.name, d.kind) for d in jsx.definitions] == [("App", "function")]
    assert [(d.name, d.kind) for d in tsx.definitions] == [("App", "function")]
    assert jsx.calls == tsx.calls == (Call("Panel", 0),)


@pytest.mark.parametrize(("language_id", "text", "names", "imports"), [
    ("python", "import os\n\ndef ok(x):\n    return 1\n\ndef broken(a, b\n    x = [\n",
     ["ok"], ["os"]),
    ("python", "class A:\n    def f(self):\n        return g(\n\n    def h(self", ["A", "f"], []),
    ("javascript", "import {a} from './a';\nfunction f() {\n  return a(\n", [], ["./a"]),
    ("go", "package p\n\nimport \"fmt\"\n\nfunc F() {\n\tfmt.Println(\n", [], ["fmt"]),
    ("rust", "use crate::a;\nfn ok() {}\nfn broken( {\n", ["ok"], ["crate"]),
    # Braces left open at the end of the file hide what they enclose (tree-sitter cannot
    # tell where the class ends); an editor's auto-closed braces keep the structure.
    ("java", "import a.B;\nclass C {\n  void f() {\n    g(\n", [], ["a"]),
    ("java", "import a.B;\nclass C {\n  void f() {\n    g();\n  }\n  void h() {\n    x.\n  }\n}\n",
     ["C", "f", "h"], ["a"]),
    ("c", "#include \"a.h\"\nint ok(void) { return 0; }\nint broken(", ["ok"], ["a.h"]),
    ("python", "", [], []),
])
def test_broken_code_gives_what_it_can(language_id: str, text: str, names: list[str],
                                       imports: list[str]) -> None:
    symbols = analyze(language_id, text)
    assert [d.name for d in symbols.definitions] == names
    assert [i.module for i in symbols.imports] == imports


@pytest.mark.parametrize("language_id", ["plaintext", "", "kotlin"])
def test_an_unknown_language_is_empty(language_id: str) -> None:
    assert analyze(language_id, "def f(): pass\n") == FileSymbols(language_id)


@pytest.mark.parametrize("language_id", sorted(SOURCES))
def test_a_given_tree_gives_the_same_result(language_id: str) -> None:
    ts_parser = parser(language_id)
    assert ts_parser is not None
    text = SOURCES[language_id]
    tree = ts_parser.parse(text.encode("utf-8"))
    assert analyze(language_id, text, tree) == analyze(language_id, text)


def test_an_edited_tree_is_reused() -> None:
    ts_parser = parser("python")
    assert ts_parser is not None
    old = "def f():\n    pass\n"
    tree = ts_parser.parse(old.encode())
    new = "def f():\n    pass\n\ndef g():\n    pass\n"
    tree.edit(start_byte=len(old), old_end_byte=len(old), new_end_byte=len(new),
              start_point=(2, 0), old_end_point=(2, 0), new_end_point=(5, 0))
    tree = ts_parser.parse(new.encode(), tree)
    assert [d.name for d in analyze("python", new, tree).definitions] == ["f", "g"]


@pytest.mark.parametrize(("language_id", "text", "start_line"), [
    ("rust", "/// Doc.\n#[inline]\nfn f() {}\n", 0),
    ("rust", "// Not about f.\n\nfn f() {}\n", 2),
    ("c", "int x; // about x\nint f(void) { return 0; }\n", 1),
    ("c", "/* One. */\n/* Two. */\nint f(void) { return 0; }\n", 0),
    ("go", "package p\n\n// F does.\n// It also does.\nfunc F() {}\n", 2),
    ("python", "# Not a docstring.\n@a\n@b(1)\ndef f(): pass\n", 1),
])
def test_a_definition_starts_at_its_doc_comment(language_id: str, text: str,
                                                start_line: int) -> None:
    [definition] = [d for d in analyze(language_id, text).definitions if d.name == "f" or
                    d.name == "F"]
    assert definition.start_line == start_line


def test_unencodable_text_does_not_raise() -> None:
    text = "def f():\n    return '\udcff'\n"
    assert [d.name for d in analyze("python", text).definitions] == ["f"]


def test_non_ascii_text_keeps_its_characters() -> None:
    [d] = analyze("python", 'def grüße(x):\n    """Sagt hallo."""\n    return x\n').definitions
    assert (d.name, d.header) == ("grüße", 'def grüße(x):\n    """Sagt hallo."""')


PY_FILES = ["app/__init__.py", "app/models.py", "app/views/__init__.py", "app/views/list.py",
            "src/lib/__init__.py", "src/lib/core.py", "tools/run.py", "tools/helpers.py"]
JS_FILES = ["web/src/app.ts", "web/src/util.ts", "web/src/lib/index.tsx", "web/src/data.json",
            "web/src/old.js", "web/src/esm.ts"]
GO_FILES = ["go.mod", "store/store.go", "store/mem.go", "store/store_test.go", "cmd/main.go"]
RUST_FILES = ["Cargo.toml", "src/lib.rs", "src/shapes/mod.rs", "src/shapes/circle.rs",
              "src/shapes/square.rs", "src/geometry.rs", "src/geometry/vec.rs"]
JAVA_FILES = ["core/src/main/java/com/acme/model/Item.java",
              "core/src/main/java/com/acme/model/Cart.java",
              "util/src/main/java/com/acme/util/Strings.java",
              "app/src/main/java/com/acme/shop/Shop.java"]
C_FILES = ["src/main.c", "src/point.h", "include/point.h", "include/geo/shape.hpp",
           "lib/shape.hpp"]


@pytest.mark.parametrize(("language_id", "importing", "imp", "files", "expected"), [
    ("python", "app/views/list.py", Import("..models", ("M",), ("M",), 0), PY_FILES,
     ["app/models.py"]),
    ("python", "app/views/list.py", Import(".", ("list",), ("list",), 0), PY_FILES,
     ["app/views/list.py", "app/views/__init__.py"]),
    ("python", "app/models.py", Import("app.views", (), (), 0), PY_FILES,
     ["app/views/__init__.py"]),
    ("python", "app/models.py", Import("app", ("views",), ("views",), 0), PY_FILES,
     ["app/views/__init__.py", "app/__init__.py"]),
    ("python", "app/models.py", Import("lib.core", ("x",), ("x",), 0), PY_FILES,
     ["src/lib/core.py"]),
    ("python", "tools/run.py", Import("helpers", ("h",), (MODULE,), 0), PY_FILES,
     ["tools/helpers.py"]),
    ("python", "app/models.py", Import("os", (), (), 0), PY_FILES, []),
    ("python", "app/models.py", Import("...up", (), (), 0), PY_FILES, []),
    ("typescript", "web/src/app.ts", Import("./util", ("u",), ("u",), 0), JS_FILES,
     ["web/src/util.ts"]),
    ("typescript", "web/src/app.ts", Import("./lib", ("L",), ("L",), 0), JS_FILES,
     ["web/src/lib/index.tsx"]),
    ("typescript", "web/src/lib/index.tsx", Import("../data.json", (), (), 0), JS_FILES,
     ["web/src/data.json"]),
    ("typescript", "web/src/app.ts", Import("./esm.js", (), (), 0), JS_FILES,
     ["web/src/esm.ts"]),
    ("javascript", "web/src/app.ts", Import("./old", (), (), 0), JS_FILES, ["web/src/old.js"]),
    ("javascript", "web/src/app.ts", Import("react", (), (), 0), JS_FILES, []),
    ("go", "cmd/main.go", Import("example.com/app/store", (), (), 0), GO_FILES,
     ["store/mem.go", "store/store.go"]),
    ("go", "cmd/main.go", Import("fmt", (), (), 0), GO_FILES, []),
    ("go", "cmd/main.go", Import("example.com/other/store", (), (), 0), GO_FILES, []),
    ("rust", "src/lib.rs", Import("crate::shapes", ("circle",), ("circle",), 0), RUST_FILES,
     ["src/shapes/circle.rs", "src/shapes/mod.rs"]),
    ("rust", "src/lib.rs", Import("self::geometry", ("geometry",), (MODULE,), 0), RUST_FILES,
     ["src/geometry.rs"]),
    ("rust", "src/geometry.rs", Import("self::vec", ("vec",), (MODULE,), 0), RUST_FILES,
     ["src/geometry/vec.rs"]),
    ("rust", "src/shapes/circle.rs", Import("super::square", ("Sq",), ("Sq",), 0), RUST_FILES,
     ["src/shapes/square.rs"]),
    ("rust", "src/geometry/vec.rs", Import("crate::shapes::circle", ("C",), ("C",), 0),
     RUST_FILES, ["src/shapes/circle.rs"]),
    ("rust", "src/shapes/circle.rs", Import("super", (), (), 0), RUST_FILES,
     ["src/shapes/mod.rs"]),
    ("rust", "src/geometry/vec.rs", Import("crate", ("Config",), ("Config",), 0), RUST_FILES,
     ["src/lib.rs"]),
    ("rust", "src/geometry/vec.rs", Import("shapes", ("Circle",), ("Circle",), 0), RUST_FILES,
     ["src/shapes/mod.rs"]),
    ("rust", "src/geometry/vec.rs", Import("serde", ("Serialize",), ("Serialize",), 0),
     RUST_FILES, []),
    ("rust", "src/lib.rs", Import("std::io", ("Read",), ("Read",), 0), RUST_FILES, []),
    ("java", "app/src/main/java/com/acme/shop/Shop.java",
     Import("com.acme.model", ("Item",), ("Item",), 0), JAVA_FILES,
     ["core/src/main/java/com/acme/model/Item.java"]),
    ("java", "app/src/main/java/com/acme/shop/Shop.java",
     Import("com.acme.util.Strings", ("join",), ("join",), 0), JAVA_FILES,
     ["util/src/main/java/com/acme/util/Strings.java"]),
    ("java", "app/src/main/java/com/acme/shop/Shop.java", Import("com.acme.model", (), (), 0),
     JAVA_FILES, ["core/src/main/java/com/acme/model/Cart.java",
                  "core/src/main/java/com/acme/model/Item.java"]),
    ("java", "app/src/main/java/com/acme/shop/Shop.java",
     Import("java.util", ("List",), ("List",), 0), JAVA_FILES, []),
    ("c", "src/main.c", Import("point.h", (), (), 0), C_FILES, ["src/point.h", "include/point.h"]),
    ("cpp", "src/main.c", Import("geo/shape.hpp", (), (), 0), C_FILES,
     ["include/geo/shape.hpp"]),
    ("cpp", "src/main.c", Import("../lib/shape.hpp", (), (), 0), C_FILES, ["lib/shape.hpp"]),
    ("c", "src/main.c", Import("missing.h", (), (), 0), C_FILES, []),
    ("kotlin", "a.kt", Import("a", (), (), 0), ["a.kt"], []),
])
def test_resolve_import(language_id: str, importing: str, imp: Import, files: list[str],
                        expected: list[str]) -> None:
    index = index_files(files, read={"go.mod": "module example.com/app\n\ngo 1.22\n"}.get)
    assert resolve_import(language_id, importing, imp, index) == expected


def test_go_without_go_mod_matches_the_path_tail() -> None:
    files = ["store/store.go", "cmd/main.go"]
    imp = Import("example.com/app/store", (), (), 0)
    assert resolve_import("go", "cmd/main.go", imp, files) == ["store/store.go"]


def test_a_plain_file_list_works_like_an_index() -> None:
    imp = Import("..models", ("M",), ("M",), 0)
    assert resolve_import("python", "app/views/list.py", imp, PY_FILES) == ["app/models.py"]
