"""One record per language, and the registry that finds a record by LSP language id or path.

A `LanguageSpec` holds everything lspilot knows about a language: its LSP id and file names,
the comment that names a file in a repo-level prompt, and, for a language with a tree-sitter
grammar (a PyPI wheel), its queries, how it nests definitions, how it imports, the tokens
after which a completion is multi-line, and the keywords that say nothing about the code.
Adding a language is one record in `RECORDS` plus its query files.

Queries live in `context/queries/<part>/{definitions,imports,calls}.scm`; a record names its
parts in order (TypeScript's are JavaScript's plus its own). Captures: `@definition.<kind>`
on the definition node with `@name`, optional `@body` (what the header stops before) and
`@container` (a method's type, where nesting does not show it); `@import` on an import
statement, read by the record's `read_imports`; `@call` on a called name.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib.resources import files
from importlib.resources.abc import Traversable

from tree_sitter import Language, Parser, Query

from lspilot.context import imports
from lspilot.context.imports import ImportReader, Resolver

QUERY_KINDS = ("definitions", "imports", "calls")
"""The query files of a part, in the order they are compiled into one query."""

BLOCK_OPENERS = (":", "{", "(", "[", "=>")
"""Line endings after which a completion may span lines, for languages that set none."""

HASH, SLASHES, DASHES = "# {path}", "// {path}", "-- {path}"
SEMICOLONS, PERCENT = ";; {path}", "% {path}"
MARKUP, BLOCK = "<!-- {path} -->", "/* {path} */"


@dataclass(frozen=True)
class Shape:
    """How a language nests definitions, beyond what its queries capture."""

    containers: frozenset[str] = frozenset()
    """Node types whose functions are methods (classes, impls, traits)."""
    scopes: frozenset[str] = frozenset()
    """Node types whose definitions are local, not part of the file's API (function bodies)."""
    wrappers: frozenset[str] = frozenset()
    """Node types around a definition that belong to it (decorators, `export`, `template`)."""
    lists: frozenset[str] = frozenset()
    """Wrappers that may declare several names (`const a = 1, b = 2`): only a lone
    definition takes such a wrapper along."""
    docs: frozenset[str] = frozenset()
    """Sibling node types just above a definition that belong to it (doc comments)."""
    fields: frozenset[str] = frozenset()
    """Class members shown in the class's header next to its method signatures."""
    groups: frozenset[str] = frozenset()
    """Class body parts whose children are members (Java's enum body declarations)."""
    labels: frozenset[str] = frozenset()
    """Class body parts shown with a colon after them (C++'s `public:`)."""
    stub: str = ";"
    """What follows a method signature in a class header, in place of the body."""
    docstring: bool = False
    """Whether a body's first string is its documentation (Python)."""


@dataclass(frozen=True)
class LanguageSpec:
    """What lspilot knows about one language."""

    id: str
    """The LSP language id (`textDocument/didOpen`'s `languageId`)."""
    extensions: tuple[str, ...] = ()
    """File name endings, lower case with the dot (`.py`)."""
    filenames: tuple[str, ...] = ()
    """Whole file names, for languages known by name rather than extension (`Makefile`)."""
    comment: str = HASH
    """A one-line comment around `{path}`: the file's name in a repo-level prompt."""
    grammar: tuple[str, str] | None = None
    """The tree-sitter grammar: its module (a PyPI wheel) and the function returning it."""
    queries: tuple[str, ...] = ()
    """Parts under `context/queries/` whose files make the language's queries, in order."""
    shape: Shape = field(default_factory=Shape)
    read_imports: ImportReader | None = None
    """Reads an `@import` capture into the modules and names it imports."""
    resolve_import: Resolver | None = None
    """The workspace files an import points to."""
    type_calls: bool = False
    """Whether `Type::new(…)` also counts as a use of `Type` (Rust, C++)."""
    block_openers: tuple[str, ...] = BLOCK_OPENERS
    """Line endings after which a completion may span lines."""
    stop_words: frozenset[str] = frozenset()
    """Keywords every file repeats: matching code on them says nothing (`context/similar.py`)."""


