"""Hot switching between the two real models over LSP: 0.5B -> 1.5B -> 0.5B, completing on
each, and the server's memory after switching back within 10% of before."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient, client_capabilities

from tests.lsp_client import SERVER, command, inline, open_doc
from tests.test_lsp_models import collect_status, wait_status

pytestmark = pytest.mark.real_model

SMALL, BIG = "qwen2.5-coder:0.5b", "qwen2.5-coder:1.5b"
URI = "file:///work/add.py"


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: LanguageClient, real_model: Path, real_model_1_5b: Path) -> Any:
    lsp_client.statuses = collect_status(lsp_client)  # type: ignore[attr-defined]
    await lsp_client.initialize_session(types.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"),
        initialization_options={"models": {"autocomplete": SMALL}}))
    yield
    await lsp_client.shutdown_session()


async def complete_with(client: LanguageClient, model: str) -> None:
    result = await inline(client, URI, 1, 11, invoked=True)
    assert result is not None and "a + b" in result.items[0].insert_text
    assert (await command(client, "lspilot.lastCompletion"))["model"] == model


async def switch(client: LanguageClient, model: str) -> None:
    statuses = client.statuses  # type: ignore[attr-defined]
    since = len(statuses)
    await command(client, "lspilot.selectModel", {"id": model, "role": "autocomplete"})
    await wait_status(statuses, since, state="loading", model=model)
    await wait_status(statuses, since, state="ready", model=model)


async def test_switch_complete_and_switch_back_returns_the_memory(
        client: LanguageClient, capsys: pytest.CaptureFixture[str]) -> None:
    await wait_status(client.statuses, state="ready", model=SMALL)  # type: ignore[attr-defined]
    open_doc(client, URI, "def add(a, b):\n    return \n")
    for _ in range(2):  # the second run sees every page the first one touched
        await complete_with(client, SMALL)
    before = (await command(client, "lspilot.status"))["rssBytes"]

    await switch(client, BIG)
    await complete_with(client, BIG)
    big = (await command(client, "lspilot.status"))["rssBytes"]

    await switch(client, SMALL)
    for _ in range(2):
        await complete_with(client, SMALL)
    after = (await command(client, "lspilot.status"))["rssBytes"]
    with capsys.disabled():
        print(f"\nresident memory: 0.5B {before / 2**20:.0f} MiB, 1.5B {big / 2**20:.0f} MiB, "
              f"0.5B again {after / 2**20:.0f} MiB ({(after - before) / before:+.1%})")
    assert big > before * 1.3, "the 1.5B model was resident while it served"
    assert abs(after - before) <= 0.10 * before
