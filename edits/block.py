"""The `block` format: the model rewrites only the blocks that matter, whole.

The blocks are the selection (or, for a cursor, the function or class around it), and in
every file of the task the definitions, call sites and imports of the names involved: the
names the selection defines and the names the instruction mentions that the files define or
call. A file with none of them is one block. Everything outside the blocks is kept as is, so
the model reads and writes far fewer tokens than with `whole`, yet still writes whole units
of code, which small models do reliably.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher

from tree_sitter import Tree

from lspilot.context.languages import parser
from lspilot.context.symbols import Definition, FileSymbols, analyze
from lspilot.edits.change import changes_or_error, check_complete, file_change
from lspilot.edits.fences import Fenced, fenced_blocks
from lspilot.edits.match import reindent
from lspilot.edits.prompt import line_span, listing, user_message
from lspilot.edits.task import EditError, EditTask, FileChange, SourceFile
from lspilot.edits.whole import NON_CODE_TAGS, SIMILAR, echoed, named
from lspilot.models.backends.base import Message

SYSTEM = """\
You are an expert programmer who edits code as instructed.
The code comes in numbered blocks. Reply with each block you change: its number in brackets \
on its own line, then the whole new block in a fenced code block.
Write every line of the block; never write "..." or "rest unchanged".
Leave out blocks you do not change. To create a file, write its path instead of a number.
No explanations.

Example reply:
[1]
```python
def greet(name):
    return f"Hello, {name}!"
```
"""

INSTRUCTION_WORDS = frozenset("""
a about add all an and any as at be by call calls change class code convert create data
delete do each every everywhere extract file files fix for from function get helper in
into is it its list make method module move name new not of on or parameter put remove
rename replace return run set should so test tests that the them this to type types up
update use value when with
""".split())
"""Words instructions use for what to do; they name code only when written as code."""

CONTEXT_LINES = 3
"""Most lines from just outside a block that a rewrite may repeat and still be read right."""
_NUMBER = re.compile(r"\[\s*(\d+)\s*\]|\bblock\s*#?\s*(\d+)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Block:
    """Lines of a task file the model may rewrite."""

    path: str
    start_line: int
    """0-based, inclusive."""
    end_line: int
    """0-based, inclusive."""
    label: str
    """What it is: `selection`, `function parse`, `import`, `statement`, `file`."""

    def text(self, source: SourceFile) -> str:
        """The block's lines (LF line endings), each ending with a newline."""
        lines = source.text.replace("\r\n", "\n").split("\n")[self.start_line:self.end_line + 1]
        return "".join(line + "\n" for line in lines)


def blocks(task: EditTask) -> list[Block]:
    """The blocks of the task's files the model may rewrite, by file then line."""
    symbols: dict[str, FileSymbols] = {}
    trees: dict[str, Tree | None] = {}
    for source in task.files:
        ts_parser = parser(source.language)
        trees[source.path] = ts_parser.parse(source.text.encode("utf-8", "surrogatepass")) \
            if ts_parser is not None else None
        symbols[source.path] = analyze(source.language, source.text, trees[source.path])
    found: dict[str, list[Block]] = {f.path: [] for f in task.files}
    names: set[str] = set()
    if task.selection is not None:
        primary = _selected(task, symbols)
        found[primary.path].append(primary)
        names |= {d.name for d in symbols[primary.path].definitions
                  if primary.start_line <= d.start_line <= primary.end_line}
    mentioned = _mentioned(task.instruction)
    names |= {name for s in symbols.values() for name in
              [d.name for d in s.definitions] + [c.name for c in s.calls]} & mentioned
    for source in task.files:
        file_symbols, tree = symbols[source.path], trees[source.path]
        spans = found[source.path]
        for definition in file_symbols.definitions:
            # The selection stands for what it overlaps: a class it starts is not all added.
            if definition.name in names and not any(
                    b.start_line <= definition.end_line and definition.start_line <= b.end_line
                    for b in spans if b.label == "selection"):
                spans.append(_of(source.path, definition))
        lines = [c.line for c in file_symbols.calls if c.name in names]
        lines += [i.line for i in file_symbols.imports if names & {*i.names, *i.original}]
        for line in lines:
            around = _innermost(file_symbols.definitions, line)
            if around is not None:
                spans.append(_of(source.path, around))
            elif tree is not None:
                spans.append(_statement(source.path, tree, line, file_symbols))
        if not spans:
            last = max(0, source.text.replace("\r\n", "\n").rstrip("\n").count("\n"))
            spans.append(Block(source.path, 0, last, "file"))
    return [block for source in task.files for block in _merged(found[source.path])]


