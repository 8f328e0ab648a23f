"""Long lines and large files through the real server over stdio (tiny real GGUF): what a
keystroke and a completion cost, and what memory does over rounds of open, complete, close.

Each case opens one document, sends 20 keystrokes (each followed by a request that is
answered only after it, so its time is the keystroke's), then 5 invoked completions; the
last case opens, completes in and closes a 5 MB file six times and reads the server's
resident memory after each round.

    .venv/bin/python -m bench.big_documents [--json OUT]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.raw_client import RawClient, resident_kib
from tests.tiny_gguf import build


def _code(count: int, end: str = "\n") -> str:
    return "".join(f"def f{i}(x):{end}    return x + {i}{end}{end}" for i in range(count))


CASES: dict[str, tuple[str, tuple[int, int]]] = {
    "32,000-character line, cursor at column 4": ("x = '" + "a" * 32_000 + "'\n", (0, 4)),
    "1 MB line, cursor at column 4": ("x = '" + "a" * 1_000_000 + "'\n", (0, 4)),
    "80 KB with lone-CR line ends": (_code(2_800, "\r"), (300, 4)),
    "300 KB opening with `foo(`": ("foo(\n" + _code(9_000), (5_000, 4)),
    "5 MB of code": (_code(150_000), (200_000, 4)),
}


async def _ms(client: RawClient, method: str, params: Any) -> float:
    started = time.perf_counter()
    answer = await client.request(method, params, timeout=300)
    assert "error" not in answer or answer["error"]["code"] == -32601, answer
    return (time.perf_counter() - started) * 1000


async def case(client: RawClient, name: str, text: str, at: tuple[int, int]
               ) -> dict[str, Any]:
    """Keystroke and completion times for one document."""
    uri = f"file:///bench/{abs(hash(name))}.py"
    client.notify("textDocument/didOpen", {"textDocument": {
        "uri": uri, "languageId": "python", "version": 1, "text": text}})
    opened = await _ms(client, "lspilot/ping", None)
    keys = []
    line, character = at
    for index in range(20):
        client.notify("textDocument/didChange", {
            "textDocument": {"uri": uri, "version": 2 + index}, "contentChanges": [{
                "range": {"start": {"line": line, "character": character + index},
                          "end": {"line": line, "character": character + index}},
                "text": "b"}]})
        keys.append(await _ms(client, "lspilot/ping", None))
    completions = [await _ms(client, "textDocument/inlineCompletion", {
        "textDocument": {"uri": uri}, "position": {"line": line, "character": character + 20},
        "context": {"triggerKind": 1}}) for _ in range(5)]
    client.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
    return {"case": name, "open_ms": round(opened, 1),
            "keystroke_ms": {"p50": round(statistics.median(keys), 1),
                             "max": round(max(keys), 1)},
            "completion_ms": {"p50": round(statistics.median(completions), 1),
                              "max": round(max(completions), 1)}}


async def rounds(client: RawClient) -> list[int]:
    """Resident memory (MB) after each of six rounds of a 5 MB file."""
    text = _code(150_000)
    resident = []
    for index in range(6):
        uri = f"file:///bench/round{index}.py"
        client.notify("textDocument/didOpen", {"textDocument": {
            "uri": uri, "languageId": "python", "version": 1, "text": text}})
        await _ms(client, "textDocument/inlineCompletion", {
            "textDocument": {"uri": uri}, "position": {"line": 3000, "character": 11},
            "context": {"triggerKind": 1}})
        client.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
        await _ms(client, "lspilot/ping", None)
        resident.append(resident_kib(client.pid) // 1024)
    return resident


async def measure(model: Path) -> dict[str, Any]:
    """Every case on one server."""
    client = await RawClient.start()
    try:
        await client.initialize({"models": {"autocomplete": str(model)},
                                 "llamaCpp": {"contextSize": 1024, "threads": 1}})
        await _ms(client, "workspace/executeCommand", {"command": "lspilot.status"})
        results = [await case(client, name, text, at) for name, (text, at) in CASES.items()]
        start = resident_kib(client.pid) // 1024
        return {"cases": results, "rss_mb": {"before": start, "rounds": await rounds(client)}}
    finally:
        await client.close()


def main() -> int:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        figures = asyncio.run(measure(build(Path(folder) / "tiny-qwen.gguf")))
    for row in figures["cases"]:
        print(f"{row['case']:45} open {row['open_ms']:8.1f} ms  keystroke p50 "
              f"{row['keystroke_ms']['p50']:7.1f} max {row['keystroke_ms']['max']:7.1f} ms  "
              f"completion p50 {row['completion_ms']['p50']:7.1f} max "
              f"{row['completion_ms']['max']:7.1f} ms")
    print(f"resident memory: {figures['rss_mb']['before']} MB, then after each round of a "
          f"5 MB file opened, completed in and closed: {figures['rss_mb']['rounds']}")
    if args.json is not None:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
