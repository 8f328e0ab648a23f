"""A switch back to a model loaded before, over LSP: the real `lspilot serve`, tiny real GGUFs.

Every switch shows `$/progress` titled with its own model and ended with that model ready,
also a switch back made while the other model still loads (the serving model is then not
loaded again, and the other one never serves).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient, client_capabilities

from tests.lsp_client import SERVER, SMALL_RUNTIME, command, inline, open_doc
from tests.test_lsp_models import collect_status, wait_status
from tests.tiny_gguf import TinyModel, build

URI = "file:///work/x.py"


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: LanguageClient, tiny_model: Path) -> Any:
    lsp_client.statuses = collect_status(lsp_client)  # type: ignore[attr-defined]
    await lsp_client.initialize_session(types.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"),
        initialization_options={"models": {"autocomplete": str(tiny_model)},
                                "llamaCpp": SMALL_RUNTIME}))
    yield
    await lsp_client.shutdown_session()


def sequences(client: LanguageClient) -> list[list[Any]]:
    """Each progress sequence the server sent, in the order they were created."""
    return [list(reports) for reports in client.progress_reports.values()]


async def ended(client: LanguageClient, since: int, title: str) -> list[list[Any]]:
    """The sequences created from index `since` on, once one titled `title` and every other
    one has ended (ends may trail the status by a message or two)."""
    for _ in range(400):
        found = sequences(client)[since:]
        if any(s and s[0].title == title for s in found) and all(
                s and isinstance(s[-1], types.WorkDoneProgressEnd) for s in found):
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"no ended progress titled {title!r}: {found}")


async def select(client: LanguageClient, model: str) -> None:
    await command(client, "lspilot.selectModel", {"id": model, "role": "autocomplete"})


async def test_a_switch_back_shows_progress_for_its_own_model(
        client: LanguageClient, tiny_model: Path, tiny_dir: Path) -> None:
    statuses = client.statuses  # type: ignore[attr-defined]
    a, b = str(tiny_model), str(build(tiny_dir / "tiny-back-42.gguf", TinyModel(script="42")))
    await wait_status(statuses, state="ready", model=a)
    for model in (b, a):  # a switch, then a switch back to the model loaded first
        since = len(statuses)
        await select(client, model)
        await wait_status(statuses, since, state="ready", model=model)
    await ended(client, 2, f"lspilot: {a}")
    titles = [s[0].title for s in sequences(client)]
    assert titles == [f"lspilot: {a}", f"lspilot: {b}", f"lspilot: {a}"]

    # Now switch to b and back at once: the switch back has its own progress, ended with
    # a ready. b's ends as switched away when its load was still running (tests/test_slot.py
    # holds a load back to see that b then never serves), or as ready when it was done.
    before = len(sequences(client))
    await select(client, b)
    await select(client, a)
    found = await ended(client, before, f"lspilot: {a}")
    assert found[-1][0].title == f"lspilot: {a}"
    assert found[-1][-1].message == f"{a} ready (qwen2.5-coder)"
    assert all(s[0].title == f"lspilot: {b}" and s[-1].message in (
        f"{b}: switched to {a}", f"{b} ready (qwen2.5-coder)") for s in found[:-1])
    open_doc(client, URI, "x = \n")
    result = await inline(client, URI, 0, 4)
    assert result is not None and result.items[0].insert_text == "a + b"
    status = await command(client, "lspilot.status")
    assert (status["state"], status["model"]) == ("ready", a)
