"""What a source file defines, imports and calls, read with each language's tree-sitter queries
(`context/languages.py`), and where its imports point."""

from __future__ import annotations

import re
import sys
from collections.abc import Collection, Iterator
from dataclasses import dataclass

from tree_sitter import Node, QueryCursor, Tree

from lspilot.context.imports import MODULE, FileIndex, Import, Read, index_files
from lspilot.context.imports import node_text as _text
from lspilot.context.languages import LANGUAGES, Languages, Shape

__all__ = ["MODULE", "Call", "Definition", "FileIndex", "FileSymbols", "Import", "Read",
           "analyze", "index_files", "resolve_import"]


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
class Call:
    """A call site: where a function or class is used."""

    name: str
    """The called name's last part (`parse` for `config.parse(x)`)."""
    line: int
    """0-based line of the call."""
    receiver: str = ""
    """What the name is called on (`config` for `config.parse(x)`); "" for a bare call."""


@dataclass(frozen=True, slots=True)
class FileSymbols:
    """Everything the context engine needs from one file, read in one parse."""

    language_id: str
    definitions: tuple[Definition, ...] = ()
    imports: tuple[Import, ...] = ()
    calls: tuple[Call, ...] = ()


_KIND_ORDER = {"class": 0, "type": 1, "method": 2, "function": 3, "variable": 4}
_LONG_VARIABLE = 5
"""A variable longer than this many lines shows only its first line as its header."""
_LONG_FIELD = 160
"""A class field longer than this (a big literal, once on one line) stays out of the header."""


def analyze(language_id: str, text: str, tree: Tree | None = None, *,
            languages: Languages = LANGUAGES) -> FileSymbols:
    """What `text` defines, imports and calls; `tree` is reused when given (it must be current).

    Unknown languages give an empty result; code with syntax errors gives what the parser
    could still recognise.
    """
    spec = languages.get(language_id)
    query = languages.query(language_id)
    if spec is None or query is None:
        return FileSymbols(language_id)
    # surrogatepass: text read with errors="surrogateescape" must not raise here.
    source = text.encode("utf-8", "surrogatepass")
    if tree is None:
        ts_parser = languages.parser(language_id)
        if ts_parser is None:
            return FileSymbols(language_id)
        tree = ts_parser.parse(source)
    shape = spec.shape
    found: dict[tuple[int, str], _Found] = {}
    imports: list[Import] = []
    calls: set[tuple[int, str, str]] = set()
    for _, captures in QueryCursor(query).matches(tree.root_node):
        if "call" in captures:
            for node in captures["call"]:
                receiver = _receiver(source, node)
                for name in _call_names(_text(source, node), spec.type_calls):
                    calls.add((node.start_point.row, name, receiver))
        elif "import" in captures and spec.read_imports is not None:
            imports.extend(spec.read_imports(source, captures["import"][0]))
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
        tuple(Call(sys.intern(name), line, receiver) for line, name, receiver in sorted(calls)))


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


def _found(source: bytes, shape: Shape, captures: dict[str, list[Node]]) -> _Found | None:
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
            (parent.type not in shape.lists or parent.named_child_count == 1):
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


def _definition(source: bytes, shape: Shape, entry: _Found,
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


def _docstring(source: bytes, shape: Shape, body: Node) -> str:
    """The body's docstring on its own line(s) ("" when it has none or the language has none)."""
    if not shape.docstring:
        return ""
    first = body.named_children[0] if body.named_child_count else None
    if first is None or first.type != "expression_statement" or first.named_child_count != 1 \
            or first.named_children[0].type != "string":
        return ""
    return "\n" + _text(source, first, first.start_byte - first.start_point.column)


def _class_header(source: bytes, shape: Shape, entry: _Found, members: dict[int, _Found]) -> str:
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
        elif child.type in shape.labels:  # the colon is not in the node
            lines.append(indent + _text(source, child) + ":")
    if not shape.docstring:
        lines.append(_indent(source, entry.outer) + "}")
    return "\n".join(lines)


def _indent(source: bytes, node: Node) -> str:
    """The whitespace before the node on its line, tabs kept ("" after other text)."""
    before = _text(source, node, node.start_byte - node.start_point.column, node.start_byte)
    return before if not before.strip() else ""


def _members(shape: Shape, body: Node) -> Iterator[Node]:
    """The children of a class body that are its members, Java's enum parts included."""
    for child in body.named_children:
        if child.type in shape.groups:
            yield from child.named_children
        else:
            yield child


def _signature(source: bytes, shape: Shape, member: _Found) -> str:
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


# Member access node -> the field holding what the member is read from, per grammar.
_RECEIVER_FIELDS = {"attribute": "object", "member_expression": "object",
                    "selector_expression": "operand", "method_invocation": "object",
                    "field_expression": "value"}
RECEIVER_CHARS = 40


def _receiver(source: bytes, node: Node) -> str:
    """The text a called member is read from (`batch` in `batch.add(x)`); "" for a bare name."""
    parent = node.parent
    if parent is None:
        return ""
    field = _RECEIVER_FIELDS.get(parent.type)
    target = parent.child_by_field_name(field) if field else None
    if target is None and parent.type == "field_expression":
        target = parent.child_by_field_name("argument")  # C and C++ name it so
    if target is None or target.start_byte == node.start_byte:
        return ""
    return _text(source, target)[:RECEIVER_CHARS]


_TEMPLATE_ARGS = re.compile(r"<[^<>]*>")
_PATH_SEPARATOR = re.compile(r"::|\.")


def _call_names(called: str, type_calls: bool) -> list[str]:
    """The last name of a called path, and a type before it (`Type::new` → new, Type)."""
    if called.isidentifier():
        return [called]
    while "<" in called and _TEMPLATE_ARGS.search(called):
        called = _TEMPLATE_ARGS.sub("", called)
    parts = [p for p in _PATH_SEPARATOR.split(called) if p]
    if not parts:
        return []
    names = [parts[-1].strip()]
    if type_calls and len(parts) > 1 and parts[-2][:1].isupper():
        names.append(parts[-2].strip())
    return names


def resolve_import(language_id: str, importing_path: str, imp: Import,
                   files: Collection[str] | FileIndex, read: Read | None = None, *,
                   languages: Languages = LANGUAGES) -> list[str]:
    """Workspace files that `imp` in `importing_path` points to, best first ([] if outside).

    Pass a `FileIndex` from `index_files` when resolving many imports: a plain collection
    is indexed anew on every call.
    """
    spec = languages.get(language_id)
    if spec is None or spec.resolve_import is None:
        return []
    index = files if isinstance(files, FileIndex) else index_files(files, read)
    found = spec.resolve_import(importing_path, imp, index)
    return list(dict.fromkeys(path for path in found if path in index.files))
