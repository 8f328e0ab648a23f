"""Sources from the code's structure: the cursor's enclosing scope, the definitions of the
names it imports, and the call sites of the functions at the cursor."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from lspilot.context.similar import identifiers, jaccard
from lspilot.context.snippet import Snippet, Source
from lspilot.context.symbols import Call, Definition, FileSymbols, Import

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

MODULE_OVERVIEW = 8
"""Definitions not named near the cursor offered from a module imported whole."""

NEAR_BEFORE, NEAR_AFTER = 30, 10
"""Lines around the cursor whose names count as "near"."""

Resolve = Callable[[str, str, Import], list[str]]
"""(language id, importing path, import) -> workspace files the import points to."""


class WorkspaceSymbols(Protocol):
    """What these sources read from the workspace index."""

    def files(self) -> frozenset[str]:
        """Every indexed workspace-relative path."""

    def symbols(self, path: str) -> FileSymbols | None:
        """What `path` defines, imports and calls."""

    def text(self, path: str) -> str | None:
        """The file's text."""

    def callers(self, name: str, limit: int | None = None) -> list[tuple[str, Call]]:
        """Call sites of `name` across the workspace, by path and line (the first `limit`)."""

    def caller_count(self, name: str) -> int:
        """How many call sites `name` has, without listing them."""

    def definitions(self, name: str) -> list[tuple[str, Definition]]:
        """Every definition of `name` across the workspace."""


@dataclass(frozen=True)
class OpenCall:
    """A call whose argument list the cursor is in."""

    name: str
    """The called name's last part (`parse` in `config.parse(█`)."""
    receiver: str = ""
    """What it is called on (`config`); "" for a bare name or a path (`mod::f`)."""


OPEN_CALL_LINES, OPEN_CALL_CHARS = 8, 2000
"""Lines above the cursor's read for the call it is in (arguments over several lines), and
the characters of a line read at most (minified code has long lines)."""

OPEN_CALLS = 4
"""Innermost brackets looked at: `usage` takes call sites of the innermost calls only."""

# One line's strings and comments, whose brackets do not count, then its brackets. A Rust
# `'` is a char literal only around one character (`'a` is a lifetime); Python has no `//`
# comments and the C family no `#` ones (`#include`, `#[derive(...)]` are skipped as if).
_PLAIN = r'"(?:\\.|[^"\\])*"?|`(?:\\.|[^`\\])*`?|/\*.*?(?:\*/|$)|//.*|#.*'
_TOKENS = {
    "python": re.compile(r'"(?:\\.|[^"\\])*"?|\'(?:\\.|[^\'\\])*\'?|#.*|[()\[\]{}]'),
    "rust": re.compile(r"'(?:\\.|[^'\\])'|" + _PLAIN + r"|[()\[\]{}]"),
    "": re.compile(r"'(?:\\.|[^'\\])*'?|" + _PLAIN + r"|[()\[\]{}]"),
}
_SPANS_LINES = {"python": re.compile(r'"""|\'\'\''),
                "": re.compile(r"`|/\*|\*/|^\s*\*(?:\s|$)", re.MULTILINE)}
"""A line that may start or end a string or comment over several lines (a docstring, a
template literal, a block comment): the lines above it are not read, as which of their
brackets are code is not known."""
_PAIRS_OF = {")": "(", "]": "[", "}": "{"}
_CALLED = re.compile(r"([A-Za-z_$][\w$]*(?:\s*(?:\.|::|->|\?\.)\s*[A-Za-z_$][\w$]*)*)\s*$")
_WORD_BEFORE = re.compile(r"([A-Za-z_$][\w$]*)\s*$")
_GO_METHOD = re.compile(r"\bfunc\s*\([^()]*\)\s*$")
_MEMBER_BEFORE = re.compile(r"(?:\.|->|\?\.)\s*$")
_EXPRESSION = frozenset({"return", "await", "new", "yield", "not", "in", "and", "or", "else",
                         "case", "throw", "typeof", "go", "defer", "if", "elif", "while",
                         "assert", "del", "is", "do", "delete", "lambda", "from", "raise",
                         "with", "match", "of", "mut"})
"""Keywords an expression follows: a name after them is called (`return parse(█`). After
any other word the name is declared (`def parse(█`, `int parse(█`)."""