def _mentioned(instruction: str) -> set[str]:
    """The words of an instruction that may name code.

    A word written as code (`parse_date`, `parseDate`, `fetch()`, in backticks, `a.b`)
    always may; a plain English word that instructions use for what to do ("add a
    parameter", "use a set") only when written as code, lest every `add` method be
    rewritten.
    """
    coded = set(re.findall(r"`([^`]+)`", instruction))
    words = set()
    for match in re.finditer(r"[A-Za-z_][A-Za-z0-9_]*", instruction):
        word = match.group()
        as_code = "_" in word or any(c.isdigit() for c in word) or \
            any(c.isupper() for c in word[1:]) or \
            instruction[match.end():match.end() + 1] in ("(", ".") or \
            instruction[match.start() - 1:match.start()] == "." or \
            any(word in code for code in coded)
        if as_code or word.lower() not in INSTRUCTION_WORDS:
            words.add(word)
    return words


def _selected(task: EditTask, symbols: dict[str, FileSymbols]) -> Block:
    """The selection's whole lines, or for a cursor the definition around it."""
    selection = task.selection
    assert selection is not None
    source = task.file(selection.path)
    if source is None:
        raise EditError(f"the selection is in {selection.path}, which is not a file of this edit")
    text = source.text
    start = text.count("\n", 0, selection.start)
    end = text.count("\n", 0, selection.end)
    if selection.end > selection.start:
        if end > start and text[selection.end - 1] == "\n":
            end -= 1  # a selection of whole lines ends at the start of the next one
        return Block(source.path, start, end, "selection")
    around = _innermost(symbols[source.path].definitions, start)
    if around is not None:
        return _of(source.path, around)
    last = max(0, text.replace("\r\n", "\n").rstrip("\n").count("\n"))
    return Block(source.path, 0, last, "file")


def _of(path: str, definition: Definition) -> Block:
    return Block(path, definition.start_line, definition.end_line,
                 f"{definition.kind} {definition.name}")


def _innermost(definitions: tuple[Definition, ...], line: int) -> Definition | None:
    """The smallest function or class around `line` (variables are statements)."""
    around = [d for d in definitions if d.start_line <= line <= d.end_line
              and d.kind != "variable"]
    return min(around, key=lambda d: d.end_line - d.start_line, default=None)


def _statement(path: str, tree: Tree, line: int, file_symbols: FileSymbols) -> Block:
    """The top-level statement on `line` (an import, a call at module level)."""
    for node in tree.root_node.children:
        last = node.end_point.row - (1 if node.end_point.column == 0 and
                                     node.end_point.row > node.start_point.row else 0)
        if node.start_point.row <= line <= last:
            is_import = any(i.line == line for i in file_symbols.imports)
            return Block(path, node.start_point.row, last, "import" if is_import else "statement")
    return Block(path, line, line, "statement")


def _merged(spans: list[Block]) -> list[Block]:
    """Blocks sorted, those that overlap joined (a class and its method: the class)."""
    out: list[Block] = []
    for block in sorted(spans, key=lambda b: (b.start_line, -b.end_line)):
        if out and block.start_line <= out[-1].end_line:
            last = out[-1]
            if block.end_line > last.end_line:
                out[-1] = Block(last.path, last.start_line, block.end_line,
                                f"{last.label}, {block.label}")
            continue
        out.append(block)
    return out