class Languages:
    """The records, looked up by LSP language id or by file name, with their grammars and
    compiled queries loaded on first use."""

    def __init__(self, records: Iterable[LanguageSpec],
                 queries: Traversable | None = None) -> None:
        self.records = tuple(records)
        self._queries_dir = queries if queries is not None else files("lspilot.context") / "queries"
        self._by_id: dict[str, LanguageSpec] = {}
        self._by_extension: dict[str, LanguageSpec] = {}
        self._by_filename: dict[str, LanguageSpec] = {}
        for record in self.records:
            _add(self._by_id, record.id, record)
            for part in record.queries:
                if not (self._queries_dir / part).is_dir():
                    raise ValueError(f"{record.id}: no queries named {part!r}")
            for extension in record.extensions:
                _add(self._by_extension, extension, record)
            for name in record.filenames:
                _add(self._by_filename, name, record)
        self.stop_words: frozenset[str] = frozenset().union(
            *(record.stop_words for record in self.records))
        """Every record's stop words: similarity compares files of any language."""
        # Filled on first use, from any thread: a race only loads the same thing twice.
        self._grammars: dict[str, Language | None] = {}
        self._queries: dict[str, Query | None] = {}

    def get(self, language_id: str) -> LanguageSpec | None:
        """The record of an LSP language id, if there is one."""
        return self._by_id.get(language_id)

    def for_path(self, path: str) -> LanguageSpec | None:
        """The record of a file, by its name or extension (None when unknown)."""
        name = path.rsplit("/", 1)[-1]
        record = self._by_filename.get(name)
        if record is not None:
            return record
        dot = name.rfind(".")
        return self._by_extension.get(name[dot:].lower()) if dot > 0 else None

    def language_id_for(self, path: str) -> str:
        """The id of a file's language when it has a grammar, else "" (nothing to parse)."""
        record = self.for_path(path)
        return record.id if record is not None and record.grammar is not None else ""

    def comment(self, language_id: str) -> str:
        """The path comment of a language (`{path}` to replace); `#` when unknown."""
        record = self._by_id.get(language_id)
        return record.comment if record is not None else HASH

    def comment_starts(self, language_id: str) -> tuple[str, ...]:
        """How a comment line starts: the path comment's marker (`#`, `//`, `--`), and
        beside `//` a block comment's lines (`/*`, `* `, `*/`; not `*p = 0`)."""
        marker = self.comment(language_id).split(" ", 1)[0]
        return (marker, "/*", "* ", "*/") if marker == "//" else (marker,)

    def block_openers(self, language_id: str) -> tuple[str, ...]:
        """Line endings after which a completion in this language may span lines."""
        record = self._by_id.get(language_id)
        return record.block_openers if record is not None else BLOCK_OPENERS

    def grammar(self, language_id: str) -> Language | None:
        """The tree-sitter grammar of a language, or None for one without."""
        if language_id not in self._grammars:
            record = self._by_id.get(language_id)
            grammar = None
            if record is not None and record.grammar is not None:
                module, function = record.grammar
                grammar = Language(getattr(importlib.import_module(module), function)())
            self._grammars[language_id] = grammar
        return self._grammars[language_id]

    def parser(self, language_id: str) -> Parser | None:
        """A new parser for the language, or None when it has no grammar."""
        grammar = self.grammar(language_id)
        return Parser(grammar) if grammar is not None else None

    def query_text(self, language_id: str) -> str:
        """The language's queries as one text: every part's definitions, then imports, calls."""
        record = self._by_id.get(language_id)
        if record is None:
            return ""
        texts = []
        for kind in QUERY_KINDS:
            for part in record.queries:
                file = self._queries_dir / part / f"{kind}.scm"
                if file.is_file():
                    texts.append(file.read_text(encoding="utf-8"))
        return "\n".join(texts)

    def query(self, language_id: str) -> Query | None:
        """The language's queries compiled as one, so that one pass over a tree runs them."""
        if language_id not in self._queries:
            grammar = self.grammar(language_id)
            text = self.query_text(language_id) if grammar is not None else ""
            self._queries[language_id] = Query(grammar, text) if grammar and text else None
        return self._queries[language_id]


def _add(table: dict[str, LanguageSpec], key: str, record: LanguageSpec) -> None:
    """One record per key: two languages claiming the same id or file name is a mistake."""
    if key in table:
        raise ValueError(f"{key!r} belongs to both {table[key].id!r} and {record.id!r}")
    table[key] = record


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


PYTHON = LanguageSpec(
    "python", (".py", ".pyi"), grammar=("tree_sitter_python", "language"),
    queries=("python",),
    shape=Shape(
        containers=frozenset({"class_definition"}),
        scopes=frozenset({"function_definition", "lambda"}),
        wrappers=frozenset({"decorated_definition"}),
        fields=frozenset({"expression_statement"}),
        stub=" ...", docstring=True),
    read_imports=imports.read_python, resolve_import=imports.resolve_python,
    stop_words=_words("""and as assert async await break class continue def del elif else for
        from if import in is none not or pass raise return self try while with yield
        False None True"""))