def open_calls(language_id: str, text: str, offset: int) -> tuple[OpenCall, ...]:
    """The calls whose argument lists the cursor at `offset` is in, innermost first.

    A scan of the cursor's line and up to `OPEN_CALL_LINES` lines above it, each on its own
    and right to left, skipping strings and comments: cheap enough for every request, and
    it reads code that does not parse yet (`f(a, g(█`). It stops at a line that may be part
    of a string or comment over several lines. Declarations (`def parse(█`, `int
    parse(█`) and brackets that call no name (`(a + █`) are not calls.
    """
    tokens = _TOKENS.get(language_id, _TOKENS[""])
    spans = _SPANS_LINES.get(language_id, _SPANS_LINES[""])
    opened: list[tuple[str, int, int]] = []  # bracket, its offset, its line's start
    closed: list[str] = []
    end = offset
    for number in range(OPEN_CALL_LINES + 1):
        start = text.rfind("\n", 0, end) + 1
        if number and (end - start > OPEN_CALL_CHARS or spans.search(text, start, end)):
            break
        start = max(start, end - OPEN_CALL_CHARS)
        brackets = [m for m in tokens.finditer(text, start, end) if m.group() in "()[]{}"]
        for match in reversed(brackets):
            bracket = match.group()
            if bracket in ")]}":
                closed.append(_PAIRS_OF[bracket])
            elif closed:
                closed.pop()  # closed further right (a mismatch too: code being typed)
            else:
                opened.append((bracket, match.start(), start))
        if len(opened) >= OPEN_CALLS or start == 0:
            break
        end = start - 1
    calls: list[OpenCall] = []
    for bracket, at, line_start in opened[:OPEN_CALLS]:
        if bracket != "(":
            continue
        line_start = max(line_start, at - 200)
        called = _CALLED.search(text, line_start, at)
        if called is None:
            continue
        if called.group(1) in _EXPRESSION or called.group(1) in ("for", "switch", "catch"):
            continue  # `if (█`, `while (█`
        word = _WORD_BEFORE.search(text, line_start, called.start())
        if ((word is not None and word.group(1) not in _EXPRESSION)
                or _GO_METHOD.search(text, line_start, called.start())):
            continue  # a declaration: `def parse(`, `int parse(`, `func (r *T) Parse(`
        parts = re.split(r"\s*(\.|::|->|\?\.)\s*", called.group(1))
        receiver = "" if "::" in parts else "".join(parts[:-2])
        if not receiver and _MEMBER_BEFORE.search(text, line_start, called.start()):
            receiver = "…"  # a chain continued from the line above: `.filter(█`
        calls.append(OpenCall(parts[-1], receiver))
    return tuple(calls)


@dataclass(frozen=True)
class Site:
    """The cursor, as these sources need it."""

    path: str
    language_id: str
    text: str
    line: int
    """0-based line of the cursor."""
    own: FileSymbols
    """The cursor's file, analyzed as it is now."""
    window: range
    """Lines of the cursor's file already in the prompt (prefix and suffix window)."""
    calls: tuple[OpenCall, ...] = ()
    """The calls the cursor is in, innermost first (`open_calls`)."""


def near_names(site: Site) -> dict[str, int]:
    """Names used near the cursor, with their distance in lines (0: the cursor's line).

    Import lines do not count: an import near the top of a short file says nothing about
    what the code at the cursor uses.
    """
    lines = site.text.split("\n")
    imports = {imp.line for imp in site.own.imports}
    found: dict[str, int] = {}
    for number in range(max(0, site.line - NEAR_BEFORE),
                        min(len(lines), site.line + NEAR_AFTER + 1)):
        if number in imports:
            continue
        distance = abs(number - site.line)
        for name in _WORD.findall(lines[number]):
            if distance < found.get(name, 1 << 30):
                found[name] = distance
    return found


def scope_snippets(site: Site) -> list[Snippet]:
    """Headers of the definitions around the cursor that start above the prompt's window."""
    snippets = []
    for definition in site.own.definitions:
        if definition.start_line < site.window.start <= site.line <= definition.end_line:
            snippets.append(Snippet("scope", site.path, definition.header, 1.0,
                                    definition.start_line,
                                    f"encloses the cursor ({definition.kind} "
                                    f"{definition.name})"))
    return snippets


