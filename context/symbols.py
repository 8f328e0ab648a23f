"""What a source file defines, imports and calls, read with tree-sitter queries per language."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
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


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class Call:
    """A call site: where a function or class is used."""

    name: str
    """The called name's last part (`parse` for `config.parse(x)`)."""
    line: int
    """0-based line of the call."""


@dataclass(frozen=True)
class FileSymbols:
    """Everything the context engine needs from one file, read in one parse."""

    language_id: str
    definitions: tuple[Definition, ...] = ()
    imports: tuple[Import, ...] = ()
    calls: tuple[Call, ...] = ()
