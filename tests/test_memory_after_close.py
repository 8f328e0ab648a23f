"""Memory returns when documents close: what is kept per document is dropped on didClose,
and rounds of open, complete, close of a large file do not grow the server."""

from __future__ import annotations

from pathlib import Path

from lspilot.context.similar import WindowCache
from lspilot.lsp.commands import DEBUG_COMMANDS_ENV
from tests.lsp_client import SMALL_RUNTIME
from tests.raw_client import RawClient, resident_kib

ROUNDS = 6
GROWTH_BOUND_MB = 12
"""Over the last rounds, growth under this: the leaks this guards against kept about 9 MB
per round."""


def test_a_forgotten_file_is_cut_into_windows_again() -> None:
    cache = WindowCache()
    first = cache.windows("a.py", "x = 1\n" * 50, 20, 5)
    assert cache.windows("a.py", "x = 1\n" * 50, 20, 5) is first
    cache.forget("a.py")
    assert cache.windows("a.py", "x = 1\n" * 50, 20, 5) is not first


async def test_rounds_of_large_files_open_complete_close_do_not_grow_the_server(
        tiny_model: Path) -> None:
    # 5 MB, and 900 KB: under the size past which documents are read as context, so that
    # completions in the small file cut it into windows too.
    bodies = ["".join(f"def f{i}(x):\n    return x + {i}\n\n" for i in range(count))
              for count in (150_000, 27_000)]
    client = await RawClient.start(env={DEBUG_COMMANDS_ENV: "1"})
    try:
        await client.initialize({"models": {"autocomplete": str(tiny_model)},
                                 "llamaCpp": SMALL_RUNTIME})
        client.notify("textDocument/didOpen", {"textDocument": {
            "uri": "file:///w/small.py", "languageId": "python", "version": 1,
            "text": "def add(a, b):\n    return \n"}})
        resident = []
        for index in range(ROUNDS):
            uris = [f"file:///w/big{index}.py", f"file:///w/mid{index}.py"]
            for uri, body in zip(uris, bodies, strict=True):
                client.notify("textDocument/didOpen", {"textDocument": {
                    "uri": uri, "languageId": "python", "version": 1, "text": body}})
            for target, line in ((uris[0], 3000), (uris[1], 3000), ("file:///w/small.py", 1)):
                answer = await client.request("textDocument/inlineCompletion", {
                    "textDocument": {"uri": target}, "position": {"line": line, "character": 11},
                    "context": {"triggerKind": 1}}, timeout=60)
                assert "error" not in answer
            for uri in uris:
                client.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
            stats = await client.request("workspace/executeCommand",
                                         {"command": "lspilot.stats"})
            assert "error" not in stats
            resident.append(resident_kib(client.pid))
        growth_mb = (resident[-1] - resident[1]) / 1024
        assert growth_mb < GROWTH_BOUND_MB, resident
    finally:
        await client.close()
