"""End to end with the real Qwen2.5-Coder 0.5B through `lspilot serve` over stdio."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient, client_capabilities

from tests.lsp_client import SERVER, command, inline, open_doc, wait_for_state

pytestmark = pytest.mark.real_model


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: LanguageClient, real_model: Path) -> Any:
    await lsp_client.initialize_session(types.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"),
        initialization_options={"models": {"autocomplete": str(real_model)}}))
    yield
    await lsp_client.shutdown_session()


async def test_every_request_is_answered_while_the_model_loads(client: LanguageClient) -> None:
    # llama-cpp-python silences llama.cpp by pointing fd 1 at /dev/null during a load;
    # responses written meanwhile used to vanish and leave the client waiting forever.
    states = []
    for _ in range(40):
        status = await asyncio.wait_for(command(client, "lspilot.status"), timeout=10)
        states.append(status["state"])
        await asyncio.sleep(0.01)
    assert "loading" in states


async def test_real_model_completes_the_obvious_body(client: LanguageClient) -> None:
    uri = "file:///work/add.py"
    open_doc(client, uri, "def add(a, b):\n    return \n")
    result = await inline(client, uri, 1, 11)
    assert result is not None
    [item] = result.items
    assert "a + b" in item.insert_text
    status = await wait_for_state(client, "ready")
    assert status["template"] == "qwen2.5-coder"
