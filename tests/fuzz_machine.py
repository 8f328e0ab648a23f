"""Random editor traffic, well-formed and not, against the real `lspilot serve` over stdio.

A Hypothesis state machine opens, edits, completes in and closes documents the way editors
do (and the ways they should not: out-of-range, reversed and mid-surrogate ranges, lone
surrogates, NUL bytes, lone CRs, megabyte lines, 5 MB documents, malformed params, unknown
methods, cancellation storms, commands with bad arguments, bad settings, bytes that are not
JSON), in one position encoding per run. After every step it checks the invariants:

- the process lives, and every request is answered within `ANSWER_S` seconds;
- no request gets an internal error, and a well-formed one gets a result (or, cancelled,
  RequestCancelled); a malformed one gets the error JSON-RPC names;
- the server's copy of a document equals this client's model of it after every edit
  (read with `lspilot.debug.document`);
- no popup reports a failure of the server itself;
- resident memory grows by less than `MEMORY_BOUND_MB` over the run.

The model of a document applies edits on code units of the negotiated encoding, as an
editor holding text in that encoding would, then applies lspilot's documented rules: a
UTF-16 surrogate half whose partner is gone becomes U+FFFD, a UTF-8 position inside a
character lands on its start, a position past its line means the line's end.

`tests/test_fuzz.py` runs a short seeded profile; `bench/fuzz.py` a long one and prints
its figures. In `strict` mode (the test) a broken invariant fails at once; otherwise it is
counted.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import re
import tempfile
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
)

from lspilot.lsp.commands import DEBUG_COMMANDS_ENV
from tests.raw_client import SERVE, RawClient, frame, resident_kib

ANSWER_S = 60.0
"""A request not answered within this many seconds is a hang."""
MEMORY_BOUND_MB = 600
"""Resident memory may grow by this much over a run (5 MB documents stay open in it)."""
MAX_POSITION = 2**31 - 1
"""LSP positions are uintegers: past this, a message does not parse."""

INTERNAL_ERROR, INVALID_PARAMS, METHOD_NOT_FOUND = -32603, -32602, -32601
INVALID_REQUEST, PARSE_ERROR, CANCELLED = -32600, -32700, -32800
ENCODINGS = ("utf-8", "utf-16", "utf-32")
URIS = (*(f"file:///fuzz/{name}" for name in
           ("a.py", "b.py", "c.js", "d.rs", "notes.txt", "e.go", "dir/f.ts")),
        "untitled:Untitled-1", "file:///fuzz/nul%00.py", "file:///fuzz/%F0%9F%98%80.py",
        "file:///fuzz/.env", "not a uri")
LANGUAGES = ("python", "javascript", "rust", "go", "typescript", "plaintext", "", "c",
             "unknown-lang")
_SURROGATE = re.compile("[\ud800-\udfff]")
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
_EOL = re.compile("\r\n|\r|\n")

T = TypeVar("T")


@dataclass
class Report:
    """What a run saw; `failures` names each broken invariant."""

    sent: int = 0
    requests: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    crashes: int = 0
    hangs: int = 0
    internal_errors: int = 0
    mismatches: int = 0
    server_popups: int = 0
    rss_growth_kib: list[int] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def percentile(self, share: float) -> float:
        """A latency percentile in ms (0 without requests)."""
        ordered = sorted(self.latencies_ms)
        if not ordered:
            return 0.0
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


# --- the client's model of a document


def wire(text: str) -> str:
    """`text` as the server receives it: JSON joins escaped surrogate pairs, and lspilot
    repairs the lone surrogates left."""
    return _SURROGATE.sub("\ufffd", json.loads(json.dumps(text)))


def _units(text: str, encoding: str, first_id: int) -> list[tuple[int, int, int]]:
    """(code unit, id of its character, units in that character) for each code unit."""
    units = []
    for index, char in enumerate(text):
        if encoding == "utf-8":
            data = char.encode("utf-8")
            units += [(byte, first_id + index, len(data)) for byte in data]
        elif encoding == "utf-16" and ord(char) > 0xFFFF:
            code = ord(char) - 0x10000
            units += [(0xD800 + (code >> 10), first_id + index, 2),
                      (0xDC00 + (code & 0x3FF), first_id + index, 2)]
        else:
            units.append((ord(char), first_id + index, 1))
    return units


def _decode(units: list[tuple[int, int, int]], encoding: str) -> str:
    """Characters back from units; a character cut apart leaves U+FFFD per unit."""
    out = []
    index = 0
    while index < len(units):
        unit, char_id, size = units[index]
        run = units[index:index + size]
        whole = len(run) == size and all(u[1] == char_id for u in run) and \
            (index == 0 or units[index - 1][1] != char_id)
        if whole:
            if encoding == "utf-8":
                out.append(bytes(u[0] for u in run).decode("utf-8"))
            elif size == 2:
                high, low = run[0][0], run[1][0]
                out.append(chr(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)))
            else:
                out.append(chr(unit))
            index += size
        else:
            out.append("\ufffd")
            index += 1
    return "".join(out)


def _line_starts(units: list[tuple[int, int, int]]) -> list[int]:
    starts = [0]
    for index, (unit, _, _) in enumerate(units):
        if unit == 10 or (unit == 13 and (index + 1 == len(units) or units[index + 1][0] != 10)):
            starts.append(index + 1)
    return starts


def _position(units: list[tuple[int, int, int]], starts: list[int], line: int,
              character: int, encoding: str) -> int:
    if line >= len(starts):
        return len(units)
    start = starts[line]
    end = starts[line + 1] if line + 1 < len(starts) else len(units)
    while end > start and units[end - 1][0] in (10, 13):
        end -= 1
    at = start + min(character, end - start)
    if encoding == "utf-8":  # inside a character: its start
        while at > start and at < len(units) and units[at][1] == units[at - 1][1]:
            at -= 1
    return at


def _line_spans(text: str, lines: set[int]) -> dict[int, tuple[int, int]]:
    """(first character, first character of the next line) of each of `lines` that exists."""
    spans: dict[int, tuple[int, int]] = {}
    line, start = 0, 0
    for match in _EOL.finditer(text):
        if line in lines:
            spans[line] = (start, match.end())
        line, start = line + 1, match.end()
        if line > max(lines):
            return spans
    if line in lines:
        spans[line] = (start, len(text))
    return spans


def model_edit(text: str, encoding: str, start: tuple[int, int], end: tuple[int, int],
               new_text: str) -> str:
    """The document after an incremental change, by lspilot's documented rules.

    Only the lines the range touches are worked in code units; where those hold no
    character of more than one unit, positions are plain character offsets.
    """
    if min(*start, *end) < 0 or max(*start, *end) > MAX_POSITION:
        return text  # the notification does not parse: nothing changes
    spans = _line_spans(text, {start[0], end[0]})
    first = min(start[0], end[0])
    r0 = spans[first][0] if first in spans else len(text)
    r1 = max(spans[line][1] if line in spans else len(text) for line in (start[0], end[0]))
    region = text[r0:r1]
    ends = [(line - first, character) for line, character in (start, end)]
    simple = encoding == "utf-32" or (encoding == "utf-8" and region.isascii()) or \
        (encoding == "utf-16" and _ASTRAL.search(region) is None)
    if simple:
        bounds = _line_spans(region, {line for line, _ in ends})
        offsets = []
        for line, character in ends:
            if line not in bounds:
                offsets.append(len(region))
                continue
            line_start, line_end = bounds[line]
            while line_end > line_start and region[line_end - 1] in "\r\n":
                line_end -= 1
            offsets.append(line_start + min(character, line_end - line_start))
        a, b = min(offsets), max(offsets)
        return text[:r0] + region[:a] + wire(new_text) + region[b:] + text[r1:]
    units = _units(region, encoding, 0)
    starts = _line_starts(units)
    a, b = sorted(_position(units, starts, line, character, encoding)
                  for line, character in ends)
    inserted = _units(wire(new_text), encoding, len(region) + 1)
    return text[:r0] + _decode(units[:a] + inserted + units[b:], encoding) + text[r1:]


def line_lengths(text: str, encoding: str) -> list[int]:
    """Each line's length in code units (the end of line left out)."""
    lines = re.split("\r\n|\r|\n", text)
    size = {"utf-8": 1, "utf-16": 2, "utf-32": 4}[encoding]
    codec = {"utf-8": "utf-8", "utf-16": "utf-16-le", "utf-32": "utf-32-le"}[encoding]
    return [len(line.encode(codec, "surrogatepass")) // size for line in lines]


# --- what editors (and broken clients) send

PIECES = ["def f(x):\n    return x\n", "foo(", "\r\n", "\r", "\n", "\x00", "😀", "é", "中",
          "\U0001d538", "\ud83d", "\ude00", "\ud83d\ude00", "\t", "'", '"', "{", "}", "    ",
          "x = 1", "\ufeff", "\u2028", "//", "#", "/*", "*/", "\\", "\x7f"]
texts = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=12)),
                 max_size=12).map("".join)