def definition_snippets(site: Site, index: WorkspaceSymbols, resolve: Resolve,
                        deadline: Callable[[], bool]) -> list[Snippet]:
    """Definitions of the names the file imports from other workspace files.

    Each comes twice: its header (signature and docstring) and, at a lower score, the whole
    definition, which `fit` swaps in for the header when there is room. Names used near the
    cursor score highest, nearest first; imported names used elsewhere in the file next; a
    module imported whole contributes the definitions named after it near the cursor
    (`mod.name`), then its other top-level definitions.
    """
    near = near_names(site)
    snippets: list[Snippet] = []
    for imp in site.own.imports:
        if deadline():
            break
        targets = resolve(site.language_id, site.path, imp)
        if not targets:
            continue
        bound = dict(zip(imp.names, imp.original, strict=False))
        for target in targets[:3]:
            symbols = index.symbols(target)
            if symbols is None or target == site.path:
                continue
            by_name = {d.name: d for d in symbols.definitions if not d.container}
            module_names = [name for name, original in bound.items()
                            if original not in by_name]
            for name, original in bound.items():
                if original in by_name:
                    snippets += _pair(target, by_name[original], _score(near.get(name)),
                                      f"defines {original}, imported as {name} "
                                      f"(line {imp.line + 1})")
            if not bound or module_names:
                # The whole module is bound (`import m`, `from . import m`, Go packages):
                # the names used near the cursor, then the module's first definitions.
                named = [d for d in by_name.values() if d.name in near]
                others = [d for d in by_name.values() if d.name not in near][:MODULE_OVERVIEW]
                for definition in named + others:
                    distance = near.get(definition.name)
                    score = _score(distance) if distance is not None else 0.3
                    snippets += _pair(target, definition, score,
                                      f"defines {definition.name} in module {imp.module}")
    return snippets


GENERIC_CALLERS = 200
"""A name called in more places than this says little about any one of them (`get`)."""

SITES_PER_NAME = 64
"""Call sites of one name compared with the cursor's code (the first, by path and line)."""


def usage_snippets(site: Site, index: WorkspaceSymbols, deadline: Callable[[], bool],
                   *, per_name: int = 2, context: int = 2) -> list[Snippet]:
    """Other call sites of the function or class whose arguments the cursor is in.

    How a function is really called tells a small model more than its signature, while it
    writes the call's arguments (bench.crossfile). Anywhere else in the code, call sites of
    the names around the cursor cost more than they gave (bench.fim, 120 line holes each:
    tune split 28.3% exact with them against 32.5% without, report 35.8% against 37.5%).
    Only names the workspace defines count (not builtins or libraries), and not generic
    ones; the calls around the innermost one rank after it (`f(a, g(█`: g, then f).
    """
    names: dict[str, float] = {}
    # A name match is not a usage: `batch.add(path)` calls a method, not a function `add`.
    # Functions are called bare or through a module; methods through what they belong to.
    free: dict[str, bool | None] = {}
    modules = _module_names(site.own)
    for depth, opened in enumerate(site.calls):
        if opened.name not in names:
            names[opened.name] = round(0.5 - 0.05 * depth, 4)
            free[opened.name] = not opened.receiver or opened.receiver in modules
    return _call_sites("usage", names, free, site, index, deadline, per_name, context)


def import_usage_snippets(site: Site, index: WorkspaceSymbols, deadline: Callable[[], bool],
                          *, per_name: int = 2, context: int = 2) -> list[Snippet]:
    """Other call sites of the names the file imports, those used nearest the cursor first.

    They show which of its module's functions a line calls and how (bench.crossfile, the
    cursor before a call of a sibling module's name: 13/42 exact with them, 7/42 without),
    and cost completions that call none (bench.fim, 120 line holes each: tune split 30.0%
    exact with them against 32.5%, report split 36.7% against 38.3%). So this source is off
    by default. The calls the cursor is in are `usage`'s.
    """
    near = near_names(site)
    opened = {call.name for call in site.calls}
    names = {name: _score(near.get(name)) - 0.05
             for name in sorted({name for imp in site.own.imports for name in imp.names})
             if name not in opened}
    return _call_sites("import_usage", names, dict.fromkeys(names, True), site, index, deadline,
                       per_name, context)


