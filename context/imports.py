"""What a file imports, read from its syntax tree, and which workspace files an import points to.

One reader and one resolver per language family; `context/languages.py` says which language
uses which, and `context/symbols.py` runs the readers on the nodes its queries capture.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from tree_sitter import Node


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


MODULE = "*"
"""`Import.original` entry for a name bound to the module itself (`import a as b`,
`import * as ns`, `const m = require('m')`, Rust `mod x;`)."""

ImportReader = Callable[[bytes, Node], list[Import]]
"""Reads one captured import statement (the file's bytes, the node) into its imports."""


# Readers: each statement the query found, read by a small function per language.


def read_python(source: bytes, node: Node) -> list[Import]:
    """`import a.b as c, d` and `from .x import y as z`."""
    line = node.start_point.row
    if node.type == "import_statement":
        imports = []
        for name in node.children_by_field_name("name"):
            if name.type == "aliased_import":
                module = node_text(source, name.child_by_field_name("name") or name)
                alias = node_text(source, name.child_by_field_name("alias") or name)
                imports.append(Import(module, (alias,), (MODULE,), line))
            else:
                imports.append(Import(node_text(source, name), (), (), line))
        return imports
    module_node = node.child_by_field_name("module_name")
    if module_node is None:
        return []
    names: list[str] = []
    original: list[str] = []
    for name in node.children_by_field_name("name"):
        if name.type == "aliased_import":
            original.append(node_text(source, name.child_by_field_name("name") or name))
            names.append(node_text(source, name.child_by_field_name("alias") or name))
        else:
            original.append(node_text(source, name))
            names.append(original[-1])
    return [Import(node_text(source, module_node), tuple(names), tuple(original), line)]


def _string(source: bytes, node: Node | None) -> str:
    """A string literal's content, without its quotes."""
    if node is None:
        return ""
    return node_text(source, node).strip("\"'`")


def read_js(source: bytes, node: Node) -> list[Import]:
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
            pairs.append((node_text(source, child.named_children[0]), MODULE))
        if child.type != "import_clause":
            continue
        for part in child.named_children:
            if part.type == "identifier":
                pairs.append((node_text(source, part), "default"))
            elif part.type == "namespace_import" and part.named_child_count:
                pairs.append((node_text(source, part.named_children[0]), MODULE))
            elif part.type == "named_imports":
                for spec in part.named_children:
                    name = spec.child_by_field_name("name")
                    if spec.type != "import_specifier" or name is None:
                        continue
                    alias = spec.child_by_field_name("alias") or name
                    pairs.append((node_text(source, alias), node_text(source, name)))
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
        return [(node_text(source, target), MODULE)]
    pairs = []
    for part in target.named_children:
        if part.type == "shorthand_property_identifier_pattern":
            pairs.append((node_text(source, part), node_text(source, part)))
        elif part.type == "pair_pattern":
            key, value = part.child_by_field_name("key"), part.child_by_field_name("value")
            if key is not None and value is not None and value.type == "identifier":
                pairs.append((node_text(source, value), node_text(source, key)))
    return pairs


def read_go(source: bytes, node: Node) -> list[Import]:
    """One `import_spec`: a path, whether grouped or aliased."""
    # No names: Go code names the package (`pkg.Name`), whose name is the path's last part.
    return [Import(_string(source, node.child_by_field_name("path")), (), (),
                   node.start_point.row)]


def read_rust(source: bytes, node: Node) -> list[Import]:
    """`use` trees, one Import per module path, and `mod x;` as `self::x`."""
    line = node.start_point.row
    if node.type == "mod_item":
        name = node_text(source, node.child_by_field_name("name") or node)
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
        written = node_text(source, path) if path is not None else ""
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
            groups.setdefault(module, []).append((node_text(source, alias), name))
    elif node.type == "self":  # `use a::{self}` binds `a` itself
        module, _, name = prefix.rpartition("::")
        groups.setdefault(prefix, []).append((name, MODULE))
    else:
        module, _, name = join(node).rpartition("::")
        groups.setdefault(module, []).append((name, name))


def read_java(source: bytes, node: Node) -> list[Import]:
    """`import a.b.C;`, `import static a.b.C.m;` and `import a.b.*;`."""
    path = next((c for c in node.named_children if c.type in ("scoped_identifier", "identifier")),
                None)
    if path is None:
        return []
    written = node_text(source, path)
    line = node.start_point.row
    if any(c.type == "asterisk" for c in node.named_children):
        return [Import(written, (), (), line)]
    module, _, name = written.rpartition(".")
    return [Import(module, (name,), (name,), line)]


def read_c(source: bytes, node: Node) -> list[Import]:
    """`#include "x.h"`; the query leaves out `<system>` headers."""
    return [Import(_string(source, node.child_by_field_name("path")), (), (),
                   node.start_point.row)]


def node_text(source: bytes, node: Node, start: int | None = None, end: int | None = None) -> str:
    """The source between two bytes (the node's own span by default) as text."""
    return source[node.start_byte if start is None else start:
                  node.end_byte if end is None else end].decode("utf-8", "replace")


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
    return FileIndex(unique, {k: tuple(v) for k, v in by_name.items()},
                     {k: tuple(v) for k, v in by_dir.items()},
                     _go_modules(by_name.get("go.mod", ()), read))


def files_changed(index: FileIndex, files: frozenset[str], read: Read | None = None) -> bool:
    """Whether `index_files(files, read)` would give another index than `index`."""
    return index.files != files or \
        _go_modules(index.by_name.get("go.mod", ()), read) != index.go_modules


def _go_modules(go_mods: Iterable[str], read: Read | None) -> dict[str, str]:
    """Go module path (from each `go.mod`) -> its directory."""
    go_modules: dict[str, str] = {}
    if read is None:
        return go_modules
    for path in go_mods:
        match = re.search(r"^module\s+(\S+)", read(path) or "", re.MULTILINE)
        if match:
            go_modules[match.group(1).strip("\"")] = path.rpartition("/")[0]
    return go_modules


Resolver = Callable[[str, Import, FileIndex], list[str]]
"""(importing path, import, the workspace's files) -> candidate paths, best first."""


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


def resolve_python(importing_path: str, imp: Import, index: FileIndex) -> list[str]:
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


def resolve_js(importing_path: str, imp: Import, index: FileIndex) -> list[str]:
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


def resolve_go(importing_path: str, imp: Import, index: FileIndex) -> list[str]:
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


def resolve_rust(importing_path: str, imp: Import, index: FileIndex) -> list[str]:
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


def resolve_java(importing_path: str, imp: Import, index: FileIndex) -> list[str]:
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


def resolve_c(importing_path: str, imp: Import, index: FileIndex) -> list[str]:
    """The header beside the including file, then any file ending with its path."""
    directory = posixpath.dirname(importing_path)
    beside = _join(directory, imp.module)
    found = [beside] if beside is not None else []
    # Then any include folder: the files nearest the including file first.
    suffix = posixpath.normpath(imp.module).lstrip("./")
    return found + sorted(_by_suffix(index, suffix),
                          key=lambda p: (-len(posixpath.commonpath([p, directory])
                                              if directory else ""), p))
