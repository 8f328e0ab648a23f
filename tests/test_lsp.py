"""End to end over stdio: the real `lspilot serve` process, real llama.cpp, tiny real GGUFs,
driven with the client capabilities that Neovim 0.11 and VS Code send."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import LanguageClient, client_capabilities

from tests.lsp_client import (
    CLIENTS,
    SERVER,
    SMALL_RUNTIME,
    command,
    inline,
    open_doc,
    wait_for_state,
)
from tests.polling import until
from tests.tiny_gguf import TinyModel, build

URI = "file:///work/add.py"


async def start(client: LanguageClient, capabilities: str, model: Path,
                **settings: Any) -> None:
    result = await client.initialize_session(types.InitializeParams(
        capabilities=client_capabilities(capabilities),
        initialization_options={"models": {"autocomplete": str(model)},
                                "llamaCpp": SMALL_RUNTIME, **settings}))
    client.init_result = result  # type: ignore[attr-defined]


@pytest_lsp.fixture(config=SERVER, params=CLIENTS)
async def client(request: pytest.FixtureRequest, lsp_client: LanguageClient,
                 tiny_model: Path) -> Any:
    """A server of its own, for tests that look at counters, messages or the model."""
    await start(lsp_client, request.param, tiny_model)
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(config=SERVER, params=CLIENTS, scope="module")
async def shared(request: pytest.FixtureRequest, lsp_client: LanguageClient,
                 tiny_model: Path) -> Any:
    """One server per client for the module's tests that look only at their own document.

    Without context, so that the documents other tests opened stay out of each prompt.
    """
    await start(lsp_client, request.param, tiny_model, context={"enabled": False})
    yield
    await lsp_client.shutdown_session()


SHARED = pytest.mark.asyncio(loop_scope="module")  # the loop that `shared` runs in


@SHARED
async def test_initialize_advertises_what_editors_need(shared: LanguageClient) -> None:
    client = shared
    caps = client.init_result.capabilities  # type: ignore[attr-defined]
    assert caps.inline_completion_provider is not None
    assert caps.completion_provider is not None
    assert caps.text_document_sync.change == types.TextDocumentSyncKind.Incremental
    assert sorted(caps.execute_command_provider.commands) == [
        "lspilot.accept", "lspilot.edit", "lspilot.explainCompletion", "lspilot.lastCompletion",
        "lspilot.listModels",
        "lspilot.selectModel", "lspilot.stats", "lspilot.status"]
    general = client.capabilities.general
    neovim = bool(general and general.position_encodings)  # only Neovim sends encodings
    assert caps.position_encoding == ("utf-8" if neovim else "utf-16")


async def test_inline_completion_from_the_embedded_model(client: LanguageClient) -> None:
    open_doc(client, URI, "def add(a, b):\n    return \n")
    result = await inline(client, URI, 1, 11)
    assert result is not None
    [item] = result.items
    assert item.insert_text == "a + b"
    assert item.range == types.Range(types.Position(1, 11), types.Position(1, 11))
    await wait_for_state(client, "ready")
    reports = [r for rs in client.progress_reports.values() for r in rs]
    assert isinstance(reports[0], types.WorkDoneProgressBegin)
    assert isinstance(reports[-1], types.WorkDoneProgressEnd)


@SHARED
async def test_incremental_changes_reach_the_prompt(shared: LanguageClient) -> None:
    client, uri = shared, "file:///work/incremental.py"
    open_doc(client, uri, "def add(a, b):\n    return \n")
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[
            types.TextDocumentContentChangePartial(
                range=types.Range(types.Position(0, 4), types.Position(0, 7)), text="plus"),
            types.TextDocumentContentChangePartial(
                range=types.Range(types.Position(1, 11), types.Position(1, 11)), text="("),
        ]))
    result = await inline(client, uri, 1, 12, invoked=True)
    assert result is not None and result.items[0].insert_text == "a + b"
    last = await command(client, "lspilot.lastCompletion")
    assert last["prompt"] == ("<|fim_prefix|>def plus(a, b):\n    return (<|fim_suffix|>\n"
                              "<|fim_middle|>")
    assert last["generatedTokens"] == 3 and last["template"] == "qwen2.5-coder"


@SHARED
async def test_astral_characters_use_the_negotiated_encoding(shared: LanguageClient) -> None:
    client, uri = shared, "file:///work/astral.py"
    line = 's = "😋"; t = '
    open_doc(client, uri, line + "\n")
    utf8 = client.init_result.capabilities.position_encoding == "utf-8"  # type: ignore[attr-defined]
    character = len(line.encode("utf-8")) if utf8 else len(line.encode("utf-16-le")) // 2
    await inline(client, uri, 0, character)
    last = await command(client, "lspilot.lastCompletion")
    assert last["prompt"].startswith(f"<|fim_prefix|>{line}<|fim_suffix|>")


@SHARED
async def test_completion_fallback_for_clients_without_inline(shared: LanguageClient) -> None:
    client, uri = shared, "file:///work/fallback.py"
    open_doc(client, uri, "def add(a, b):\n    return x\n")
    result = await client.text_document_completion_async(types.CompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(1, 12)))
    assert isinstance(result, types.CompletionList) and result.is_incomplete
    [item] = result.items
    # The edit starts at the word being typed so that clients filter by it.
    assert item.text_edit == types.TextEdit(
        range=types.Range(types.Position(1, 11), types.Position(1, 12)), new_text="xa + b")


async def test_settings_change_reports_bad_keys_and_switches_model(
        client: LanguageClient, tmp_path: Path) -> None:
    other = build(tmp_path / "other.gguf", TinyModel(script="42"))
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={
        "lspilot": {"models": {"autocomplete": str(other)}, "llamaCpp": SMALL_RUNTIME,
                    "completion": {"maxTokens": "lots"}}}))
    open_doc(client, URI, "x = \n")
    await wait_for_state(client, "ready")
    result = await inline(client, URI, 0, 4)
    assert result is not None and result.items[0].insert_text == "42"
    [message] = [m for m in client.messages if "maxTokens" in m.message]
    assert message.type == types.MessageType.Warning
    assert "lspilot.completion.maxTokens: expected an integer" in message.message


async def test_a_broken_model_is_reported_once_and_the_server_keeps_serving(
        client: LanguageClient, tmp_path: Path) -> None:
    await wait_for_state(client, "ready")
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={
        "lspilot": {"models": {"autocomplete": str(tmp_path / "missing.gguf")},
                    "llamaCpp": SMALL_RUNTIME}}))
    await wait_for_state(client, "error")
    open_doc(client, URI, "x = \n")
    for _ in range(3):
        result = await inline(client, URI, 0, 4)
        # the previous model keeps serving: a typo in the settings does not end completions
        assert result is not None and result.items[0].insert_text == "a + b"
    errors = [m for m in client.messages if m.type == types.MessageType.Error]
    assert len(errors) == 1 and "model file not found" in errors[0].message


@SHARED
async def test_a_request_for_an_unopened_document_gets_nothing(shared: LanguageClient) -> None:
    assert await inline(shared, "file:///nowhere.py", 0, 0) is None



@pytest_lsp.fixture(config=SERVER)
async def looping_client(lsp_client: LanguageClient, looping_model: Path) -> Any:
    await lsp_client.initialize_session(types.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"),
        initialization_options={"models": {"autocomplete": str(looping_model)},
                                "llamaCpp": SMALL_RUNTIME,
                                "completion": {"maxTokens": 1000}}))
    yield
    await lsp_client.shutdown_session()


def send_inline(client: LanguageClient, msg_id: str) -> asyncio.Future[Any]:
    """An inline-completion request with a known id, so that it can be cancelled."""
    params = types.InlineCompletionParams(
        context=types.InlineCompletionContext(types.InlineCompletionTriggerKind.Automatic),
        text_document=types.TextDocumentIdentifier(uri=URI), position=types.Position(0, 4))
    return asyncio.wrap_future(client.protocol.send_request(
        types.TEXT_DOCUMENT_INLINE_COMPLETION, params, msg_id=msg_id))


async def test_cancel_request_and_supersession(looping_client: LanguageClient) -> None:
    client = looping_client
    open_doc(client, URI, "x = \n")
    await wait_for_state(client, "ready")
    first = send_inline(client, "first")
    client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="first"))
    second = send_inline(client, "second")
    third = send_inline(client, "third")  # the same document: supersedes `second`
    for cancelled in (first, second):
        with pytest.raises(JsonRpcException) as error:
            await cancelled
        assert error.value.code == types.LSPErrorCodes.RequestCancelled
    result = await third
    assert result.items[0].insert_text.startswith("xyzxyz")
    status = await command(client, "lspilot.status")
    counters = status["counters"]
    assert (counters["requests"], counters["completed"], counters["cancelled"]) == (3, 1, 2)


async def test_typing_the_suggestion_is_served_from_the_cache_and_acceptance_counts(
        client: LanguageClient) -> None:
    open_doc(client, URI, "def add(a, b):\n    return \n")
    first = await inline(client, URI, 1, 11)
    assert first is not None and first.items[0].insert_text == "a + b"
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=URI, version=2),
        content_changes=[types.TextDocumentContentChangePartial(
            range=types.Range(types.Position(1, 11), types.Position(1, 11)), text="a +")]))
    second = await inline(client, URI, 1, 14)
    assert second is not None and second.items[0].insert_text == " b"
    accept = second.items[0].command
    assert accept is not None and accept.command == "lspilot.accept"
    assert await command(client, accept.command, *(accept.arguments or [])) is True
    assert await command(client, accept.command, *(accept.arguments or [])) is False
    stats = await command(client, "lspilot.stats")
    # The typed request asked no model (a pause after it may ask again: a refresh).
    assert stats["modelStarts"] - stats["refreshes"] == 1
    assert stats["cacheHits"] == 1 and stats["shown"] == 2
    assert stats["accepted"] == 1 and stats["acceptedChars"] == 2


async def test_a_pause_after_a_cache_hit_refreshes_the_suggestion(
        client: LanguageClient) -> None:
    told: list[str] = []

    @client.feature("lspilot/refresh")
    def refreshed(params: Any) -> None:
        told.append(params.uri)  # pygls hands unknown params as a namedtuple

    open_doc(client, URI, "def add(a, b):\n    return \n")
    first = await inline(client, URI, 1, 11)
    assert first is not None and first.items[0].insert_text == "a + b"
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=URI, version=2),
        content_changes=[types.TextDocumentContentChangePartial(
            range=types.Range(types.Position(1, 11), types.Position(1, 11)), text="a")]))
    second = await inline(client, URI, 1, 12)
    assert second is not None and second.items[0].insert_text == " + b"
    # The tiny model says `a + b` whatever it reads: asked again after `a`, its suggestion
    # differs from the cached rest, and the editor is told to ask.
    await until(lambda: told, what="lspilot/refresh")
    assert told == [URI]
    third = await inline(client, URI, 1, 12)
    assert third is not None and third.items[0].insert_text != " + b"
    stats = await command(client, "lspilot.stats")
    assert (stats["refreshes"], stats["refreshed"]) == (1, 1)


async def test_an_invoked_multiline_completion_offers_its_first_line_too(
        client: LanguageClient, tmp_path: Path) -> None:
    other = build(tmp_path / "multi.gguf", TinyModel(script="x=1\n  y"))
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={
        "lspilot": {"models": {"autocomplete": str(other)}, "llamaCpp": SMALL_RUNTIME}}))
    status = await wait_for_state(client, "ready")
    assert status["model"] == str(other)
    open_doc(client, URI, "def f():\n  \n")
    automatic = await inline(client, URI, 1, 2)
    invoked = await inline(client, URI, 1, 2, invoked=True)
    assert automatic is not None and [i.insert_text for i in automatic.items] == ["x=1\n  y"]
    assert invoked is not None and [i.insert_text for i in invoked.items] == ["x=1\n  y", "x=1"]