def _call_sites(source: Source, names: dict[str, float], free: dict[str, bool | None],
                site: Site, index: WorkspaceSymbols, deadline: Callable[[], bool],
                per_name: int, context: int) -> list[Snippet]:
    """Up to `per_name` call sites of each name in other files, the most like the code at
    the cursor first; `free`: whether a name is called as a function (bare or through a
    module) or as a method, None for either."""
    lines_here = site.text.split("\n")
    here = identifiers("\n".join(lines_here[max(0, site.line - 10):site.line + 3]))
    snippets: list[Snippet] = []
    split: dict[str, list[str]] = {}
    for name, score in sorted(names.items(), key=lambda item: (-item[1], item[0])):
        if deadline():
            break
        if not has_usages(name, index):
            continue
        pieces = []
        wanted = free[name]
        # Filtered call sites are taken from more of them, to keep as many to compare.
        callers = index.callers(name, SITES_PER_NAME if wanted is None else 4 * SITES_PER_NAME)
        if wanted is not None:
            callers = [(path, call) for path, call in callers
                       if _is_free_call(call, path, index) == wanted]
        for path, call in callers[:SITES_PER_NAME]:
            if path == site.path:
                continue
            lines = split.get(path)
            if lines is None:
                text = index.text(path)
                if text is None:
                    continue
                lines = split[path] = text.split("\n")
            start = max(0, call.line - context)
            piece = "\n".join(lines[start:call.line + context + 1])
            pieces.append((jaccard(here, identifiers(piece)), path, start, call.line, piece))
        # The call sites most like the code at the cursor; windows that overlap one already
        # taken would repeat its lines.
        pieces.sort(key=lambda p: (-p[0], p[1], p[2]))
        taken: list[tuple[str, int]] = []
        for similarity, path, start, line, piece in pieces:
            if len(taken) == per_name:
                break
            if any(path == p and abs(start - s) <= 2 * context for p, s in taken):
                continue
            taken.append((path, start))
            snippets.append(Snippet(source, path, piece,
                                    round(score - 0.1 * (len(taken) - 1), 4), start,
                                    f"calls {name}() (line {line + 1}, "
                                    f"similarity {similarity:.2f})"))
    return snippets


def has_usages(name: str, index: WorkspaceSymbols) -> bool:
    """Whether `usage` looks for call sites of `name`: one the workspace defines, and not a
    generic one. Calls of other names (`len(`, `print(`) need no new context."""
    return bool(index.definitions(name)) and index.caller_count(name) <= GENERIC_CALLERS


def _module_names(symbols: FileSymbols) -> set[str]:
    """Names a file binds to modules or packages: what a function can be called through."""
    names = {name for imp in symbols.imports for name in imp.names}
    names.update(imp.module for imp in symbols.imports)
    for imp in symbols.imports:
        tail = re.split(r"[./:\\]+", imp.module.strip("./"))[-1:]
        names.update(part for part in tail if part)
    return names


def _is_free_call(call: Call, path: str, index: WorkspaceSymbols) -> bool:
    """Whether a call site calls a function (bare, or through a module), not a method."""
    if not call.receiver:
        return True
    symbols = index.symbols(path)
    return symbols is not None and call.receiver in _module_names(symbols)


def related_files(site: Site, resolve: Resolve) -> list[str]:
    """Files the cursor's file imports, for the sources that favour related files."""
    related: list[str] = []
    for imp in site.own.imports:
        for target in resolve(site.language_id, site.path, imp)[:3]:
            if target != site.path and target not in related:
                related.append(target)
    return related


def _score(distance: int | None) -> float:
    """Near the cursor scores 0.9 falling to 0.6 at the edge; elsewhere in the file 0.5."""
    if distance is None:
        return 0.5
    return round(0.9 - 0.3 * min(distance, NEAR_BEFORE) / NEAR_BEFORE, 4)


def _pair(path: str, definition: Definition, score: float, reason: str) -> Iterable[Snippet]:
    """The definition's short header and, lower, its whole text (which `fit` swaps in)."""
    short = short_header(definition.header)
    header = Snippet("definition", path, short, score, definition.start_line, reason)
    if definition.text.strip() == short.strip():
        return [header]
    return [header, Snippet("definition", path, definition.text, round(score - 0.35, 4),
                            definition.start_line, reason + " (whole definition)")]


HEADER_LINES = 8
"""Lines of a header kept before its docstring is cut: a signature and a doc's first lines
tell a model how to call a function; a long docstring's rest costs tokens other code needs."""


def short_header(header: str) -> str:
    """A header cut to its first `HEADER_LINES` lines, closing a docstring it cut open."""
    lines = header.split("\n")
    if len(lines) <= HEADER_LINES:
        return header
    kept = lines[:HEADER_LINES]
    quotes = sum(line.count('"""') + line.count("\'\'\'") for line in kept)
    if quotes % 2:
        indent = kept[-1][: len(kept[-1]) - len(kept[-1].lstrip())]
        kept.append(f'{indent}..."""' if '"""' in "\n".join(kept) else f"{indent}...\'\'\'")
    else:
        kept.append(lines[-1][: len(lines[-1]) - len(lines[-1].lstrip())] + "...")
    return "\n".join(kept)
