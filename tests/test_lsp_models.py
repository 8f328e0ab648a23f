"""Model switching, `lspilot/status` and server backends over LSP: the real `lspilot serve`
over stdio, tiny real GGUFs, and the real `llama_cpp.server` process on loopback."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import LanguageClient, client_capabilities

from lspilot.settings import DEFAULT_EDIT_MODEL
from tests.llama_cpp_server import llama_cpp_server
from tests.lsp_client import SERVER, SMALL_RUNTIME, command, inline, open_doc, wait_for_state
from tests.polling import until
from tests.replay_server import free_port
from tests.tiny_gguf import TinyModel, build

URI = "file:///work/x.py"
STATUS_KEYS = {"state", "model", "backend", "template", "latencyMs", "tokensPerSecond",
               "message", "editModel", "editState"}


def collect_status(client: LanguageClient) -> list[dict[str, Any]]:
    """Every `lspilot/status` the server sends, in order."""
    received: list[dict[str, Any]] = []

    @client.feature("lspilot/status")
    def on_status(params: Any) -> None:
        received.append(params._asdict())  # pygls hands unknown params as a namedtuple

    return received


async def wait_status(received: list[dict[str, Any]], since: int = 0,
                      **wanted: Any) -> dict[str, Any]:
    """The first status received (from index `since` on) with the wanted fields."""
    def matches(status: dict[str, Any]) -> bool:
        return all(status.get(k) == v for k, v in wanted.items())

    seen = await until(lambda: received[since:], lambda seen: any(map(matches, seen)),
                       what=f"a status with {wanted}", interval=0.05)
    return next(status for status in seen if matches(status))


@pytest.fixture(scope="module")
def other_model(tiny_dir: Path) -> Path:
    return build(tiny_dir / "tiny-42.gguf", TinyModel(script="42"))


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: LanguageClient, tiny_model: Path) -> Any:
    lsp_client.statuses = collect_status(lsp_client)  # type: ignore[attr-defined]
    await lsp_client.initialize_session(types.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"),
        initialization_options={"models": {"autocomplete": str(tiny_model)},
                                "llamaCpp": SMALL_RUNTIME}))
    yield
    await lsp_client.shutdown_session()


async def test_status_follows_loading_and_completions(client: LanguageClient,
                                                      tiny_model: Path) -> None:
    statuses = client.statuses  # type: ignore[attr-defined]
    ready = await wait_status(statuses, state="ready")
    assert set(ready) == STATUS_KEYS
    assert ready["model"] == str(tiny_model) and ready["backend"] == "embedded"
    assert ready["template"] == "qwen2.5-coder" and ready["message"] is None
    assert statuses[0]["state"] == "loading" and statuses[0]["template"] is None
    open_doc(client, URI, "x = \n")
    await inline(client, URI, 0, 4)
    after = await wait_status(statuses, state="ready", latencyMs=pytest.approx(
        (await command(client, "lspilot.lastCompletion"))["totalMs"], abs=0.1))
    assert after["tokensPerSecond"] is not None and after["tokensPerSecond"] > 0


async def test_select_model_switches_in_the_background(client: LanguageClient,
                                                       tiny_model: Path,
                                                       other_model: Path) -> None:
    statuses = client.statuses  # type: ignore[attr-defined]
    await wait_for_state(client, "ready")
    open_doc(client, URI, "x = \n")
    active = await command(client, "lspilot.selectModel",
                           {"id": str(other_model), "role": "autocomplete"})
    assert active == {"autocomplete": str(other_model), "edit": DEFAULT_EDIT_MODEL}
    await wait_status(statuses, state="ready", model=str(other_model))
    result = await inline(client, URI, 0, 4)
    assert result is not None and result.items[0].insert_text == "42"
    listed = await command(client, "lspilot.listModels")
    assert listed["active"] == {"autocomplete": str(other_model), "edit": DEFAULT_EDIT_MODEL}
    assert {"id": str(other_model), "description": "GGUF file", "cached": True} in \
        listed["models"]
    # A settings change that leaves the model alone keeps the selection. The old model
    # serves while another loads, so an answer alone proves nothing: wait until completions
    # show the change applied (one token of "42"), then no other model may be configured.
    since = len(statuses)
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={
        "models": {"autocomplete": str(tiny_model)}, "llamaCpp": SMALL_RUNTIME,
        "completion": {"maxTokens": 1}}))
    documents = itertools.count()

    async def complete_new_document() -> str | None:
        # A new text each time, so that no answer comes from the cache.
        number = next(documents)
        uri, text = f"file:///work/fresh{number}.py", f"x{number} = \n"
        open_doc(client, uri, text)
        result = await inline(client, uri, 0, len(text) - 1)
        return result.items[0].insert_text if result is not None and result.items else None

    answer = await until(complete_new_document, lambda text: text != "42",
                         what="an answer under the new settings")
    assert answer == "4"
    status = await command(client, "lspilot.status")
    assert (status["state"], status["model"]) == ("ready", str(other_model))
    assert [s["model"] for s in statuses[since:]] == [str(other_model)] * (len(statuses) - since)
    # ... and the edit role is chosen the same way.
    await command(client, "lspilot.selectModel", {"id": "ollama:qwen2.5-coder", "role": "edit"})
    listed = await command(client, "lspilot.listModels")
    assert listed["active"] == {"autocomplete": str(other_model), "edit": "ollama:qwen2.5-coder"}
    reports = [r for rs in client.progress_reports.values() for r in rs]
    assert sum(isinstance(r, types.WorkDoneProgressBegin) for r in reports) == 2


@pytest_lsp.fixture(config=SERVER, scope="module")
async def shared(lsp_client: LanguageClient, tiny_model: Path) -> Any:
    """One server for the tests whose requests leave it as it was."""
    await lsp_client.initialize_session(types.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"),
        initialization_options={"models": {"autocomplete": str(tiny_model)},
                                "llamaCpp": SMALL_RUNTIME}))
    yield
    await lsp_client.shutdown_session()


DOCUMENTS = itertools.count()


@pytest.mark.parametrize(("argument", "message"), [
    ({"id": "x.gguf", "role": "chat"}, "role must be one of autocomplete, edit"),
    ({"role": "autocomplete"}, "id must be a model id"),
    ({"id": "ollama:", "role": "autocomplete"}, "name the model after `ollama:`"),
    ("qwen2.5-coder:1.5b", "expected one argument"),
])
@pytest.mark.asyncio(loop_scope="module")  # the loop that `shared` runs in
async def test_bad_selections_are_refused_and_the_server_keeps_serving(
        shared: LanguageClient, argument: Any, message: str) -> None:
    with pytest.raises(JsonRpcException, match=message):
        await command(shared, "lspilot.selectModel", argument)
    number = next(DOCUMENTS)  # a new document and text: no answer from the cache
    uri, text = f"file:///work/after-refusal-{number}.py", f"x{number} = "
    open_doc(shared, uri, text + "\n")
    result = await inline(shared, uri, 0, len(text))
    assert result is not None and result.items[0].insert_text == "a + b"


async def test_a_model_that_cannot_be_loaded_is_an_error_status(client: LanguageClient,
                                                                tmp_path: Path) -> None:
    statuses = client.statuses  # type: ignore[attr-defined]
    await wait_for_state(client, "ready")
    missing = str(tmp_path / "missing.gguf")
    await command(client, "lspilot.selectModel", {"id": missing, "role": "autocomplete"})
    failed = await wait_status(statuses, state="error", model=missing)
    assert "model file not found" in failed["message"]


@pytest.fixture
def server_port() -> int:
    return free_port()


@pytest_lsp.fixture(config=SERVER)
async def server_client(lsp_client: LanguageClient, tiny_model: Path, server_port: int,
                        tmp_path: Path) -> Any:
    stack = ExitStack()
    base = stack.enter_context(llama_cpp_server({"tiny": tiny_model}, server_port,
                                                log=tmp_path / "server.log"))
    lsp_client.statuses = collect_status(lsp_client)  # type: ignore[attr-defined]
    lsp_client.stack = stack  # type: ignore[attr-defined]
    await lsp_client.initialize_session(types.InitializeParams(
        capabilities=client_capabilities("neovim@v0.11.0"),
        initialization_options={"models": {"autocomplete": "openai:tiny"},
                                "servers": {"openaiUrl": base, "connectTimeout": 1.0}}))
    yield
    await lsp_client.shutdown_session()
    stack.close()


async def test_a_server_backend_fails_once_and_recovers_without_restart(
        server_client: LanguageClient, tiny_model: Path, server_port: int,
        tmp_path: Path) -> None:
    client = server_client
    statuses = client.statuses  # type: ignore[attr-defined]
    await wait_status(statuses, state="ready", backend="openai", template="qwen2.5-coder")
    open_doc(client, URI, "def add(a, b):\n    return \n")
    result = await inline(client, URI, 1, 11)
    assert result is not None and result.items[0].insert_text == "a + b"

    client.stack.close()  # type: ignore[attr-defined]  # the inference server goes down
    # Other documents than the one above: its completion would come from the cache.
    for number in range(3):
        other = f"file:///work/down{number}.py"
        open_doc(client, other, "def add(a, b):\n    return \n")
        result = await inline(client, other, 1, 11)
        assert result is not None and not result.items
    errors = [m for m in client.messages if m.type == types.MessageType.Error]
    assert len(errors) == 1 and "cannot reach the OpenAI-compatible server" in errors[0].message
    down = await wait_status(statuses, state="error")
    assert "is it running?" in down["message"]

    with llama_cpp_server({"tiny": tiny_model}, server_port,
                          log=tmp_path / "server-again.log"):
        since = len(statuses)
        again = "file:///work/again.py"
        open_doc(client, again, "def add(a, b):\n    return \n")
        result = await inline(client, again, 1, 11)
        assert result is not None and result.items[0].insert_text == "a + b"
        await wait_status(statuses, since, state="ready", message=None)


@pytest.fixture
def nothing_listening() -> Iterator[str]:
    yield f"http://127.0.0.1:{free_port()}/v1"


@pytest_lsp.fixture(config=SERVER)
async def early_client(lsp_client: LanguageClient, tiny_model: Path, server_port: int) -> Any:
    lsp_client.statuses = collect_status(lsp_client)  # type: ignore[attr-defined]
    await lsp_client.initialize_session(types.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"),
        initialization_options={"models": {"autocomplete": "openai:tiny"},
                                "servers": {"openaiUrl": f"http://127.0.0.1:{server_port}/v1",
                                            "connectTimeout": 1.0}}))
    yield
    await lsp_client.shutdown_session()


# Waits out the retry interval (models/slot.py: RETRY_SECONDS, 5 s) end to end; the fast
# tier has tests/test_slot.py, which retries on an injected clock.
@pytest.mark.slow
async def test_a_server_down_at_start_is_connected_once_it_comes_up(
        early_client: LanguageClient, tiny_model: Path, server_port: int,
        tmp_path: Path) -> None:
    client = early_client
    failed = await wait_status(client.statuses, state="error")  # type: ignore[attr-defined]
    assert "cannot reach" in failed["message"]
    open_doc(client, URI, "x = \n")
    result = await inline(client, URI, 0, 4)
    assert result is not None and not result.items
    with llama_cpp_server({"tiny": tiny_model}, server_port,
                          log=tmp_path / "server-late.log"):
        # The slot tries again at most every RETRY_SECONDS, on a request.
        result = await until(lambda: inline(client, URI, 0, 4),
                             lambda result: result is not None and result.items, timeout=20,
                             interval=0.2, what="completions from the server once it is up")
        assert result is not None and result.items[0].insert_text == "a + b"
