"""Check a completion with the parser: it must not add syntax errors the text did not have."""

from __future__ import annotations

from tree_sitter import Node, Parser, Tree

from lspilot.context.languages import parser

_CLOSERS = set(")]};,")
_PAIRS = {"(": ")", "[": "]", "{": "}"}
_CLOSING = set(_PAIRS.values())
_QUOTES = "\"'`"

SLICE_CHARS = 20_000
"""Without a document's tree, the cursor is judged on this much text either side of it."""


def errors(ts_parser: Parser, text: str) -> tuple[int, int]:
    """How broken `text` is: (ERROR and MISSING nodes, bytes inside ERROR nodes)."""
    root = ts_parser.parse(text.encode("utf-8")).root_node
    if not root.has_error:
        return (0, 0)
    count = size = 0
    stack: list[Node] = [root]
    while stack:
        node = stack.pop()
        if node.is_error or node.is_missing:
            count += 1
            size += node.end_byte - node.start_byte
        elif node.has_error:
            stack.extend(node.children)
    return (count, size)


def keep_valid(language_id: str, prefix: str, completion: str, suffix: str) -> str:
    """The longest leading part of `completion` (whole lines, or all of it) that adds no error.

    Languages without a grammar pass unchanged. Errors are measured on the same window of
    the file the model saw, so an error that was already there (the line being typed) does
    not count against it: the completion must leave fewer error nodes, or as many covering
    no more text.
    """
    ts_parser = parser(language_id)
    if ts_parser is None or not completion:
        return completion
    baseline = errors(ts_parser, prefix + suffix)

    line_prefix = prefix[prefix.rfind("\n") + 1:]

    def valid(candidate: str) -> bool:
        if not candidate.strip():
            return False
        if errors(ts_parser, prefix + candidate + suffix) <= baseline:
            return True
        # A completion may end by opening a block (`if x {`, `def f():`, `foo(`) whose
        # body the user writes next: a plain client shows it, and so does the check.
        closing = open_blocks_closed(language_id, line_prefix, candidate)
        return bool(closing) and \
            errors(ts_parser, prefix + candidate + closing + suffix) <= baseline

    lines = completion.split("\n")
    for size in range(len(lines), 0, -1):
        candidate = "\n".join(lines[:size]).rstrip()
        # Trailing closers are the usual culprit: `x + 1))` before a `)` already there.
        while candidate:
            if valid(candidate):
                return candidate
            if candidate[-1] not in _CLOSERS:
                break
            candidate = candidate[:-1].rstrip()
    return ""


def open_blocks_closed(language_id: str, line_prefix: str, completion: str) -> str:
    """What closes the blocks `completion` opens at the ends of its lines and leaves open.

    Empty when it leaves none open, or one open in the middle of a line (`return (y`: a
    half-written expression, not a block to write next, unless another that ends the line
    is inside it: `forEach((x) => {`). Brackets get their closers, each
    on a line of its own; in Python a last line ending with `:` gets an indented `pass`.
    A rough scan (quotes on one line, line comments), good enough to relax a check.
    """
    comment = "#" if language_id == "python" else "//"
    stack: list[tuple[str, int, bool]] = []  # open brackets: line, whether it ends it
    last = ""
    for number, line in enumerate(completion.split("\n")):
        code = _code_of(line, comment).rstrip()
        if code.strip():
            last = (line_prefix if number == 0 else "") + code
        for index, char in enumerate(code):
            if char in _PAIRS:
                stack.append((char, number, index == len(code) - 1))
            elif char in _CLOSING:
                if not stack or _PAIRS[stack[-1][0]] != char:
                    return ""
                stack.pop()
    # The innermost bracket left open on each line must end it: `foo((x) => {` opens lines,
    # `foo(a, ` does not.
    innermost = {line: ends_line for _, line, ends_line in stack}
    if not all(innermost.values()):
        return ""
    closing = "".join("\n" + _PAIRS[char] for char, _, _ in reversed(stack))
    if not closing and language_id == "python" and last.endswith(":"):
        indent = last[: len(last) - len(last.lstrip(" \t"))]
        closing = "\n" + indent + ("\t" if indent.startswith("\t") else "    ") + "pass"
    return closing


def _code_of(line: str, comment: str) -> str:
    """The line with its strings blanked and its line comment cut (a rough scan)."""
    out = []
    quote = ""
    escaped = False
    for index, char in enumerate(line):
        if quote:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = ""
            out.append(" ")
        elif char in _QUOTES:
            quote = char
            out.append(" ")
        elif line.startswith(comment, index):
            break
        else:
            out.append(char)
    return "".join(out)


def in_comment_or_string(language_id: str, text: str, offset: int,
                         tree: Tree | None = None) -> bool:
    """Whether the last character before `offset` on its line is inside a comment or string.

    `tree`, when given, must be the parse of `text` (the server keeps one per document).
    Without one, only the lines around the cursor are parsed (`SLICE_CHARS` either side):
    a string that began before them is missed, but the cost is bounded in a huge file.
    False for languages without a grammar.
    """
    line_start = text.rfind("\n", 0, offset) + 1
    before = text[line_start:offset].rstrip()
    if not before:
        return False
    begin = 0
    if tree is None:
        ts_parser = parser(language_id)
        if ts_parser is None:
            return False
        if offset > SLICE_CHARS:  # start on a line start when one is near
            begin = offset - SLICE_CHARS
            begin = text.find("\n", begin, line_start) + 1 or begin
        tree = ts_parser.parse(text[begin:offset + SLICE_CHARS].encode("utf-8", "surrogatepass"))
    at = len(text[begin:line_start + len(before) - 1].encode("utf-8", "surrogatepass"))
    node: Node | None = tree.root_node.descendant_for_byte_range(at, at + 1)
    while node is not None:
        if "comment" in node.type or "string" in node.type:
            return True
        node = node.parent
    return False
