"""Backend faults end to end: the real `lspilot serve` over stdio, a real HTTP server on
loopback that fails on demand (`tests/fault_server.py`), and tiny real GGUFs broken in the
ways files break.

Each fault: every request is still answered (empty is fine) within the configured timeouts,
the user gets one message per distinct fault however many requests meet it, and serving
resumes without a restart once the cause is gone.
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import struct
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from tests.fault_server import FaultServer, fault_server
from tests.lsp_client import SERVER, SMALL_RUNTIME, command, inline, open_doc, wait_for_state
from tests.test_lsp_models import collect_status, wait_status

ADD = "def add(a, b):\n    return \n"


def errors(client: LanguageClient) -> list[str]:
    """The error messages shown to the user so far."""
    return [m.message for m in client.messages if m.type == types.MessageType.Error]


class Documents:
    """Fresh documents, so that no answer comes from the typed-ahead cache."""

    def __init__(self, client: LanguageClient) -> None:
        self.client = client
        self.count = 0

    async def complete(self) -> str | None:
        """Open a new document and complete in it; the first item's text, or None."""
        self.count += 1
        uri = f"file:///work/doc{self.count}.py"
        open_doc(self.client, uri, ADD)
        result = await inline(self.client, uri, 1, 11)
        assert result is not None, "every request gets an answer"
        return result.items[0].insert_text if result.items else None


@pytest.fixture(scope="module")
def server() -> Iterator[FaultServer]:
    with fault_server() as running:
        yield running


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: LanguageClient, server: FaultServer) -> Any:
    server.behaviour.fault = "healthy"
    lsp_client.statuses = collect_status(lsp_client)  # type: ignore[attr-defined]
    await lsp_client.initialize_session(types.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"),
        initialization_options={"models": {"autocomplete": "openai:tiny"},
                                "servers": {"openaiUrl": f"{server.url}/v1",
                                            "connectTimeout": 0.5, "readTimeout": 1.0}}))
    yield
    await lsp_client.shutdown_session()


FAULTS: list[tuple[str, Callable[[FaultServer], None], Callable[[FaultServer], None], str]] = [
    ("refused", lambda s: s.stop(), lambda s: s.start(), "cannot reach"),
    ("stall", lambda s: setattr(s.behaviour, "fault", "stall"), lambda s: None,
     "did not answer in time"),
    ("error500", lambda s: setattr(s.behaviour, "fault", "error500"), lambda s: None,
     "answered 500"),
    ("garbage", lambda s: setattr(s.behaviour, "fault", "garbage"), lambda s: None,
     "not JSON"),
    ("cut", lambda s: setattr(s.behaviour, "fault", "cut"), lambda s: None, "peer closed"),
    ("huge_line", lambda s: setattr(s.behaviour, "fault", "huge_line"), lambda s: None,
     "line longer than"),
]


@pytest.mark.slow  # waits out a stall and a retry interval: in `make test`, not test-fast
async def test_each_fault_is_told_once_and_serving_resumes_without_a_restart(
        client: LanguageClient, server: FaultServer) -> None:
    await wait_status(client.statuses, state="ready")  # type: ignore[attr-defined]
    documents = Documents(client)
    assert await documents.complete() == "a + b"
    for name, start, end, says in FAULTS:
        told = len(errors(client))
        start(server)
        for _ in range(3):
            assert await documents.complete() is None, name
        new = errors(client)[told:]
        assert len(new) == 1 and says in new[0], (name, new)
        end(server)
        server.behaviour.fault = "healthy"
        assert await documents.complete() == "a + b", name
        status = await command(client, "lspilot.status")
        assert status["state"] == "ready", (name, status)
    # An answer that ignores the token limit is cut at it; nothing to tell.
    told = len(errors(client))
    server.behaviour.fault = "huge"
    await documents.complete()  # answered; what is shown of "xxxxxxxx xxxxxxxx ..." varies
    raw = (await command(client, "lspilot.lastCompletion"))["raw"]
    assert 0 < len(raw) <= 64 * 32 and errors(client)[told:] == []
    server.behaviour.fault = "healthy"
    assert await documents.complete() == "a + b"
    # A fault that comes back after a recovery is told again.
    server.behaviour.fault = "error500"
    assert await documents.complete() is None
    assert len(errors(client)) == told + 1
    server.behaviour.fault = "healthy"


@pytest_lsp.fixture(config=SERVER)
async def early_client(lsp_client: LanguageClient, server: FaultServer) -> Any:
    server.stop()
    lsp_client.statuses = collect_status(lsp_client)  # type: ignore[attr-defined]
    await lsp_client.initialize_session(types.InitializeParams(
        capabilities=client_capabilities("neovim@v0.11.0"),
        initialization_options={"models": {"autocomplete": "openai:tiny"},
                                "servers": {"openaiUrl": f"{server.url}/v1",
                                            "connectTimeout": 0.5, "readTimeout": 1.0}}))
    yield
    await lsp_client.shutdown_session()
    server.start()


@pytest.mark.slow  # waits out the retry interval: in `make test`, not test-fast
async def test_a_server_down_at_start_is_one_message_not_one_per_request(
        early_client: LanguageClient, server: FaultServer) -> None:
    client = early_client
    await wait_status(client.statuses, state="error")  # type: ignore[attr-defined]
    documents = Documents(client)
    for _ in range(3):
        assert await documents.complete() is None
    assert len(errors(client)) == 1 and "cannot reach" in errors(client)[0]
    server.start()
    for _ in range(100):  # the slot tries the server again at most every 5 s, on a request
        if await documents.complete() == "a + b":
            break
        await asyncio.sleep(0.2)
    assert await documents.complete() == "a + b"
    assert len(errors(client)) == 1