class BlockFormat:
    """Numbered blocks in, the rewritten blocks out."""

    name = "block"

    def messages(self, task: EditTask) -> list[Message]:
        """The system prompt and the numbered blocks with the instruction."""
        pieces = []
        for number, block in enumerate(blocks(task), start=1):
            source = task.file(block.path)
            assert source is not None
            heading = (f"[{number}] {block.path} {line_span(block.start_line, block.end_line)}"
                       f" ({block.label})")
            pieces.append(listing(block.path, block.text(source), source.language, heading))
        code = "Blocks you may change:\n\n" + "\n".join(pieces) + "\n"
        return [Message("system", SYSTEM), Message("user", user_message(task, code))]

    def parse(self, reply: str, task: EditTask) -> list[FileChange]:
        """The files with the reply's blocks put in place of the originals."""
        given = blocks(task)
        if not reply.strip():
            raise EditError("the model's answer is empty")
        fenced = fenced_blocks(reply)
        if not fenced:
            raise EditError("the answer has no code block, so it changes no file: "
                            f"{reply.strip()[:80]!r}")
        rewritten: dict[int, str] = {}
        created: dict[str, str] = {}
        for fence in fenced:
            index, path, body = _target(fence, given, task)
            if index is not None and not 0 <= index < len(given):
                # Small models run on and repeat a block under a new number: harmless.
                if body.strip() in {text.strip() for text in rewritten.values()}:
                    continue
                raise EditError(f"the answer rewrites block [{index + 1}], but the blocks given "
                                f"were [1] to [{len(given)}]")
            if index is not None:
                block = given[index]
                source = task.file(block.path)
                assert source is not None
                check_complete(fence, block.text(source), f"block [{index + 1}]")
                rewritten[index] = body
            elif path is not None and not echoed(path, body, task):
                check_complete(fence, "", path)
                created[path] = body
        if not rewritten and not created:
            raise EditError("no code block of the answer is one of the numbered blocks")
        changes = []
        symbols = {f.path: analyze(f.language, f.text) for f in task.files}
        for source in task.files:
            lines = source.text.replace("\r\n", "\n").split("\n")
            mine = sorted((i for i in rewritten if given[i].path == source.path),
                          key=lambda i: -given[i].start_line)
            for index in mine:
                block = given[index]
                old = lines[block.start_line:block.end_line + 1]
                headers = {line.strip() for d in symbols[source.path].definitions
                           if d.start_line < block.start_line and d.end_line >= block.end_line
                           for line in lines[d.start_line:d.start_line + 3] if d.name in line}
                new = _trimmed(rewritten[index].split("\n")[:-1], lines, block, headers)
                lines[block.start_line:block.end_line + 1] = reindent(new, new, old)
            change = file_change(task, source.path, "\n".join(lines)) if mine else None
            if change is not None:
                changes.append(change)
        for path, body in created.items():
            change = file_change(task, path, body)
            if change is not None:
                changes.append(change)
        return changes_or_error(changes)


def _target(fence: Fenced, given: list[Block],
            task: EditTask) -> tuple[int | None, str | None, str]:
    """Which numbered block a fenced block rewrites, or which new file it creates, and its body.

    By the number in its heading; else by the file it names; else, among the candidate
    blocks, the one it defines the same names as or, failing that, clearly resembles.
    """
    number = next((m for line in (fence.info, *fence.before[:2])
                   if (m := _NUMBER.search(line))), None)
    if number is not None:
        return int(number.group(1) or number.group(2)) - 1, None, fence.body
    path, body = named(fence, task)
    if path is not None and task.file(path) is None:
        return None, path, body
    tag = fence.info.split()[0].lower() if fence.info.split() else ""
    if path is None and tag in NON_CODE_TAGS:
        return None, None, body
    candidates = [i for i, b in enumerate(given) if path is None or b.path == path]
    if len(candidates) == 1:
        return candidates[0], None, body
    sources = {f.path: f for f in task.files}
    defines = _names(sources[given[candidates[0]].path].language if candidates else "", body)
    by_name = [i for i in candidates if defines & _block_names(given[i], sources, defines)]
    if len(by_name) == 1:
        return by_name[0], None, body
    scores = sorted(((SequenceMatcher(None, given[i].text(sources[given[i].path]).splitlines(),
                                      body.splitlines(), autojunk=False).ratio(), i)
                     for i in candidates), reverse=True)
    if scores and scores[0][0] >= SIMILAR and (len(scores) == 1 or
                                              scores[0][0] - scores[1][0] >= 0.1):
        return scores[0][1], None, body
    return None, None, body


def _trimmed(new: list[str], lines: list[str], block: Block, headers: set[str]) -> list[str]:
    """The rewritten block without lines the model repeated from around it.

    Given a method, a model often writes its class's header line above it, or the lines
    just before or after the block: lines that equal those, up to whitespace, are dropped,
    as they are still in the file.
    """
    def same(a: list[str], b: list[str]) -> bool:
        return [line.strip() for line in a] == [line.strip() for line in b]

    first = lines[block.start_line].strip()
    while len(new) > 1 and new[0].strip() in headers and new[0].strip() != first:
        new = new[1:]

    before = lines[max(0, block.start_line - CONTEXT_LINES):block.start_line]
    head = next((k for k in range(len(before), 0, -1)
                 if k < len(new) and before[-k].strip() and same(new[:k], before[-k:])), 0)
    after = lines[block.end_line + 1:block.end_line + 1 + CONTEXT_LINES]
    tail = next((k for k in range(len(after), 0, -1)
                 if head + k < len(new) and after[k - 1].strip() and same(new[-k:], after[:k])),
                0)
    return new[head:len(new) - tail]


def _names(language_id: str, text: str) -> set[str]:
    return {d.name for d in analyze(language_id, text).definitions}


def _block_names(block: Block, sources: dict[str, SourceFile], wanted: set[str]) -> set[str]:
    source = sources[block.path]
    return {d.name for d in analyze(source.language, source.text).definitions
            if block.start_line <= d.start_line and d.end_line <= block.end_line} & wanted