JAVASCRIPT = LanguageSpec(
    "javascript", (".js", ".mjs", ".cjs"), comment=SLASHES,
    grammar=("tree_sitter_javascript", "language"), queries=("javascript", "jsx"),
    shape=Shape(
        # An interface is a container so that its header lists members without their docs.
        containers=frozenset({"class_declaration", "class", "abstract_class_declaration",
                              "interface_declaration"}),
        scopes=frozenset({"function_declaration", "generator_function_declaration",
                          "function_expression", "arrow_function", "method_definition",
                          "generator_function", "object", "function"}),
        wrappers=frozenset({"export_statement", "lexical_declaration", "variable_declaration"}),
        lists=frozenset({"lexical_declaration", "variable_declaration"}),
        docs=frozenset({"comment"}),
        fields=frozenset({"field_definition", "public_field_definition",
                          "abstract_method_signature", "method_signature", "index_signature",
                          "property_signature", "call_signature", "construct_signature"}),
        stub=""),
    read_imports=imports.read_js, resolve_import=imports.resolve_js,
    stop_words=_words("""async await break case catch class const continue default do else
        export extends false for from function if import in let new null return static super
        switch this throw true try typeof undefined var void while with yield"""))

TYPESCRIPT = dataclasses.replace(
    JAVASCRIPT, id="typescript", extensions=(".ts",),
    grammar=("tree_sitter_typescript", "language_typescript"),
    queries=("javascript", "typescript"),
    stop_words=JAVASCRIPT.stop_words | _words("enum interface type"))

C_SHAPE = Shape(
    scopes=frozenset({"function_definition"}),
    wrappers=frozenset({"type_definition"}),
    docs=frozenset({"comment"}))