# --- broken model files

def corruptions(good: bytes) -> dict[str, bytes]:
    """The tiny model broken in the ways files break: cut short, overwritten, not a model."""
    rng = random.Random(14)

    def flipped(start: int, end: int, count: int) -> bytes:
        data = bytearray(good)
        for _ in range(count):
            data[rng.randrange(start, end)] ^= 0xFF
        return bytes(data)

    return {
        "empty": b"",
        "not-a-model": b"this is not a model\n" * 100,
        "bad-magic": b"XXXX" + good[4:],
        "cut-after-header": good[:24],
        "cut-in-half": good[:len(good) // 2],
        "cut-at-the-end": good[:len(good) * 99 // 100],
        "huge-key-count": good[:16] + struct.pack("<Q", 2**62) + good[24:],
        "metadata-overwritten": flipped(24, 4000, 40),
        "weights-overwritten": flipped(len(good) // 2, len(good), 200),
    }


BROKEN = Path(tempfile.gettempdir()) / f"lspilot-broken-{os.getpid()}.gguf"
"""Named before the server starts (its command line), written before it loads (initialized)."""


@pytest_lsp.fixture(config=ClientServerConfig(
    server_command=[sys.executable, "-m", "lspilot", "serve", "--model", str(BROKEN)]))
async def broken_client(lsp_client: LanguageClient, tiny_model: Path) -> Any:
    # A GGUF magic, then noise: lengths in the header that mean gigabytes.
    BROKEN.write_bytes(b"GGUF" + random.Random(1).randbytes(4096))
    await lsp_client.initialize_session(types.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"),
        initialization_options={"llamaCpp": SMALL_RUNTIME}))
    yield
    await lsp_client.shutdown_session()
    BROKEN.unlink()


async def test_a_broken_model_file_is_one_message(broken_client: LanguageClient,
                                                  tiny_model: Path) -> None:
    client = broken_client
    await wait_for_state(client, "error")
    documents = Documents(client)
    for _ in range(3):
        assert await documents.complete() is None
    assert len(errors(client)) == 1 and "not a readable GGUF file" in errors(client)[0]
    await command(client, "lspilot.selectModel", {"id": str(tiny_model), "role": "autocomplete"})
    await wait_for_state(client, "ready")
    assert await documents.complete() == "a + b"


@pytest_lsp.fixture(config=SERVER)
async def model_client(lsp_client: LanguageClient, tmp_path: Path, tiny_model: Path) -> Any:
    model = tmp_path / "model.gguf"
    shutil.copy(tiny_model, model)
    lsp_client.statuses = collect_status(lsp_client)  # type: ignore[attr-defined]
    lsp_client.model = model  # type: ignore[attr-defined]
    await lsp_client.initialize_session(types.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"),
        initialization_options={"models": {"autocomplete": str(model)},
                                "llamaCpp": SMALL_RUNTIME}))
    yield
    await lsp_client.shutdown_session()


async def test_each_broken_model_file_is_one_message_and_the_old_model_serves_on(
        model_client: LanguageClient, tmp_path: Path, tiny_model: Path) -> None:
    client = model_client
    statuses = client.statuses  # type: ignore[attr-defined]
    await wait_for_state(client, "ready")
    documents = Documents(client)
    for name, data in corruptions(tiny_model.read_bytes()).items():
        broken = tmp_path / f"{name}.gguf"
        broken.write_bytes(data)
        told, since = len(errors(client)), len(statuses)
        await command(client, "lspilot.selectModel", {"id": str(broken), "role": "autocomplete"})
        if name == "weights-overwritten":  # llama.cpp cannot tell: it loads, and answers
            await wait_status(statuses, since, state="ready", model=str(broken))
            await documents.complete()
            continue
        await wait_status(statuses, since, state="error", model=str(broken))
        assert await documents.complete() == "a + b", name  # the loaded model serves on
        assert len(errors(client)[told:]) == 1, (name, errors(client)[told:])
    model = client.model  # type: ignore[attr-defined]
    await command(client, "lspilot.selectModel", {"id": str(model), "role": "autocomplete"})
    await wait_status(statuses, len(statuses) - 1, state="ready", model=str(model))
    assert await documents.complete() == "a + b"


async def test_a_model_file_deleted_while_loaded_serves_on_and_a_reload_is_one_message(
        model_client: LanguageClient, tiny_model: Path) -> None:
    client = model_client
    statuses = client.statuses  # type: ignore[attr-defined]
    model: Path = client.model  # type: ignore[attr-defined]
    await wait_for_state(client, "ready")
    documents = Documents(client)
    model.unlink()
    assert await documents.complete() == "a + b"  # the loaded model does not need its file
    since = len(statuses)
    bigger = {**SMALL_RUNTIME, "contextSize": 2048}
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={
        "models": {"autocomplete": str(model)}, "llamaCpp": bigger}))
    failed = await wait_status(statuses, since, state="error")
    assert "model file not found" in failed["message"]
    for _ in range(2):
        assert await documents.complete() == "a + b"
    assert len(errors(client)) == 1
    shutil.copy(tiny_model, model)  # the file is back: the next change loads it
    since = len(statuses)
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={
        "models": {"autocomplete": str(model)}, "llamaCpp": {**bigger, "batchSize": 256}}))
    await wait_status(statuses, since, state="ready")
    assert await documents.complete() == "a + b" and len(errors(client)) == 1
