"""Hostile and careless clients over stdio, against the real server with a tiny real GGUF:
every request is answered, the LSP life cycle holds, nothing the client does wrong becomes
a popup, and text that UTF-8 cannot encode never enters a document.

The client is `tests.raw_client` (pytest-lsp's client cannot send malformed messages).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from lspilot.lsp.commands import DEBUG_COMMANDS_ENV
from lspilot.lsp.wire import MAX_MESSAGE_BYTES
from tests.lsp_client import SMALL_RUNTIME
from tests.raw_client import RawClient, frame

PARSE_ERROR, INVALID_REQUEST, INVALID_PARAMS = -32700, -32600, -32602
SERVER_NOT_INITIALIZED = -32002
ANSWER_S = 60
"""How long a request may take before it counts as never answered (a hang, not a speed)."""


def options(model: Path) -> dict[str, Any]:
    return {"models": {"autocomplete": str(model)}, "llamaCpp": SMALL_RUNTIME}


@pytest.fixture
async def raw() -> AsyncIterator[RawClient]:
    """A server not yet initialized, with the debug command registered."""
    client = await RawClient.start(env={DEBUG_COMMANDS_ENV: "1"})
    yield client
    await client.close()


@pytest.fixture
async def server(raw: RawClient, tiny_model: Path) -> RawClient:
    """An initialized server (utf-16 positions), the tiny model loaded."""
    await raw.initialize(options(tiny_model))
    assert (await raw.request("workspace/executeCommand",
                              {"command": "lspilot.status"}))["result"]["state"]
    return raw


def open_doc(client: RawClient, uri: str, text: str, language: str = "python") -> None:
    client.notify("textDocument/didOpen", {"textDocument": {
        "uri": uri, "languageId": language, "version": 1, "text": text}})


def change(client: RawClient, uri: str, version: int, start: tuple[int, int],
           end: tuple[int, int], text: str) -> None:
    client.notify("textDocument/didChange", {
        "textDocument": {"uri": uri, "version": version},
        "contentChanges": [{"range": {"start": {"line": start[0], "character": start[1]},
                                      "end": {"line": end[0], "character": end[1]}},
                            "text": text}]})


async def inline(client: RawClient, uri: str, line: int, character: int) -> dict[str, Any]:
    return await client.request("textDocument/inlineCompletion", {
        "textDocument": {"uri": uri}, "position": {"line": line, "character": character},
        "context": {"triggerKind": 1}}, timeout=ANSWER_S)


async def document(client: RawClient, uri: str) -> str | None:
    answer = await client.request("workspace/executeCommand", {
        "command": "lspilot.debug.document", "arguments": [uri, True]})
    result = answer["result"]
    return None if result is None else str(result["text"])


def error_code(answer: dict[str, Any]) -> int | None:
    error = answer.get("error")
    return None if error is None else int(error["code"])


INLINE_AT = {"textDocument": {"uri": "file:///w/a.py"},
             "position": {"line": 0, "character": 0}, "context": {"triggerKind": 1}}


# Each row is refused by the same running server: one bad request never costs the next.
NOT_PARSING = [
    ("textDocument/inlineCompletion", {}),
    ("textDocument/inlineCompletion", {**INLINE_AT, "context": None}),
    ("textDocument/inlineCompletion", {**INLINE_AT, "position": {"line": -1, "character": 0}}),
    ("textDocument/inlineCompletion", None),
    ("textDocument/completion", {"textDocument": {"uri": 5}, "position": {}}),
    ("workspace/executeCommand", None),
    ("workspace/executeCommand", []),
    ("workspace/executeCommand", {"command": "lspilot.accept", "arguments": ["x"]}),
    ("workspace/executeCommand", {"command": "lspilot.accept"}),  # no arguments at all
    ("workspace/executeCommand", {"command": "lspilot.selectModel", "arguments": [1, 2]}),
    ("workspace/executeCommand", {"command": "lspilot.nope"}),
]


async def test_a_request_whose_params_do_not_parse_gets_invalid_params(
        server: RawClient) -> None:
    for method, params in NOT_PARSING:
        answer = await server.request(method, params, timeout=ANSWER_S)
        assert error_code(answer) == INVALID_PARAMS, (method, params, answer)
        assert server.shown() == [], (method, params)  # a client's mistake is logged, not shown
        assert error_code(await server.request("workspace/executeCommand",
                                               {"command": "lspilot.stats"})) is None


async def test_messages_that_are_not_json_rpc_are_refused_with_an_answer(
        server: RawClient) -> None:
    bodies = [
        b"{not json",
        b'{"jsonrpc": "2.0", "id": 1, "method": "x", "params": "\xff\xfe"}',  # bad UTF-8
        b"[" * 100_000 + b"]" * 100_000,                                   # deep nesting
        b'{"jsonrpc": "2.0", "id": 7, "method": "x", "params": NaN}',     # not JSON
        b'[{"jsonrpc": "2.0", "id": 8, "method": "shutdown"}]',            # a batch
        b"",
    ]
    for body in bodies:
        server.write(frame(body))
    await server.drain()
    answers = await server.request("workspace/executeCommand", {"command": "lspilot.stats"})
    assert error_code(answers) is None
    refusals = [error_code(a) for a in server.responses.get(None, [])]
    assert refusals == [PARSE_ERROR] * 4 + [INVALID_REQUEST, PARSE_ERROR]
    assert server.shown() == []


async def test_a_request_with_a_bad_envelope_is_answered_with_its_id(server: RawClient) -> None:
    server.send({"jsonrpc": "1.0", "id": 41, "method": "lspilot/x"})
    server.send({"jsonrpc": "2.0", "id": 1.5, "method": "lspilot/x"})
    server.send({"jsonrpc": "2.0", "id": 42, "method": ["not", "a", "name"]})
    server.send({"jsonrpc": "2.0", "id": 43, "method": "textDocument/didSave",
                 "params": {"textDocument": {"uri": "file:///w/a.py"}}})
    await server.drain()
    assert error_code(await server.response(41)) == INVALID_REQUEST
    assert error_code(await server.response(42)) == INVALID_REQUEST
    assert error_code(await server.response(43)) == -32601  # a notification, sent as a request
    assert error_code(await server.response(None)) == INVALID_REQUEST  # id 1.5 cannot be echoed


async def test_an_oversized_message_is_read_past_and_refused(server: RawClient) -> None:
    body = json.dumps({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {
        "textDocument": {"uri": "file:///w/huge.py", "languageId": "python", "version": 1,
                         "text": "x" * MAX_MESSAGE_BYTES}}}).encode()
    server.write(frame(body))
    await server.drain()
    assert error_code(await server.response(None, ANSWER_S)) == INVALID_REQUEST
    assert await document(server, "file:///w/huge.py") is None
    assert server.shown() == []


async def test_junk_headers_cost_only_themselves(server: RawClient) -> None:
    server.write(b"X-Junk: yes\r\n" + b"h" * 100_000 + b"\r\nContent-Length: 99999999999999"
                 b"99999999\r\n\r\n")
    open_doc(server, "file:///w/a.py", "x = 1\n")
    await server.drain()
    assert await document(server, "file:///w/a.py") == "x = 1\n"


async def test_a_request_before_initialize_gets_server_not_initialized(raw: RawClient,
                                                                      tiny_model: Path) -> None:
    answer = await raw.request("textDocument/inlineCompletion", INLINE_AT)
    assert error_code(answer) == SERVER_NOT_INITIALIZED
    open_doc(raw, "file:///w/a.py", "x = 1\n")  # a notification before initialize: dropped
    assert error_code(await raw.request("shutdown")) == SERVER_NOT_INITIALIZED
    await raw.initialize(options(tiny_model))
    assert await document(raw, "file:///w/a.py") is None
    again = await raw.request("initialize", {"processId": None, "rootUri": None,
                                             "capabilities": {}})
    assert error_code(again) == INVALID_REQUEST
    assert raw.shown() == []


async def test_requests_after_shutdown_get_invalid_request_and_exit_ends(server: RawClient
                                                                        ) -> None:
    assert error_code(await server.request("shutdown")) is None
    assert error_code(await server.request("textDocument/inlineCompletion", INLINE_AT)) \
        == INVALID_REQUEST
    assert error_code(await server.request("shutdown")) == INVALID_REQUEST
    server.notify("exit")
    await server.drain()
    assert await asyncio.wait_for(server.process.wait(), ANSWER_S) == 0


async def test_exit_before_initialize_ends_with_status_1(raw: RawClient) -> None:
    raw.notify("exit")
    await raw.drain()
    assert await asyncio.wait_for(raw.process.wait(), ANSWER_S) == 1


async def test_a_lone_surrogate_in_one_file_breaks_no_completion(server: RawClient) -> None:
    # JSON escapes carry what UTF-8 cannot: an editor's JS string with half an emoji.
    open_doc(server, "file:///w/notes.txt", "notes\n", "plaintext")
    change(server, "file:///w/notes.txt", 2, (0, 0), (0, 0), "\ud83d")
    open_doc(server, "file:///w/add.py", "def add(a, b):\n    return \n")
    answer = await inline(server, "file:///w/add.py", 1, 11)
    assert error_code(answer) is None and answer["result"]["items"][0]["insertText"] == "a + b"
    assert await document(server, "file:///w/notes.txt") == "\ufffdnotes\n"
    change(server, "file:///w/add.py", 2, (0, 0), (0, 0), "# \udc00 \ud83d\ude00\n")
    assert await document(server, "file:///w/add.py") == \
        "# \ufffd 😀\ndef add(a, b):\n    return \n"
    answer = await inline(server, "file:///w/add.py", 2, 11)
    assert error_code(answer) is None and answer["result"]["items"][0]["insertText"] == "a + b"
    assert server.shown() == []


SPLIT_SURROGATES = [
    ((0, 6), (0, 7), "", 'x = "\ufffd"\n'),          # delete the low half
    ((0, 5), (0, 6), "", 'x = "\ufffd"\n'),          # delete the high half
    ((0, 6), (0, 6), "y", 'x = "\ufffdy\ufffd"\n'),  # type between the halves
    ((0, 6), (0, 4), "=", 'x = =\ufffd"\n'),        # a reversed range, from the middle
]


async def test_an_edit_that_splits_a_surrogate_pair_leaves_u_fffd(server: RawClient) -> None:
    for case, (start, end, new, expected) in enumerate(SPLIT_SURROGATES):
        uri = f"file:///w/e{case}.py"
        open_doc(server, uri, 'x = "😀"\n')
        change(server, uri, 2, start, end, new)
        assert await document(server, uri) == expected, case
        answer = await inline(server, uri, 0, 4)
        assert error_code(answer) is None, case
        change(server, uri, 3, (1, 0), (1, 0), "z")  # later edits still apply
        assert await document(server, uri) == expected + "z", case


@pytest.mark.parametrize("text", [
    "x = '" + "a" * 1_000_000 + "'\n",                        # a 1 MB line
    "".join(f"def f{i}(x):\r    return x\r\r" for i in range(3_000)),  # lone-CR line ends
    "foo(\n" + "".join(f"def f{i}(x):\n    return x\n\n" for i in range(10_000)),
])
async def test_long_lines_and_large_files_are_answered(server: RawClient, text: str) -> None:
    open_doc(server, "file:///w/big.py", text)
    answer = await inline(server, "file:///w/big.py", 0, 4)
    assert error_code(answer) is None, answer
    first_line = text.split("\n", 1)[0].split("\r", 1)[0]
    plain = await server.request("textDocument/completion", {  # the word before the cursor
        "textDocument": {"uri": "file:///w/big.py"},
        "position": {"line": 0, "character": len(first_line)}}, timeout=ANSWER_S)
    assert error_code(plain) is None, plain
    change(server, "file:///w/big.py", 2, (0, 4), (0, 4), "b")
    assert error_code(await inline(server, "file:///w/big.py", 0, 5)) is None
    assert await document(server, "file:///w/big.py") == text[:4] + "b" + text[4:]


@pytest.mark.parametrize(("offered", "character", "encoding"), [
    ("utf-8", 6, "utf-8"), ("utf-16", 3, "utf-16"), ("utf-32", 2, "utf-32"),
    (None, 3, "utf-16"),  # VS Code offers none: utf-16, LSP's default
])
async def test_positions_count_in_the_negotiated_encoding(
        raw: RawClient, tiny_model: Path, offered: str | None, character: int,
        encoding: str) -> None:
    answer = await raw.initialize(options(tiny_model), offered)
    assert answer["result"]["capabilities"]["positionEncoding"] == encoding
    open_doc(raw, "file:///w/u.py", "é😀 = 1\n")
    change(raw, "file:///w/u.py", 2, (0, character), (0, character), "x")
    assert await document(raw, "file:///w/u.py") == "é😀x = 1\n"


async def test_nan_never_reaches_a_setting(server: RawClient) -> None:
    # `suffixShare: NaN` once made every completion fail with "cannot convert float NaN to
    # integer"; NaN is not JSON, and the message carrying it is refused whole.
    server.write(frame(b'{"jsonrpc": "2.0", "method": "workspace/didChangeConfiguration", '
                       b'"params": {"settings": {"completion": {"suffixShare": NaN}}}}'))
    open_doc(server, "file:///w/add.py", "def add(a, b):\n    return \n")
    answer = await inline(server, "file:///w/add.py", 1, 11)
    assert answer["result"]["items"][0]["insertText"] == "a + b"
    assert error_code(await server.response(None)) == PARSE_ERROR
