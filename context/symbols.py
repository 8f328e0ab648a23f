"""What a source file defines, imports and calls, read with tree-sitter queries per language."""

from __future__ import annotations

import posixpath
import re
import sys
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache

from tree_sitter import Node, Query, QueryCursor, Tree

from lspilot.context.languages import language, parser


@dataclass(frozen=True, slots=True)
class Definition:
    """A top-level or class-level definition: function, method, class, type, constant."""

    name: str
    kind: str
    """`function`, `method`, `class`, `type` (struct/interface/enum/alias/trait) or `variable`."""
    start_line: int
    """0-based line where the definition starts (decorators and doc comments included)."""
    end_line: int
    """0-based line where it ends, inclusive."""
    header: str
    """Signature with its docstring or doc comment: what a prompt shows first."""
    text: str
    """The whole definition, as in the file."""
    container: str = ""
    """Name of the enclosing class/impl/struct for methods; "" at top level."""


@dataclass(frozen=True, slots=True)
class Import:
    """One imported module and the names the import binds in this file."""

    module: str
    """The module as written (`pkg.mod`, `.sibling`, `./util`, `github.com/a/b`, `crate::x`)."""
    names: tuple[str, ...]
    """Names bound in the importing file (after `as`); empty for `import pkg` style."""
    original: tuple[str, ...]
    """The same names as the module exports them (before `as`), in the same order."""
    line: int
    """0-based line of the import."""


@dataclass(frozen=True, slots=True)
class Call:
    """A call site: where a function or class is used."""

    name: str
    """The called name's last part (`parse` for `config.parse(x)`)."""
    line: int
    """0-based line of the call."""


@dataclass(frozen=True, slots=True)
class FileSymbols:
    """Everything the context engine needs from one file, read in one parse."""

    language_id: str
    definitions: tuple[Definition, ...] = ()
    imports: tuple[Import, ...] = ()
    calls: tuple[Call, ...] = ()


MODULE = "*"
"""`Import.original` entry for a name bound to the module itself (`import a as b`,
`import * as ns`, `const m = require('m')`, Rust `mod x;`)."""

# Captures: @definition.<kind> on the definition node with @name, optional @body (what the
# header stops before) and @container (a method's type, where nesting does not show it);
# @import on an import statement; @call on a called name.
_PYTHON = {
    "definitions": """
(function_definition name: (identifier) @name body: (block) @body) @definition.function
(class_definition name: (identifier) @name body: (block) @body) @definition.class
(module (expression_statement (assignment left: (identifier) @name)) @definition.variable)
(module (type_alias_statement left: (type (identifier) @name)) @definition.type)
""",
    "imports": "(import_statement) @import (import_from_statement) @import",
    "calls": "(call function: [(identifier) @call (attribute attribute: (identifier) @call)])",
}

_JAVASCRIPT = {
    "definitions": """
(function_declaration name: (identifier) @name body: (_) @body) @definition.function
(generator_function_declaration name: (identifier) @name body: (_) @body) @definition.function
(class_declaration name: (_) @name body: (class_body) @body) @definition.class
(method_definition name: (_) @name body: (_) @body) @definition.function
(variable_declarator name: (identifier) @name
  value: [(arrow_function body: (_) @body) (function_expression body: (_) @body)])
  @definition.function
(program [
  (lexical_declaration (variable_declarator name: (identifier) @name) @definition.variable)
  (variable_declaration (variable_declarator name: (identifier) @name) @definition.variable)
  (export_statement [
    (lexical_declaration (variable_declarator name: (identifier) @name) @definition.variable)
    (variable_declaration
      (variable_declarator name: (identifier) @name) @definition.variable)])])
""",
    "imports": """
(import_statement source: (string)) @import
(export_statement source: (string)) @import
((call_expression function: (identifier) @_require arguments: (arguments . (string)))
  @import (#eq? @_require "require"))
(call_expression function: (import) arguments: (arguments . (string))) @import
""",
    "calls": """
(call_expression function: [(identifier) @call (member_expression property: (_) @call)])
(new_expression constructor: [(identifier) @call (member_expression property: (_) @call)])
""",
}
_JSX_CALLS = """
(jsx_opening_element name: (identifier) @call (#match? @call "^[A-Z]"))
(jsx_self_closing_element name: (identifier) @call (#match? @call "^[A-Z]"))
"""
_JAVASCRIPT["calls"] += _JSX_CALLS

_TYPESCRIPT = {
    "definitions": _JAVASCRIPT["definitions"] + """
(abstract_class_declaration name: (_) @name body: (class_body) @body) @definition.class
(interface_declaration name: (_) @name body: (interface_body) @body) @definition.type
(type_alias_declaration name: (_) @name) @definition.type
(enum_declaration name: (_) @name) @definition.type
(function_signature name: (_) @name) @definition.function
""",
    "imports": _JAVASCRIPT["imports"] + "(import_statement (import_require_clause)) @import",
    "calls": _JAVASCRIPT["calls"].replace(_JSX_CALLS, ""),
}
_TSX = {**_TYPESCRIPT, "calls": _JAVASCRIPT["calls"]}