big_texts = st.sampled_from([
    "x = '" + "a" * 1_000_000 + "'\n",
    "".join(f"def f{i}(x):\n    return x + {i}\n\n" for i in range(160_000)),   # ~5 MB
    "".join(f"var v{i} = {i};\r" for i in range(20_000)),                       # lone CRs
    bytes(range(256)).decode("latin-1") * 200,                                  # binary
])
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=False,
                                                                        allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                               max_size=4),
    max_leaves=12)
positions = st.one_of(
    st.integers(0, 40), st.integers(0, 40), st.sampled_from([MAX_POSITION, 10**6]),
    st.sampled_from([-1, MAX_POSITION + 1]))
REQUEST_METHODS = ("textDocument/inlineCompletion", "textDocument/completion",
                   "workspace/executeCommand", "initialize", "lspilot/nope",
                   "textDocument/hover", "$/unknown")
NOTIFICATION_METHODS = ("textDocument/didOpen", "textDocument/didChange",
                        "textDocument/didClose", "textDocument/didSave",
                        "workspace/didChangeConfiguration", "$/cancelRequest", "$/setTrace",
                        "window/workDoneProgress/cancel", "initialized", "lspilot/nope")
GARBAGE = [b"{not json", b'{"jsonrpc": "2.0", "id": 1, "method": "x", "params": "\xff"}',
           b"[" * 50_000, b"null", b"[]", b'{"jsonrpc": "2.0", "method": 5}',
           b'{"jsonrpc": "2.0", "id": 1, "params": NaN}', b"", b'"\\ud800"',
           b'{"jsonrpc": "2.0", "id": {"a": 1}, "method": "x"}']
