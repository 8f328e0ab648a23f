"""Check a completion with the parser: it must not add syntax errors the text did not have."""

from __future__ import annotations

from tree_sitter import Node, Parser, Tree

from lspilot.context.languages import parser

_CLOSERS = set(")]};,")

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

    def valid(candidate: str) -> bool:
        return bool(candidate.strip()) and \
            errors(ts_parser, prefix + candidate + suffix) <= baseline

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