_GO = {
    "definitions": """
(function_declaration name: (identifier) @name body: (block) @body) @definition.function
(method_declaration
  receiver: (parameter_list (parameter_declaration type: [
    (type_identifier) @container
    (pointer_type (type_identifier) @container)
    (generic_type type: (type_identifier) @container)
    (pointer_type (generic_type type: (type_identifier) @container))]))
  name: (field_identifier) @name body: (block) @body) @definition.method
(type_spec name: (type_identifier) @name) @definition.type
(type_alias name: (type_identifier) @name) @definition.type
(source_file (const_declaration (const_spec name: (identifier) @name) @definition.variable))
(source_file (var_declaration (var_spec name: (identifier) @name) @definition.variable))
(source_file (var_declaration (var_spec_list
  (var_spec name: (identifier) @name) @definition.variable)))
""",
    "imports": "(import_spec path: (_)) @import",
    "calls": """
(call_expression function: [(identifier) @call (selector_expression field: (_) @call)])
(composite_literal type: [(type_identifier) @call (qualified_type name: (_) @call)])
""",
}

_RUST = {
    "definitions": """
(function_item name: (identifier) @name body: (block) @body) @definition.function
(function_signature_item name: (identifier) @name) @definition.function
(struct_item name: (type_identifier) @name) @definition.type
(enum_item name: (type_identifier) @name) @definition.type
(union_item name: (type_identifier) @name) @definition.type
(trait_item name: (type_identifier) @name body: (declaration_list) @body) @definition.type
(type_item name: (type_identifier) @name) @definition.type
(const_item name: (identifier) @name) @definition.variable
(static_item name: (identifier) @name) @definition.variable
(macro_definition name: (identifier) @name) @definition.function
""",
    "imports": "(use_declaration) @import (mod_item !body) @import",
    "calls": """
(call_expression function: [
  (identifier) @call
  (field_expression field: (_) @call)
  (scoped_identifier) @call
  (generic_function function: [
    (identifier) @call (scoped_identifier) @call (field_expression field: (_) @call)])])
(struct_expression name: [(type_identifier) @call (scoped_type_identifier) @call])
(macro_invocation macro: [(identifier) @call (scoped_identifier) @call])
""",
}

_JAVA = {
    "definitions": """
(class_declaration name: (identifier) @name body: (class_body) @body) @definition.class
(record_declaration name: (identifier) @name body: (class_body) @body) @definition.class
(interface_declaration name: (identifier) @name body: (interface_body) @body) @definition.type
(enum_declaration name: (identifier) @name body: (enum_body) @body) @definition.type
(annotation_type_declaration name: (identifier) @name) @definition.type
(method_declaration name: (identifier) @name body: (block) @body) @definition.function
(method_declaration name: (identifier) @name !body) @definition.function
(constructor_declaration name: (identifier) @name body: (_) @body) @definition.function
""",
    "imports": "(import_declaration) @import",
    "calls": """
(method_invocation name: (identifier) @call)
(object_creation_expression type: [
  (type_identifier) @call (scoped_type_identifier) @call (generic_type) @call])
""",
}

_C_FUNCTIONS = """
(function_definition declarator: [
  (function_declarator declarator: (_) @name)
  (pointer_declarator declarator: (function_declarator declarator: (_) @name))
  (pointer_declarator declarator: (pointer_declarator
    declarator: (function_declarator declarator: (_) @name)))]
  body: (_) @body) @definition.function
(declaration declarator: [
  (function_declarator declarator: (_) @name)
  (pointer_declarator declarator: (function_declarator declarator: (_) @name))])
  @definition.function
(enum_specifier name: (type_identifier) @name body: (enumerator_list)) @definition.type
(type_definition declarator: (type_identifier) @name) @definition.type
(preproc_def name: (identifier) @name) @definition.variable
(preproc_function_def name: (identifier) @name) @definition.function
(translation_unit (declaration declarator: (init_declarator declarator: (identifier) @name))
  @definition.variable)
"""

_C = {
    "definitions": _C_FUNCTIONS + """
(struct_specifier name: (type_identifier) @name body: (field_declaration_list)) @definition.type
(union_specifier name: (type_identifier) @name body: (field_declaration_list)) @definition.type
""",
    "imports": "(preproc_include path: (string_literal)) @import",
    "calls": """
(call_expression function: [(identifier) @call (field_expression field: (_) @call)])
""",
}

_CPP = {
    "definitions": _C_FUNCTIONS + """
(function_definition
  declarator: (reference_declarator (function_declarator declarator: (_) @name))
  body: (_) @body) @definition.function
(field_declaration declarator: [
  (function_declarator declarator: (_) @name)
  (pointer_declarator declarator: (function_declarator declarator: (_) @name))
  (reference_declarator (function_declarator declarator: (_) @name))]) @definition.function
(class_specifier name: (_) @name body: (field_declaration_list) @body) @definition.class
(struct_specifier name: (_) @name body: (field_declaration_list) @body) @definition.type
(union_specifier name: (_) @name body: (field_declaration_list) @body) @definition.type
(alias_declaration name: (type_identifier) @name) @definition.type
""",
    "imports": _C["imports"],
    "calls": """
(call_expression function: [
  (identifier) @call (field_expression field: (_) @call) (qualified_identifier) @call
  (template_function name: (_) @call)])
(new_expression type: (_) @call)
""",
}

QUERIES: dict[str, dict[str, str]] = {
    "python": _PYTHON, "javascript": _JAVASCRIPT, "javascriptreact": _JAVASCRIPT,
    "typescript": _TYPESCRIPT, "typescriptreact": _TSX, "go": _GO, "rust": _RUST,
    "java": _JAVA, "c": _C, "cpp": _CPP,
}
"""Tree-sitter queries per LSP language id: definitions, imports and calls."""


