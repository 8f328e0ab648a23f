"""The short version of bench/storm.py, on a tiny GGUF through the real server: a typing
storm on one and on two documents, and editors over TCP sharing one model. Invariants only
(every request answered, only the newest request per document runs the model, a sensible
completion right after, one model for all editors); the figures are the benchmark's."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types
from pygls.lsp.client import LanguageClient

from bench.storm import ADD, Editor, pace, ready, stop, storm, tcp

# Each test types for seconds at a set pace (a wait by design): in `make test`, not test-fast.
pytestmark = pytest.mark.slow


@pytest.mark.parametrize("documents", [1, 2])
async def test_a_typing_storm_is_answered_and_leaves_the_server_sensible(
        tiny_model: Path, documents: int) -> None:
    figures = await storm(tiny_model, rate=50, seconds=2, documents=documents)
    assert figures["answered"] == figures["requests"] == 100 * documents
    # Keystrokes 20 ms apart supersede each other within the debounce: the model runs only
    # when a keystroke comes late (a hiccup of the client or of a loaded machine) and for the
    # last one. Were every request to start it, this would be 100 per document.
    assert figures["model_starts"] <= figures["requests"] // 4
    for number in range(documents):
        assert figures[f"after_storm_{number}"] == "a + b"


async def test_typing_at_a_pace_runs_the_model_and_shows_suggestions(tiny_model: Path) -> None:
    figures = await pace(tiny_model, rate=8, seconds=2)
    assert figures["answered"] == figures["requests"] == 16
    assert figures["model_finished"] >= 1 and figures["model_starts"] <= figures["requests"]


async def test_editors_over_tcp_share_one_model_and_outlast_each_other(tiny_model: Path) -> None:
    figures = await tcp(tiny_model, editors=4, rate=8, seconds=1.5)
    assert figures["answered"] == figures["requests"] == 4 * 12
    assert figures["sensible_after"] == 4
    assert figures["model_loads"] == 1
    assert figures["server_alive_after_all_left"]


async def test_one_editor_leaving_over_tcp_ends_only_its_connection(tiny_model: Path) -> None:
    import asyncio
    import socket
    import sys

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "lspilot", "serve", "--tcp", f"127.0.0.1:{port}",
        stderr=asyncio.subprocess.DEVNULL)
    try:
        clients = []
        for number in range(3):
            client = LanguageClient(f"editor-{number}", "1")
            for _ in range(100):
                try:
                    await client.start_tcp("127.0.0.1", port)
                    break
                except OSError:
                    await asyncio.sleep(0.1)
            await ready(client, tiny_model)
            clients.append(client)
        await stop(clients.pop(0))  # shutdown and exit from one editor
        for number, client in enumerate(clients):
            editor = Editor(client, f"file:///left/{number}.py", "", 0)
            editor.open()
            editor.insert(ADD.lstrip())
            assert (await editor.invoked()).text == "a + b"
            await stop(client)
        assert server.returncode is None
        late = LanguageClient("late", "1")
        await late.start_tcp("127.0.0.1", port)
        await ready(late, tiny_model)
        status = await late.workspace_execute_command_async(
            types.ExecuteCommandParams(command="lspilot.status"))
        assert status["state"] == "ready"
        await stop(late)
    finally:
        server.terminate()
        await server.wait()
