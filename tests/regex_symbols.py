"""A test double for `context/symbols.py: analyze` (built elsewhere): `def name(` lines and
`name(` calls, found with regular expressions, for any language id."""

from __future__ import annotations

import re

from lspilot.context.symbols import Call, Definition, FileSymbols

DEF = re.compile(r"^\s*(?:async\s+)?def\s+(\w+)\s*\(")
CALL = re.compile(r"\b(\w+)\s*\(")


def regex_analyze(language_id: str, text: str) -> FileSymbols:
    """Definitions of `def name(` lines (one line each) and every other `name(` as a call."""
    definitions = []
    calls = []
    for number, line in enumerate(text.split("\n")):
        definition = DEF.match(line)
        if definition is not None:
            name = definition.group(1)
            definitions.append(Definition(name, "function", number, number, line, line))
        for call in CALL.finditer(line):
            if definition is None or call.start(1) != definition.start(1):
                calls.append(Call(call.group(1), number))
    return FileSymbols(language_id, tuple(definitions), (), tuple(calls))