@dataclass(frozen=True)
class _Shape:
    """How a language nests definitions, beyond what its queries capture."""

    containers: frozenset[str] = frozenset()
    """Node types whose functions are methods (classes, impls, traits)."""
    scopes: frozenset[str] = frozenset()
    """Node types whose definitions are local, not part of the file's API (function bodies)."""
    wrappers: frozenset[str] = frozenset()
    """Node types around a definition that belong to it (decorators, `export`, `template`)."""
    docs: frozenset[str] = frozenset()
    """Sibling node types just above a definition that belong to it (doc comments)."""
    fields: frozenset[str] = frozenset()
    """Class members shown in the class's header next to its method signatures."""
    groups: frozenset[str] = frozenset()
    """Class body parts whose children are members (Java's enum body declarations)."""
    stub: str = ";"
    """What follows a method signature in a class header, in place of the body."""
    docstring: bool = False


_SHAPES: dict[str, _Shape] = {
    "python": _Shape(
        containers=frozenset({"class_definition"}),
        scopes=frozenset({"function_definition", "lambda"}),
        wrappers=frozenset({"decorated_definition"}),
        fields=frozenset({"expression_statement"}),
        stub=" ...", docstring=True),
    "javascript": _Shape(
        # An interface is a container so that its header lists members without their docs.
        containers=frozenset({"class_declaration", "class", "abstract_class_declaration",
                              "interface_declaration"}),
        scopes=frozenset({"function_declaration", "generator_function_declaration",
                          "function_expression", "arrow_function", "method_definition",
                          "generator_function", "object", "function"}),
        wrappers=frozenset({"export_statement", "lexical_declaration", "variable_declaration"}),
        docs=frozenset({"comment"}),
        fields=frozenset({"field_definition", "public_field_definition",
                          "abstract_method_signature", "method_signature", "index_signature",
                          "property_signature", "call_signature", "construct_signature"}),
        stub=""),
    "go": _Shape(
        scopes=frozenset({"function_declaration", "method_declaration", "func_literal"}),
        wrappers=frozenset({"type_declaration", "const_declaration", "var_declaration"}),
        docs=frozenset({"comment"})),
    "rust": _Shape(
        containers=frozenset({"impl_item", "trait_item"}),
        scopes=frozenset({"function_item", "closure_expression"}),
        docs=frozenset({"line_comment", "block_comment", "attribute_item"}),
        fields=frozenset({"associated_type", "const_item"})),
    "java": _Shape(
        containers=frozenset({"class_declaration", "record_declaration",
                              "interface_declaration", "enum_declaration"}),
        scopes=frozenset({"method_declaration", "constructor_declaration",
                          "lambda_expression", "object_creation_expression"}),
        docs=frozenset({"block_comment", "line_comment"}),
        fields=frozenset({"field_declaration", "constant_declaration", "enum_constant"}),
        groups=frozenset({"enum_body_declarations"})),
    "c": _Shape(
        scopes=frozenset({"function_definition"}),
        wrappers=frozenset({"type_definition"}),
        docs=frozenset({"comment"})),
    "cpp": _Shape(
        containers=frozenset({"class_specifier", "struct_specifier", "union_specifier"}),
        scopes=frozenset({"function_definition", "lambda_expression"}),
        wrappers=frozenset({"template_declaration", "type_definition"}),
        docs=frozenset({"comment"}),
        fields=frozenset({"field_declaration"})),
}
_FAMILY = {"javascriptreact": "javascript", "typescript": "javascript",
           "typescriptreact": "javascript"}

# Wrappers that may hold several definitions: only a lone one takes the wrapper along.
_GROUPS = frozenset({"type_declaration", "const_declaration", "var_declaration",
                     "lexical_declaration", "variable_declaration"})
_KIND_ORDER = {"class": 0, "type": 1, "method": 2, "function": 3, "variable": 4}
_LONG_VARIABLE = 5
"""A variable longer than this many lines shows only its first line as its header."""
_LONG_FIELD = 160
"""A class field longer than this (a big literal, once on one line) stays out of the header."""


def _family(language_id: str) -> str:
    """The language whose shape and import reader a language id shares (tsx -> javascript)."""
    return _FAMILY.get(language_id, language_id)


@cache
def _query(language_id: str) -> Query | None:
    """The language's three queries compiled as one, so that one pass over the tree runs them."""
    grammar = language(language_id)
    queries = QUERIES.get(language_id)
    if grammar is None or queries is None:
        return None
    return Query(grammar, "\n".join(queries.values()))