RECORDS: tuple[LanguageSpec, ...] = (
    PYTHON,
    JAVASCRIPT,
    dataclasses.replace(JAVASCRIPT, id="javascriptreact", extensions=(".jsx",)),
    TYPESCRIPT,
    dataclasses.replace(TYPESCRIPT, id="typescriptreact", extensions=(".tsx",),
                        grammar=("tree_sitter_typescript", "language_tsx"),
                        queries=("javascript", "typescript", "jsx")),
    LanguageSpec(
        "go", (".go",), comment=SLASHES, grammar=("tree_sitter_go", "language"),
        queries=("go",),
        shape=Shape(
            scopes=frozenset({"function_declaration", "method_declaration", "func_literal"}),
            wrappers=frozenset({"type_declaration", "const_declaration", "var_declaration"}),
            lists=frozenset({"type_declaration", "const_declaration", "var_declaration"}),
            docs=frozenset({"comment"})),
        read_imports=imports.read_go, resolve_import=imports.resolve_go,
        stop_words=_words("""break case const continue default defer else for func go if
            import interface nil package return struct switch type var""")),
    LanguageSpec(
        "rust", (".rs",), comment=SLASHES, grammar=("tree_sitter_rust", "language"),
        queries=("rust",),
        shape=Shape(
            containers=frozenset({"impl_item", "trait_item"}),
            scopes=frozenset({"function_item", "closure_expression"}),
            docs=frozenset({"line_comment", "block_comment", "attribute_item"}),
            fields=frozenset({"associated_type", "const_item"})),
        read_imports=imports.read_rust, resolve_import=imports.resolve_rust, type_calls=True,
        stop_words=_words("""as async await break const continue else enum false fn for if
            impl in let match mod mut pub return self static struct super true type use while
            Self""")),
    LanguageSpec(
        "java", (".java",), comment=SLASHES, grammar=("tree_sitter_java", "language"),
        queries=("java",),
        shape=Shape(
            containers=frozenset({"class_declaration", "record_declaration",
                                  "interface_declaration", "enum_declaration"}),
            scopes=frozenset({"method_declaration", "constructor_declaration",
                              "lambda_expression", "object_creation_expression"}),
            docs=frozenset({"block_comment", "line_comment"}),
            fields=frozenset({"field_declaration", "constant_declaration", "enum_constant"}),
            groups=frozenset({"enum_body_declarations"})),
        read_imports=imports.read_java, resolve_import=imports.resolve_java,
        stop_words=_words("""break case catch class continue default do else enum extends false
            for if import interface new null package return static super switch this throw true
            try void while""")),
    LanguageSpec(
        "c", (".c", ".h"), comment=SLASHES, grammar=("tree_sitter_c", "language"),
        queries=("c-functions", "c"), shape=C_SHAPE,
        read_imports=imports.read_c, resolve_import=imports.resolve_c,
        stop_words=_words("""break case const continue default do else enum for if return
            static struct switch void while""")),
    LanguageSpec(
        "cpp", (".cc", ".cpp", ".cxx", ".hpp", ".hh"), comment=SLASHES,
        grammar=("tree_sitter_cpp", "language"), queries=("c-functions", "cpp"),
        shape=dataclasses.replace(
            C_SHAPE,
            containers=frozenset({"class_specifier", "struct_specifier", "union_specifier"}),
            scopes=frozenset({"function_definition", "lambda_expression"}),
            wrappers=frozenset({"template_declaration", "type_definition"}),
            fields=frozenset({"field_declaration"}),
            labels=frozenset({"access_specifier"})),
        read_imports=imports.read_c, resolve_import=imports.resolve_c, type_calls=True,
        stop_words=_words("""break case catch class const continue default do else enum false
            for if new return static struct switch this throw true try void while""")),
    # Without a grammar: file names and the comment that names a file in a prompt.
    LanguageSpec("shellscript", (".sh", ".bash", ".zsh")),
    LanguageSpec("ruby", (".rb",)),
    LanguageSpec("perl", (".pl",)),
    LanguageSpec("r", (".r",)),
    LanguageSpec("yaml", (".yaml", ".yml")),
    LanguageSpec("toml", (".toml",)),
    LanguageSpec("makefile", filenames=("Makefile", "makefile", "GNUmakefile")),
    LanguageSpec("dockerfile", filenames=("Dockerfile",)),
    LanguageSpec("powershell", (".ps1",)),
    LanguageSpec("elixir", (".ex", ".exs")),
    LanguageSpec("julia", (".jl",)),
    LanguageSpec("coffeescript"),
    LanguageSpec("nim"),
    LanguageSpec("csharp", (".cs",), comment=SLASHES),
    LanguageSpec("swift", (".swift",), comment=SLASHES),
    LanguageSpec("kotlin", (".kt", ".kts"), comment=SLASHES),
    LanguageSpec("scala", (".scala",), comment=SLASHES),
    LanguageSpec("dart", (".dart",), comment=SLASHES),
    LanguageSpec("php", (".php",), comment=SLASHES),
    LanguageSpec("objective-c", (".m",), comment=SLASHES),
    LanguageSpec("objective-cpp", (".mm",), comment=SLASHES),
    LanguageSpec("groovy", (".groovy",), comment=SLASHES),
    LanguageSpec("zig", (".zig",), comment=SLASHES),
    LanguageSpec("jsonc", comment=SLASHES),
    LanguageSpec("proto", (".proto",), comment=SLASHES),
    LanguageSpec("verilog", (".v",), comment=SLASHES),
    LanguageSpec("lua", (".lua",), comment=DASHES),
    LanguageSpec("sql", (".sql",), comment=DASHES),
    LanguageSpec("haskell", (".hs",), comment=DASHES),
    LanguageSpec("elm", (".elm",), comment=DASHES),
    LanguageSpec("ada", comment=DASHES),
    LanguageSpec("vhdl", comment=DASHES),
    LanguageSpec("clojure", (".clj",), comment=SEMICOLONS),
    LanguageSpec("lisp", (".lisp",), comment=SEMICOLONS),
    LanguageSpec("scheme", (".scm",), comment=SEMICOLONS),
    LanguageSpec("racket", (".rkt",), comment=SEMICOLONS),
    LanguageSpec("erlang", (".erl",), comment=PERCENT),
    LanguageSpec("latex", (".tex",), comment=PERCENT),
    LanguageSpec("tex", comment=PERCENT),
    LanguageSpec("matlab", comment=PERCENT),
    LanguageSpec("prolog", comment=PERCENT),
    LanguageSpec("html", (".html", ".htm"), comment=MARKUP),
    LanguageSpec("xml", (".xml",), comment=MARKUP),
    LanguageSpec("markdown", (".md",), comment=MARKUP),
    LanguageSpec("vue", (".vue",), comment=MARKUP),
    LanguageSpec("svelte", (".svelte",), comment=MARKUP),
    LanguageSpec("css", (".css",), comment=BLOCK),
    LanguageSpec("scss", (".scss",), comment=BLOCK),
    LanguageSpec("less", (".less",), comment=BLOCK),
    LanguageSpec("vb", (".vb",), comment="' {path}"),
    LanguageSpec("fortran", (".f90",), comment="! {path}"),
    LanguageSpec("ocaml", (".ml", ".mli"), comment="(* {path} *)"),
)

LANGUAGES = Languages(RECORDS)
"""Every language lspilot knows."""


def language(language_id: str) -> Language | None:
    """The grammar for an LSP language id, or None for a language without one."""
    return LANGUAGES.grammar(language_id)


def parser(language_id: str) -> Parser | None:
    """A parser for the language, or None when the language has no grammar."""
    return LANGUAGES.parser(language_id)


def language_id_for(path: str) -> str:
    """The LSP language id of a file with a grammar ("" otherwise), as editors would send it."""
    return LANGUAGES.language_id_for(path)