BAD_SETTINGS = st.fixed_dictionaries({}, optional={
    "completion": st.dictionaries(st.sampled_from(
        ["maxTokens", "maxLines", "debounceMs", "promptTokens", "suffixShare", "earlyStop",
         "typedAheadCache", "typingSuffixTokens"]), json_values, max_size=3),
    "context": st.dictionaries(st.sampled_from(
        ["enabled", "tokens", "deadlineMs", "indexWorkspace"]), json_values, max_size=2),
    # Out of range only: a valid contextSize reloads the model with that KV cache.
    "llamaCpp": st.dictionaries(st.sampled_from(["contextSize", "threads"]),
                                st.integers(-5, 0) | st.integers(10**6, 10**12)
                                | st.text(max_size=4), max_size=2),
    "logLevel": json_values,
    "nonsense": json_values,
})


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class ServerMachine(RuleBasedStateMachine):
    """One server process, one encoding, one run of random traffic."""

    model: Path
    """The tiny GGUF (the caller sets it on a subclass, with `report`)."""
    report: Report
    strict = True
    encodings: tuple[str, ...] = ENCODINGS
    big = True
    """Whether megabyte lines and 5 MB documents are drawn."""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.home = tempfile.TemporaryDirectory(prefix="lspilot-fuzz-")
        self.client: RawClient | None = None
        self.docs: dict[str, str] = {}
        self.encoding = "utf-16"
        self.rss_start = 0
        self.pending: dict[int | str, float] = {}
        self.pending_completions: list[int | str] = []
        self.rng = random.Random(0)
        self.commands: list[str] = []
        """Every `lspilot.*` command the server advertises."""

    # --- plumbing

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coroutine)

    def _fail(self, what: str) -> None:
        self.report.failures.append(what)
        if self.strict:
            raise AssertionError(what)

    @property
    def _client(self) -> RawClient:
        assert self.client is not None
        return self.client

    def _send(self, message: dict[str, Any]) -> None:
        self._client.send(message)
        self.report.sent += 1

    def _request(self, method: str, params: Any, *, omit_params: bool = False
                 ) -> int | str:
        msg_id = self._client.send_request(method, params, omit_params=omit_params)
        self.report.sent += 1
        self.report.requests += 1
        self.pending[msg_id] = time.perf_counter()
        return msg_id

    def _answer(self, msg_id: int | str | None) -> dict[str, Any] | None:
        """The response to a request sent, or None when none came in time (a hang)."""
        client = self._client
        try:
            self._run(client.drain())
            answer = self._run(client.response(msg_id, ANSWER_S))
        except TimeoutError:
            self.report.hangs += 1
            self._fail(f"no answer to request {msg_id} in {ANSWER_S} s")
            return None
        except ConnectionError:
            self._check_alive()
            return None
        sent = self.pending.pop(msg_id, None) if msg_id is not None else None
        if sent is not None:
            arrived = client.arrived.get(msg_id, time.perf_counter())
            self.report.latencies_ms.append((arrived - sent) * 1000)
        error = answer.get("error")
        if error is not None and error.get("code") == INTERNAL_ERROR:
            self.report.internal_errors += 1
            self._fail(f"internal error for request {msg_id}: {error.get('message')}")
        return answer

    def _expect(self, msg_id: int | str, codes: set[int | None], what: str) -> None:
        answer = self._answer(msg_id)
        if answer is None:
            return
        code = answer["error"]["code"] if "error" in answer else None
        if code not in codes:
            self._fail(f"{what}: got {answer.get('error') or 'a result'}, wanted {codes}")

    def _check_alive(self) -> None:
        if self.client is not None and not self.client.alive():
            self.report.crashes += 1
            self._fail(f"the server exited ({self.client.process.returncode})")

    def _verify(self, uri: str) -> None:
        """The server's copy of `uri` equals the model."""
        msg_id = self._request("workspace/executeCommand",
                               {"command": "lspilot.debug.document", "arguments": [uri]})
        answer = self._answer(msg_id)
        if answer is None or "result" not in answer:
            return
        expected = self.docs.get(uri)
        got = answer["result"]
        if expected is None:
            if got is not None:
                self.report.mismatches += 1
                self._fail(f"{uri} is open on the server only")
            return
        if got is None or got["sha256"] != _sha(expected):
            self.report.mismatches += 1
            text = self._run(self._client.request(
                "workspace/executeCommand",
                {"command": "lspilot.debug.document", "arguments": [uri, True]}))
            server = str((text.get("result") or {}).get("text"))
            at = next((i for i, (a, b) in enumerate(zip(server, expected, strict=False))
                       if a != b), min(len(server), len(expected)))
            self._fail(f"{uri} differs ({self.encoding}) from character {at}: server "
                       f"{server[max(0, at - 40):at + 40]!r} model "
                       f"{expected[max(0, at - 40):at + 40]!r} ({len(server)} and "
                       f"{len(expected)} characters)")

    # --- life cycle

    def _settings(self) -> dict[str, Any]:
        return {"models": {"autocomplete": str(self.model)},
                "llamaCpp": {"contextSize": 1024, "threads": 1}}

    @initialize(data=st.data())
    def start(self, data: st.DataObject) -> None:
        self.encoding = encoding = data.draw(st.sampled_from(self.encodings))
        self.rng = random.Random(data.draw(st.integers(0, 2**32 - 1)))
        env = {DEBUG_COMMANDS_ENV: "1", "LSPILOT_HOME": self.home.name}
        self.client = self._run(RawClient.start(SERVE, env))
        answer = self._run(self._client.initialize(self._settings(), encoding))
        self.report.sent += 2
        capabilities = answer["result"]["capabilities"]
        assert capabilities["positionEncoding"] == encoding
        self.commands = [c for c in capabilities["executeCommandProvider"]["commands"]
                         if c.startswith("lspilot.") and not c.startswith("lspilot.debug.")]
        self.rss_start = resident_kib(self._client.pid)

    def teardown(self) -> None:
        client = self.client
        try:
            if client is not None and client.alive():
                growth = resident_kib(client.pid) - self.rss_start
                self.report.rss_growth_kib.append(growth)
                if growth > MEMORY_BOUND_MB * 1024:
                    self._fail(f"resident memory grew by {growth // 1024} MB")
                self._expect(self._request("shutdown", None), {None}, "shutdown")
                self._expect(self._request("textDocument/completion", {
                    "textDocument": {"uri": URIS[0]}, "position": {"line": 0, "character": 0}}),
                    {INVALID_REQUEST}, "a request after shutdown")
                self._send({"jsonrpc": "2.0", "method": "exit"})
                self._run(client.drain())
                code = self._run(asyncio.wait_for(client.process.wait(), ANSWER_S))
                if code != 0:
                    self._fail(f"exit after shutdown ended with {code}")
            elif client is not None:
                self._check_alive()
            popups = [m for m in (client.shown() if client is not None else [])
                      if "internal error" in m or "Error in server" in m]
            self.report.server_popups += len(popups)
            if popups:
                self._fail(f"popups about the server's own failures: {popups[:3]}")
        finally:
            if client is not None:
                if client.alive():
                    client.process.kill()
                self._run(client.process.wait())
                client._reader.cancel()
            self.loop.close()
            self.home.cleanup()

    # --- one step: an action drawn by weight (one rule, so that Hypothesis's swarm
    # testing, which turns rules off per run, cannot leave a short run without edits)

    @rule(data=st.data())
    def step(self, data: st.DataObject) -> None:
        """One action, drawn by weight among those possible now."""
        weighted = [(self.open_document, 2), (self.open_big_document, 1 if self.big else 0),
                    (self.close_document, 1), (self.complete, 3), (self.misbehave, 3)]
        if self.docs:
            weighted += [(self.change_document, 3), (self.type_keys, 2),
                         (self.replace_document, 1), (self.cancel_storm, 1)]
        # A weighted choice, not a draw: Hypothesis favours the first choices of a draw.
        actions, weights = zip(*weighted, strict=True)
        self.rng.choices(actions, weights)[0](data)

    # --- documents

    def open_document(self, data: st.DataObject) -> None:
        """didOpen of small text in any language (an open document is opened again too)."""
        self._open(data.draw(st.sampled_from(URIS)), data.draw(st.sampled_from(LANGUAGES)),
                   data.draw(texts))

    def open_big_document(self, data: st.DataObject) -> None:
        """didOpen of a 1 MB line, 5 MB of code, lone-CR line ends or binary."""
        self._open(data.draw(st.sampled_from(URIS)), "python", data.draw(big_texts))

    def _open(self, uri: str, language: str, text: str) -> None:
        self._send({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {
            "textDocument": {"uri": uri, "languageId": language, "version": 1, "text": text}}})
        self.docs[uri] = wire(text)
        self._verify(uri)

    def change_document(self, data: st.DataObject) -> None:
        """didChange with one to three ranges, anywhere (out of range, reversed, inside a
        character, negative)."""
        uri = data.draw(st.sampled_from(sorted(self.docs)))
        text = self.docs[uri]
        changes = []
        for _ in range(data.draw(st.integers(1, 3))):
            start, end = data.draw(self._range(text)), data.draw(self._range(text))
            new = data.draw(texts)
            changes.append({"range": {"start": {"line": start[0], "character": start[1]},
                                      "end": {"line": end[0], "character": end[1]}},
                            "text": new})
            text = model_edit(text, self.encoding, start, end, new)
        if any(min(*s, *e) < 0 or max(*s, *e) > MAX_POSITION
               for c in changes for s, e in [_span(c)]):
            text = self.docs[uri]  # one bad position: the whole notification is refused
        self._send({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {
            "textDocument": {"uri": uri, "version": 2}, "contentChanges": changes}})
        self.docs[uri] = text
        self._verify(uri)

    def _range(self, text: str) -> st.SearchStrategy[tuple[int, int]]:
        lengths = line_lengths(text, self.encoding)
        inside = st.integers(0, len(lengths) - 1).flatmap(
            lambda line: st.tuples(st.just(line), st.integers(0, lengths[line] + 1)))
        astral = [(m.start(), m.group()) for m in _ASTRAL.finditer(text)]
        choices = [inside, st.tuples(positions, positions)]
        if astral and self.encoding != "utf-32":  # as likely as any other position
            choices.append(st.sampled_from(astral).map(lambda found: _inside(text, found[0],
                                                                             self.encoding)))
        return st.one_of(*choices)

    def replace_document(self, data: st.DataObject) -> None:
        """didChange of the whole text."""
        uri = data.draw(st.sampled_from(sorted(self.docs)))
        text = data.draw(texts)
        self._send({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {
            "textDocument": {"uri": uri, "version": 3}, "contentChanges": [{"text": text}]}})
        self.docs[uri] = wire(text)
        self._verify(uri)

    def close_document(self, data: st.DataObject) -> None:
        """didClose, of an open document or not."""
        uri = data.draw(st.sampled_from(URIS))
        self._send({"jsonrpc": "2.0", "method": "textDocument/didClose",
                    "params": {"textDocument": {"uri": uri}}})
        self.docs.pop(uri, None)
        self._verify(uri)

    # --- completions

    def complete(self, data: st.DataObject) -> None:
        """An inline or plain completion, anywhere, in an open document or not."""
        inline, invoked = data.draw(st.booleans()), data.draw(st.booleans())
        uri = data.draw(st.sampled_from(sorted(self.docs) or list(URIS)) | st.sampled_from(URIS))
        line, character = data.draw(self._range(self.docs.get(uri, "")))
        params: dict[str, Any] = {"textDocument": {"uri": uri},
                                  "position": {"line": line, "character": character}}
        if inline:
            params["context"] = {"triggerKind": 1 if invoked else 2}
        method = "textDocument/inlineCompletion" if inline else "textDocument/completion"
        valid = 0 <= min(line, character) and max(line, character) <= MAX_POSITION
        self._expect(self._request(method, params), {None} if valid else {INVALID_PARAMS},
                     f"{method} at {line}:{character} of {uri}")

    def cancel_storm(self, data: st.DataObject) -> None:
        """Completions, each cancelled twice, among cancellations of ids that never were."""
        uri = data.draw(st.sampled_from(sorted(self.docs)))
        extra = data.draw(st.lists(st.integers(-5, 10**6) | st.text(max_size=4), max_size=20))
        ids = [self._request("textDocument/inlineCompletion", {
            "textDocument": {"uri": uri}, "position": {"line": 0, "character": 0},
            "context": {"triggerKind": 2}}) for _ in range(data.draw(st.integers(1, 4)))]
        for target in [*ids, *extra, *ids]:
            self._send({"jsonrpc": "2.0", "method": "$/cancelRequest",
                        "params": {"id": target}})
        for msg_id in ids:
            self._expect(msg_id, {None, CANCELLED}, "a cancelled completion")

    def type_keys(self, data: st.DataObject) -> None:
        """Typing as an editor sends it: a key at a time at a cursor ("\\b": a backspace),
        an automatic completion after each; the document is checked at the end."""
        uri = data.draw(st.sampled_from(sorted(self.docs)))
        keys = data.draw(st.lists(st.sampled_from(["a", " ", "(", ")", "\n", "é", "😀", "\t",
                                                   ":", "\b"]), max_size=12))
        line, character = data.draw(self._range(self.docs[uri]))
        if min(line, character) < 0 or max(line, character) > MAX_POSITION:
            return
        for key in keys:
            text = self.docs[uri]
            lengths = line_lengths(text, self.encoding)
            line = min(line, len(lengths) - 1)
            character = min(character, lengths[line])
            start = (line, character)
            if key == "\b":
                start = (line, max(0, character - 1))
                key = ""
            self._send({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {
                "textDocument": {"uri": uri, "version": 4}, "contentChanges": [{
                    "range": {"start": {"line": start[0], "character": start[1]},
                              "end": {"line": line, "character": character}},
                    "text": key}]}})
            self.docs[uri] = model_edit(text, self.encoding, start, (line, character), key)
            if key == "\n":
                line, character = line + 1, 0
            else:
                character = start[1] + len(key.encode(_CODECS[self.encoding])) // \
                    _UNIT[self.encoding]
            self.pending_completions.append(self._request("textDocument/inlineCompletion", {
                "textDocument": {"uri": uri}, "position": {"line": line, "character": character},
                "context": {"triggerKind": 2}}))
        for msg_id in self.pending_completions:
            self._expect(msg_id, {None, CANCELLED}, "a completion while typing")
        self.pending_completions.clear()
        self._verify(uri)

    # --- everything else an editor (or a broken one) sends

    def misbehave(self, data: st.DataObject) -> None:
        """One thing a broken or hostile client does."""
        action = data.draw(st.sampled_from([
            self._command, self._malformed_request, self._malformed_notification,
            self._bad_settings, self._garbage, self._initialize_again]))
        action(data)

    def _command(self, data: st.DataObject) -> None:
        """Any `lspilot.*` command, with arguments of any shape."""
        command = data.draw(st.sampled_from(self.commands))
        arguments = data.draw(st.none() | st.lists(json_values, max_size=3))
        if command == "lspilot.selectModel" and arguments and \
                any(isinstance(a, dict) and isinstance(a.get("id"), str) for a in arguments):
            arguments = [None]  # a valid id would switch models: not what this run tests
        params: dict[str, Any] = {"command": command}
        if arguments is not None:
            params["arguments"] = arguments
        self._expect(self._request("workspace/executeCommand", params),
                     {None, INVALID_PARAMS}, f"{command} {arguments!r:.80}")

    def _malformed_request(self, data: st.DataObject) -> None:
        method = data.draw(st.sampled_from(REQUEST_METHODS))
        params = data.draw(json_values)
        msg_id = self._request(method, params, omit_params=data.draw(st.booleans()))
        answer = self._answer(msg_id)
        if answer is not None and "error" not in answer and method not in (
                "workspace/executeCommand", "textDocument/completion",
                "textDocument/inlineCompletion"):
            self._fail(f"{method} with {params!r:.80} got a result")

    def _malformed_notification(self, data: st.DataObject) -> None:
        method = data.draw(st.sampled_from(NOTIFICATION_METHODS))
        params = data.draw(json_values)
        if method in ("textDocument/didOpen", "textDocument/didChange",
                      "textDocument/didClose") and isinstance(params, dict):
            params = [params]  # a well-formed one would change a document behind the model
        self._send({"jsonrpc": "2.0", "method": method, "params": params})
        self._expect(self._request("lspilot/ping", None), {METHOD_NOT_FOUND}, "a ping")

    def _bad_settings(self, data: st.DataObject) -> None:
        # An editor sends its whole configuration: without `models` it would name the
        # default model, whose download and load is not what this run tests.
        settings = data.draw(BAD_SETTINGS)
        settings = {**settings, **self._settings(), "llamaCpp": {
            **self._settings()["llamaCpp"], **settings.get("llamaCpp", {})}}
        wrapped = data.draw(st.booleans())
        self._send({"jsonrpc": "2.0", "method": "workspace/didChangeConfiguration",
                    "params": {"settings": {"lspilot": settings} if wrapped else settings}})
        self._expect(self._request("workspace/executeCommand", {"command": "lspilot.status"}),
                     {None}, "status after bad settings")

    def _garbage(self, data: st.DataObject) -> None:
        self._client.write(frame(data.draw(st.sampled_from(GARBAGE))))
        self.report.sent += 1
        self._expect(self._request("lspilot/ping", None), {METHOD_NOT_FOUND}, "a ping")

    def _initialize_again(self, data: st.DataObject) -> None:
        self._expect(self._request("initialize", {"processId": None, "rootUri": None,
                                                  "capabilities": {}}),
                     {INVALID_REQUEST}, "a second initialize")

    @invariant()
    def lives(self) -> None:
        """The process lives after every step."""
        if self.client is not None:
            self._check_alive()


_CODECS = {"utf-8": "utf-8", "utf-16": "utf-16-le", "utf-32": "utf-32-le"}
_UNIT = {"utf-8": 1, "utf-16": 2, "utf-32": 4}


def _span(change: dict[str, Any]) -> tuple[tuple[int, int], tuple[int, int]]:
    r = change["range"]
    return ((r["start"]["line"], r["start"]["character"]),
            (r["end"]["line"], r["end"]["character"]))


def _inside(text: str, index: int, encoding: str) -> tuple[int, int]:
    """The position one code unit into the astral character at `index`."""
    line_start = max(text.rfind("\n", 0, index), text.rfind("\r", 0, index)) + 1
    line = len(re.findall("\r\n|\r|\n", text[:line_start]))
    return line, line_lengths(text[line_start:index], encoding)[0] + 1