def analyze(language_id: str, text: str, tree: Tree | None = None) -> FileSymbols:
    """What `text` defines, imports and calls; `tree` is reused when given (it must be current).

    Unknown languages give an empty result; code with syntax errors gives what the parser
    could still recognise.
    """
    query = _query(language_id)
    if query is None:
        return FileSymbols(language_id)
    # surrogatepass: text read with errors="surrogateescape" must not raise here.
    source = text.encode("utf-8", "surrogatepass")
    if tree is None:
        ts_parser = parser(language_id)
        if ts_parser is None:
            return FileSymbols(language_id)
        tree = ts_parser.parse(source)
    family = _family(language_id)
    shape = _SHAPES[family]
    found: dict[tuple[int, str], _Found] = {}
    imports: list[Import] = []
    calls: set[tuple[int, str]] = set()
    for _, captures in QueryCursor(query).matches(tree.root_node):
        if "call" in captures:
            for node in captures["call"]:
                for name in _call_names(family, _text(source, node)):
                    calls.add((node.start_point.row, name))
        elif "import" in captures:
            imports.extend(_IMPORTS[family](source, captures["import"][0]))
        else:
            entry = _found(source, shape, captures)
            if entry is not None:
                key = (entry.outer.start_byte, entry.name)
                old = found.get(key)
                if old is None or _KIND_ORDER[entry.kind] < _KIND_ORDER[old.kind]:
                    found[key] = entry
    entries = sorted(found.values(), key=lambda e: (e.outer.start_byte, e.name))
    members: dict[tuple[int, int], dict[int, _Found]] = {}
    for entry in entries:
        if entry.container_node is not None:
            span = (entry.container_node.start_byte, entry.container_node.end_byte)
            members.setdefault(span, {})[entry.outer.start_byte] = entry
    definitions = tuple(_definition(source, shape, entry, members) for entry in entries)
    return FileSymbols(
        language_id, definitions,
        tuple(sorted(imports, key=lambda i: i.line)),
        tuple(Call(sys.intern(name), line) for line, name in sorted(calls)))


@dataclass(frozen=True)
class _Found:
    """A definition the query found, before its header is written."""

    name: str
    kind: str
    node: Node
    outer: Node
    """The definition with its wrappers (decorators, `export`, `template<…>`)."""
    begin: int
    """Byte where its text starts: the start of the line of its first doc comment."""
    start_line: int
    body: Node | None
    container: str
    container_node: Node | None


def _found(source: bytes, shape: _Shape, captures: dict[str, list[Node]]) -> _Found | None:
    """One query match read as a definition; None for one local to a function."""
    kind, node = next((k[11:], v[0]) for k, v in captures.items() if k.startswith("definition."))
    name = _text(source, captures["name"][0])
    container = _text(source, captures["container"][0]) if "container" in captures else ""
    if "::" in name:  # C++ `void Type::method() {…}` outside its class
        container, _, name = name.rpartition("::")
        container = container.rpartition("::")[2]
    if kind == "function" and container:
        kind = "method"
    outer = node
    while (parent := outer.parent) is not None and parent.type in shape.wrappers and \
            (parent.type not in _GROUPS or parent.named_child_count == 1):
        outer = parent
    container_node = None
    ancestor = outer.parent
    while ancestor is not None:
        if ancestor.type in shape.scopes:
            return None
        if container_node is None and ancestor.type in shape.containers:
            container_node = ancestor
        ancestor = ancestor.parent
    if container_node is not None:
        container = _container_name(source, container_node)
        kind = "method" if kind == "function" else kind
    first = outer
    sibling = outer.prev_sibling
    while sibling is not None and sibling.type in shape.docs and \
            _last_row(sibling) >= first.start_point.row - 1 and _own_line(source, sibling):
        first = sibling
        sibling = sibling.prev_sibling
    begin = first.start_byte
    if _own_line(source, first):
        begin -= first.start_point.column
    return _Found(name, kind, node, outer, begin, first.start_point.row,
                  captures["body"][0] if "body" in captures else None, container,
                  container_node)


def _last_row(node: Node) -> int:
    """The node's last line: Rust's `//` comments and C's `#define` end after their newline."""
    end = node.end_point
    return end.row - 1 if end.column == 0 and end.row > node.start_point.row else end.row


def _own_line(source: bytes, node: Node) -> bool:
    """Whether nothing but whitespace comes before the node on its line.

    Read backwards from the node, stopping at the first other byte: slicing the whole line
    made a file of one long line (minified, or lone-CR line ends) quadratic.
    """
    line_start = node.start_byte - node.start_point.column
    index = node.start_byte
    while index > line_start:
        index -= 1
        if source[index] not in _WHITESPACE:
            return False
    return True


_WHITESPACE = frozenset(b" \t\n\r\x0b\x0c")
"""What `bytes.strip` strips."""


def _container_name(source: bytes, node: Node) -> str:
    """A class's name, or the type name of a Rust `impl<T> Trait for Type<T>`."""
    named = node.child_by_field_name("name") or node.child_by_field_name("type")
    while named is not None and named.named_child_count:
        inner = named.child_by_field_name("type") or named.child_by_field_name("name")
        if inner is None:
            break
        named = inner
    return _text(source, named) if named is not None else ""


def _definition(source: bytes, shape: _Shape, entry: _Found,
                members: dict[tuple[int, int], dict[int, _Found]]) -> Definition:
    """The definition's record, with a header that leaves out the body."""
    outer = entry.outer
    end_line = max(_last_row(outer), entry.start_line)
    text = _text(source, outer, entry.begin).rstrip("\r\n")
    if end_line == entry.start_line:
        header = text
    elif entry.body is not None and entry.node.type in shape.containers:
        header = _class_header(source, shape, entry,
                               members.get((entry.node.start_byte, entry.node.end_byte), {}))
    elif entry.body is not None:
        header = _text(source, outer, entry.begin, entry.body.start_byte).rstrip() + \
            _docstring(source, shape, entry.body)
    elif entry.kind == "variable" and text.count("\n") >= _LONG_VARIABLE:
        header = text.partition("\n")[0]
    else:
        header = text
    return Definition(entry.name, entry.kind, entry.start_line, end_line, header, text,
                      entry.container)


def _docstring(source: bytes, shape: _Shape, body: Node) -> str:
    """The body's docstring on its own line(s) ("" when it has none or the language has none)."""
    if not shape.docstring:
        return ""
    first = body.named_children[0] if body.named_child_count else None
    if first is None or first.type != "expression_statement" or first.named_child_count != 1 \
            or first.named_children[0].type != "string":
        return ""
    return "\n" + _text(source, first, first.start_byte - first.start_point.column)


def _class_header(source: bytes, shape: _Shape, entry: _Found, members: dict[int, _Found]) -> str:
    """Declaration, docstring, and its members' signatures one per line: the class's API."""
    body = entry.body
    if body is None:
        return _text(source, entry.outer, entry.begin).rstrip()
    header = _text(source, entry.outer, entry.begin, body.start_byte).rstrip()
    lines = [header if shape.docstring else header + " {"]
    docstring = _docstring(source, shape, body)
    if docstring:
        lines.append(docstring[1:])
    for index, child in enumerate(_members(shape, body)):
        member = members.get(child.start_byte)
        indent = _indent(source, child)
        if member is not None:
            signature = _signature(source, shape, member)
            lines.extend(indent + line for line in signature.split("\n"))
        elif child.type in shape.fields and not (index == 0 and docstring):
            field = _one_line(_text(source, child))
            if "\n" not in field and len(field) <= _LONG_FIELD:
                lines.append(indent + field)
        elif child.type == "access_specifier":  # C++ `public:`; the colon is not in the node
            lines.append(indent + _text(source, child) + ":")
    if not shape.docstring:
        lines.append(_indent(source, entry.outer) + "}")
    return "\n".join(lines)


def _indent(source: bytes, node: Node) -> str:
    """The whitespace before the node on its line, tabs kept ("" after other text)."""
    before = _text(source, node, node.start_byte - node.start_point.column, node.start_byte)
    return before if not before.strip() else ""


def _members(shape: _Shape, body: Node) -> Iterator[Node]:
    """The children of a class body that are its members, Java's enum parts included."""
    for child in body.named_children:
        if child.type in shape.groups:
            yield from child.named_children
        else:
            yield child


def _signature(source: bytes, shape: _Shape, member: _Found) -> str:
    """A method's declaration without doc or body, on one line (decorators on their own)."""
    outer = member.outer
    if member.body is None:
        return _one_line(_text(source, outer))
    return _one_line(_text(source, outer, outer.start_byte, member.body.start_byte).rstrip()) + \
        shape.stub


def _one_line(signature: str) -> str:
    """Join the lines of a signature that are inside brackets, so each declaration is one line."""
    lines: list[str] = []
    depth = 0
    for line in signature.split("\n"):
        stripped = line.strip()
        if depth > 0 and lines:
            joiner = "" if lines[-1].endswith(("(", "[", "<")) or \
                stripped.startswith((")", "]", ">")) else " "
            lines[-1] = lines[-1] + joiner + stripped
        else:
            lines.append(stripped)
        depth += sum(line.count(c) for c in "([{") - sum(line.count(c) for c in ")]}")
    return "\n".join(lines)


def _text(source: bytes, node: Node, start: int | None = None, end: int | None = None) -> str:
    """The source between two bytes (the node's own span by default) as text."""
    return source[node.start_byte if start is None else start:
                  node.end_byte if end is None else end].decode("utf-8", "replace")


_TEMPLATE_ARGS = re.compile(r"<[^<>]*>")
_PATH_SEPARATOR = re.compile(r"::|\.")


def _call_names(family: str, called: str) -> list[str]:
    """The last name of a called path, and a type before it (`Type::new` → new, Type)."""
    if called.isidentifier():
        return [called]
    while "<" in called and _TEMPLATE_ARGS.search(called):
        called = _TEMPLATE_ARGS.sub("", called)
    parts = [p for p in _PATH_SEPARATOR.split(called) if p]
    if not parts:
        return []
    names = [parts[-1].strip()]
    if family in ("rust", "cpp") and len(parts) > 1 and parts[-2][:1].isupper():
        names.append(parts[-2].strip())
    return names


# Imports: each statement the query found, read by a small function per language.


def _python_imports(source: bytes, node: Node) -> list[Import]:
    """`import a.b as c, d` and `from .x import y as z`."""
    line = node.start_point.row
    if node.type == "import_statement":
        imports = []
        for name in node.children_by_field_name("name"):
            if name.type == "aliased_import":
                module = _text(source, name.child_by_field_name("name") or name)
                alias = _text(source, name.child_by_field_name("alias") or name)
                imports.append(Import(module, (alias,), (MODULE,), line))
            else:
                imports.append(Import(_text(source, name), (), (), line))
        return imports
    module_node = node.child_by_field_name("module_name")
    if module_node is None:
        return []
    names: list[str] = []
    original: list[str] = []
    for name in node.children_by_field_name("name"):
        if name.type == "aliased_import":
            original.append(_text(source, name.child_by_field_name("name") or name))
            names.append(_text(source, name.child_by_field_name("alias") or name))
        else:
            original.append(_text(source, name))
            names.append(original[-1])
    return [Import(_text(source, module_node), tuple(names), tuple(original), line)]


def _string(source: bytes, node: Node | None) -> str:
    """A string literal's content, without its quotes."""
    if node is None:
        return ""
    return _text(source, node).strip("\"'`")


def _js_imports(source: bytes, node: Node) -> list[Import]:
    """ES imports, re-exports, `require(…)`, `import(…)` and TS `import x = require(…)`."""
    line = node.start_point.row
    if node.type == "call_expression":  # require('x') or import('x')
        arguments = node.child_by_field_name("arguments")
        module = _string(source, arguments.named_children[0] if arguments else None)
        pairs = _require_bindings(source, node)
        return [Import(module, tuple(p[0] for p in pairs), tuple(p[1] for p in pairs), line)]
    pairs = []
    source_node = node.child_by_field_name("source")
    for child in node.named_children:
        if child.type == "import_require_clause":  # TS `import x = require('x')`
            source_node = child.child_by_field_name("source")
            pairs.append((_text(source, child.named_children[0]), MODULE))
        if child.type != "import_clause":
            continue
        for part in child.named_children:
            if part.type == "identifier":
                pairs.append((_text(source, part), "default"))
            elif part.type == "namespace_import" and part.named_child_count:
                pairs.append((_text(source, part.named_children[0]), MODULE))
            elif part.type == "named_imports":
                for spec in part.named_children:
                    name = spec.child_by_field_name("name")
                    if spec.type != "import_specifier" or name is None:
                        continue
                    alias = spec.child_by_field_name("alias") or name
                    pairs.append((_text(source, alias), _text(source, name)))
    module = _string(source, source_node)
    return [Import(module, tuple(p[0] for p in pairs), tuple(p[1] for p in pairs), line)]


def _require_bindings(source: bytes, call: Node) -> list[tuple[str, str]]:
    """What `const x = require(…)` or `const {a, b: c} = require(…)` binds (bound, exported)."""
    declarator = call.parent
    if declarator is None or declarator.type != "variable_declarator":
        return []
    target = declarator.child_by_field_name("name")
    if target is None:
        return []
    if target.type == "identifier":
        return [(_text(source, target), MODULE)]
    pairs = []
    for part in target.named_children:
        if part.type == "shorthand_property_identifier_pattern":
            pairs.append((_text(source, part), _text(source, part)))
        elif part.type == "pair_pattern":
            key, value = part.child_by_field_name("key"), part.child_by_field_name("value")
            if key is not None and value is not None and value.type == "identifier":
                pairs.append((_text(source, value), _text(source, key)))
    return pairs


def _go_imports(source: bytes, node: Node) -> list[Import]:
    """One `import_spec`: a path, whether grouped or aliased."""
    # No names: Go code names the package (`pkg.Name`), whose name is the path's last part.
    return [Import(_string(source, node.child_by_field_name("path")), (), (),
                   node.start_point.row)]


def _rust_imports(source: bytes, node: Node) -> list[Import]:
    """`use` trees, one Import per module path, and `mod x;` as `self::x`."""
    line = node.start_point.row
    if node.type == "mod_item":
        name = _text(source, node.child_by_field_name("name") or node)
        return [Import("self::" + name, (name,), (MODULE,), line)]
    argument = node.child_by_field_name("argument")
    if argument is None:
        return []
    groups: dict[str, list[tuple[str, str]]] = {}
    _rust_use(source, argument, "", groups)
    return [Import(module, tuple(p[0] for p in pairs), tuple(p[1] for p in pairs), line)
            for module, pairs in groups.items()]


def _rust_use(source: bytes, node: Node, prefix: str,
              groups: dict[str, list[tuple[str, str]]]) -> None:
    """Flatten a `use` tree into module path -> [(bound name, exported name)]."""
    def join(path: Node | None) -> str:
        written = _text(source, path) if path is not None else ""
        return f"{prefix}::{written}" if prefix and written else prefix or written

    if node.type == "scoped_use_list":
        list_node = node.child_by_field_name("list")
        path = join(node.child_by_field_name("path"))
        for child in list_node.named_children if list_node is not None else []:
            _rust_use(source, child, path, groups)
    elif node.type == "use_list":
        for child in node.named_children:
            _rust_use(source, child, prefix, groups)
    elif node.type == "use_wildcard":
        groups.setdefault(join(node.named_children[0] if node.named_child_count else None), [])
    elif node.type == "use_as_clause":
        path_node, alias = node.child_by_field_name("path"), node.child_by_field_name("alias")
        if path_node is not None and alias is not None:
            module, _, name = join(path_node).rpartition("::")
            groups.setdefault(module, []).append((_text(source, alias), name))
    elif node.type == "self":  # `use a::{self}` binds `a` itself
        module, _, name = prefix.rpartition("::")
        groups.setdefault(prefix, []).append((name, MODULE))
    else:
        module, _, name = join(node).rpartition("::")
        groups.setdefault(module, []).append((name, name))


def _java_imports(source: bytes, node: Node) -> list[Import]:
    """`import a.b.C;`, `import static a.b.C.m;` and `import a.b.*;`."""
    path = next((c for c in node.named_children if c.type in ("scoped_identifier", "identifier")),
                None)
    if path is None:
        return []
    written = _text(source, path)
    line = node.start_point.row
    if any(c.type == "asterisk" for c in node.named_children):
        return [Import(written, (), (), line)]
    module, _, name = written.rpartition(".")
    return [Import(module, (name,), (name,), line)]


def _c_imports(source: bytes, node: Node) -> list[Import]:
    """`#include "x.h"`; the query leaves out `<system>` headers."""
    return [Import(_string(source, node.child_by_field_name("path")), (), (),
                   node.start_point.row)]


_IMPORTS: dict[str, Callable[[bytes, Node], list[Import]]] = {
    "python": _python_imports, "javascript": _js_imports, "go": _go_imports,
    "rust": _rust_imports, "java": _java_imports, "c": _c_imports, "cpp": _c_imports,
}


# Resolution: which workspace files an import points to.

Read = Callable[[str], str | None]
"""Reads a workspace file's text by its workspace-relative path (None when unreadable)."""


@dataclass(frozen=True)
class FileIndex:
    """Lookups over the workspace's files, built once by `index_files` for many resolutions."""

    files: frozenset[str]
    by_name: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """File name (`util.py`) -> the paths with that name, sorted."""
    by_dir: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Directory ("" for the root) -> the paths directly in it, sorted."""
    go_modules: dict[str, str] = field(default_factory=dict)
    """Go module path (from each `go.mod`) -> its directory ("" for the root)."""


def index_files(files: Iterable[str], read: Read | None = None) -> FileIndex:
    """Index workspace-relative `/`-paths; `read` lets Go imports use the `go.mod` files."""
    unique = frozenset(files)
    by_name: dict[str, list[str]] = {}
    by_dir: dict[str, list[str]] = {}
    for path in sorted(unique):
        directory, _, name = path.rpartition("/")
        by_name.setdefault(name, []).append(path)
        by_dir.setdefault(directory, []).append(path)
    go_modules: dict[str, str] = {}
    for path in by_name.get("go.mod", []) if read is not None else []:
        text = read(path) if read is not None else None
        match = re.search(r"^module\s+(\S+)", text or "", re.MULTILINE)
        if match:
            go_modules[match.group(1).strip("\"")] = path.rpartition("/")[0]
    return FileIndex(unique, {k: tuple(v) for k, v in by_name.items()},
                     {k: tuple(v) for k, v in by_dir.items()}, go_modules)


def resolve_import(language_id: str, importing_path: str, imp: Import,
                   files: Collection[str] | FileIndex, read: Read | None = None) -> list[str]:
    """Workspace files that `imp` in `importing_path` points to, best first ([] if outside).

    Pass a `FileIndex` from `index_files` when resolving many imports: a plain collection
    is indexed anew on every call.
    """
    index = files if isinstance(files, FileIndex) else index_files(files, read)
    resolver = _RESOLVERS.get(_family(language_id))
    if resolver is None:
        return []
    found = resolver(importing_path, imp, index)
    return list(dict.fromkeys(path for path in found if path in index.files))


def _join(directory: str, relative: str) -> str | None:
    """`directory/relative` normalised, or None when it leaves the workspace."""
    joined = posixpath.normpath(posixpath.join(directory, relative)) if relative else directory
    if joined == ".":
        return ""
    return None if joined.startswith("../") or joined == ".." else joined


def _under(directory: str, path: str) -> str:
    """`path` inside `directory` ("" is the workspace root)."""
    return f"{directory}/{path}" if directory else path


def _by_suffix(index: FileIndex, suffix: str) -> list[str]:
    """Files whose path is `suffix` or ends with `/suffix`."""
    name = suffix.rpartition("/")[2]
    return [p for p in index.by_name.get(name, ()) if p == suffix or p.endswith("/" + suffix)]


def _python_resolve(importing_path: str, imp: Import, index: FileIndex) -> list[str]:
    """Submodules named by a from-import, then the module, under each root."""
    module = imp.module
    names = [n for n in imp.original if n != MODULE]
    if module.startswith("."):
        dots = len(module) - len(module.lstrip("."))
        base = _join(posixpath.dirname(importing_path), "/".join([".."] * (dots - 1)))
        if base is None:
            return []
        roots = [_under(base, module[dots:].replace(".", "/")) if module[dots:] else base]
    else:
        relative = module.replace(".", "/")
        # The workspace root, a src/ layout, and each folder above the file (scripts and
        # monorepo projects put their own folder on sys.path).
        bases = ["", "src"]
        directory = posixpath.dirname(importing_path)
        while directory:
            bases.append(directory)
            directory = posixpath.dirname(directory)
        roots = [_under(base, relative) for base in dict.fromkeys(bases)]
    found = []
    for root in roots:
        # `from pkg import mod` names a submodule: that file is the better answer.
        for name in names:
            found += _python_module(_under(root, name))
        found += _python_module(root)
    return found


def _python_module(path: str) -> list[str]:
    """The files a module path may be: `m.py`, a stub, or a package."""
    return [f"{path}.py", f"{path}.pyi", _under(path, "__init__.py"), _under(path, "__init__.pyi")]


_JS_EXTENSIONS = (".ts", ".tsx", ".d.ts", ".js", ".jsx", ".mjs", ".cjs")


def _js_resolve(importing_path: str, imp: Import, index: FileIndex) -> list[str]:
    """A relative specifier as written, with an extension, or as a folder's index."""
    if not imp.module.startswith("."):
        return []  # a package from node_modules (or a tsconfig alias)
    target = _join(posixpath.dirname(importing_path), imp.module)
    if target is None:
        return []
    stems = [target]
    stem, extension = posixpath.splitext(target)
    if extension in (".js", ".jsx", ".mjs", ".cjs"):
        stems.append(stem)  # TypeScript's ESM style: `./x.js` written for `./x.ts`
    found = [target]
    for base in stems:
        found += [base + ext for ext in _JS_EXTENSIONS]
        found += [_under(base, "index" + ext) for ext in _JS_EXTENSIONS]
    return found


def _go_resolve(importing_path: str, imp: Import, index: FileIndex) -> list[str]:
    """The package folder's non-test files."""
    directory = None
    for module, root in sorted(index.go_modules.items(), key=lambda m: -len(m[0])):
        if imp.module == module or imp.module.startswith(module + "/"):
            directory = _under(root, imp.module[len(module) + 1:]) if imp.module != module \
                else root
            break
    if directory is None:
        if index.go_modules or "." not in imp.module.partition("/")[0]:
            return []  # the standard library, or another module
        # No go.mod read: the longest tail of the path that is a folder here.
        parts = imp.module.split("/")
        directory = next((d for i in range(1, len(parts))
                          if (d := "/".join(parts[i:])) in index.by_dir), None)
        if directory is None:
            return []
    return [p for p in index.by_dir.get(directory, ())
            if p.endswith(".go") and not p.endswith("_test.go")]


def _rust_resolve(importing_path: str, imp: Import, index: FileIndex) -> list[str]:
    """Submodules named by a `use`, else the deepest module file of its path."""
    parts = [p for p in imp.module.split("::") if p]
    if not parts:
        return []
    own = _rust_module_dir(importing_path)
    crate = _rust_crate_dir(importing_path, index)
    # An unprefixed path must at least name a module here, or it is another crate's.
    shallowest = 0
    if parts[0] == "crate":
        bases = [crate]
        parts = parts[1:]
    elif parts[0] in ("self", "super"):
        base = own
        while parts and parts[0] in ("self", "super"):
            if parts.pop(0) == "super":
                base = posixpath.dirname(base)
        bases = [base]
    else:
        # A module declared in this one (2018 paths), else from the crate root (2015 paths);
        # anything else is another crate.
        bases = list(dict.fromkeys([own, crate]))
        shallowest = 1
    names = [n for n in imp.original if n != MODULE]
    for base in bases:
        # The deepest module that exists wins: `use crate::a::b::Item` is in a/b.rs, else a.rs.
        for depth in range(len(parts), shallowest - 1, -1):
            path = "/".join(p for p in [base, *parts[:depth]] if p)
            candidates = [c for name in names for c in _rust_module(_under(path, name))] \
                if depth == len(parts) else []
            candidates += _rust_module(path) if depth else _rust_root_module(base)
            found = [c for c in candidates if c in index.files]
            if found:
                return found
    return []


def _rust_root_module(directory: str) -> list[str]:
    """The file of the module whose submodules live in `directory`."""
    files = [_under(directory, "lib.rs"), _under(directory, "main.rs")]
    return files + _rust_module(directory) if directory else files


def _rust_module(path: str) -> list[str]:
    """The files a Rust module path may be: `m.rs` or `m/mod.rs`."""
    return [f"{path}.rs", f"{path}/mod.rs"]


def _rust_module_dir(path: str) -> str:
    """Where the submodules of the module in `path` live: `a/b.rs` -> `a/b`, `a/mod.rs` -> `a`."""
    directory, _, name = path.rpartition("/")
    if name in ("mod.rs", "lib.rs", "main.rs"):
        return directory
    return _under(directory, name.removesuffix(".rs"))


def _rust_crate_dir(path: str, index: FileIndex) -> str:
    """The folder of the crate root (`lib.rs`/`main.rs`) nearest above `path`."""
    directory = posixpath.dirname(path)
    while True:
        if _under(directory, "lib.rs") in index.files or \
                _under(directory, "main.rs") in index.files:
            return directory
        if not directory:
            return posixpath.dirname(path)
        directory = posixpath.dirname(directory)


def _java_resolve(importing_path: str, imp: Import, index: FileIndex) -> list[str]:
    """`pkg/C.java` under any source root, or a whole package for `.*`."""
    package = imp.module.replace(".", "/")
    found = []
    for name in imp.original:
        found += _by_suffix(index, f"{package}/{name}.java")
    # A static import's module is a class; a nested class's outer class holds it.
    parts = package.split("/")
    for depth in range(len(parts), 0, -1):
        found += _by_suffix(index, "/".join(parts[:depth]) + ".java")
        if found:
            break
    if not imp.original:  # `import a.b.*;`
        found += [p for directory in index.by_dir if directory == package or
                  directory.endswith("/" + package)
                  for p in index.by_dir[directory] if p.endswith(".java")]
    return found


def _c_resolve(importing_path: str, imp: Import, index: FileIndex) -> list[str]:
    """The header beside the including file, then any file ending with its path."""
    directory = posixpath.dirname(importing_path)
    beside = _join(directory, imp.module)
    found = [beside] if beside is not None else []
    # Then any include folder: the files nearest the including file first.
    suffix = posixpath.normpath(imp.module).lstrip("./")
    return found + sorted(_by_suffix(index, suffix),
                          key=lambda p: (-len(posixpath.commonpath([p, directory])
                                              if directory else ""), p))


_RESOLVERS: dict[str, Callable[[str, Import, FileIndex], list[str]]] = {
    "python": _python_resolve, "javascript": _js_resolve, "go": _go_resolve,
    "rust": _rust_resolve, "java": _java_resolve, "c": _c_resolve, "cpp": _c_resolve,
}
