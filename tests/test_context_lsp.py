"""End to end: code that exists only in other, unopened workspace files reaches the prompt.

The real server runs over stdio with a tiny real model, on a real git repository made in a
temporary folder; `lspilot.explainCompletion` shows what went into the prompt and why.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient, client_capabilities

from tests.lsp_client import (
    EVERY_SOURCE,
    SERVER,
    SMALL_RUNTIME,
    command,
    inline,
    open_doc,
    wait_for_state,
)
from tests.polling import until

GEOMETRY = '''"""Vectors."""


def scale_vector(vector, factor):
    """Multiply every coordinate of `vector` by `factor`."""
    return [x * factor for x in vector]


def unrelated():
    return 1
'''

REPORT = '''from shop.geometry import scale_vector


def double(points):
    return scale_vector(points, 2.0)
'''

APP = ('from .geometry import scale_vector\n\n\n'
       'def enlarge(shape, by):\n    corners = shape.corners\n    return scale_vector(\n')


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "shop-repo"
    (root / "shop").mkdir(parents=True)
    (root / "shop" / "__init__.py").write_text("")
    (root / "shop" / "geometry.py").write_text(GEOMETRY)
    (root / "shop" / "report.py").write_text(REPORT)
    (root / "shop" / "app.py").write_text(APP)
    (root / ".env").write_text("API_KEY=sk-live-do-not-leak-1234\n")
    (root / ".gitignore").write_text("build/\n")
    (root / "build").mkdir()
    (root / "build" / "generated.py").write_text("def scale_vector_ignored(): pass\n")
    git(root, "init", "-q")
    git(root, "-c", "user.name=t", "-c", "user.email=t@t", "add", "-A")
    git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "start")
    # Uncommitted work in a related file.
    (root / "shop" / "geometry.py").write_text(GEOMETRY + "\n\ndef rotate(vector, angle):\n"
                                               "    return vector  # work in progress\n")
    return root


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: LanguageClient, tiny_model: Path, workspace: Path) -> Any:
    await lsp_client.initialize_session(types.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"),
        root_uri=workspace.as_uri(),
        workspace_folders=[types.WorkspaceFolder(uri=workspace.as_uri(), name="shop-repo")],
        initialization_options={"models": {"autocomplete": str(tiny_model)},
                                "llamaCpp": SMALL_RUNTIME, "context": EVERY_SOURCE}))
    lsp_client.workspace_root = workspace  # type: ignore[attr-defined]
    yield
    await lsp_client.shutdown_session()


async def wait_for_index(client: LanguageClient) -> dict[str, Any]:
    status = await until(lambda: command(client, "lspilot.status"),
                         lambda status: status["context"] and status["context"]["indexReady"],
                         what="the index", interval=0.05)
    return dict(status["context"])


async def open_app(client: LanguageClient) -> tuple[str, dict[str, Any]]:
    """Open shop/app.py once the model and the index are ready; its URI and the index state."""
    root: Path = client.workspace_root  # type: ignore[attr-defined]
    uri = (root / "shop" / "app.py").as_uri()
    open_doc(client, uri, APP)
    await wait_for_state(client, "ready")
    return uri, await wait_for_index(client)


async def test_a_definition_from_an_unopened_file_reaches_the_prompt(
        client: LanguageClient) -> None:
    uri, context = await open_app(client)
    assert context["indexedFiles"] == 4  # the 4 .py files; not build/, not .env
    result = await inline(client, uri, 5, 24, invoked=True)
    assert result is not None
    explained = await command(client, "lspilot.explainCompletion")
    prompt = explained["prompt"]
    # qwen2.5-coder's repo-level layout, the context before the cursor's file.
    assert prompt.startswith("<|repo_name|>shop-repo\n<|file_sep|>shop/geometry.py\n")
    assert "def scale_vector(vector, factor):" in prompt
    assert prompt.index("def scale_vector") < prompt.index("<|file_sep|>shop/app.py\n")
    assert "sk-live" not in prompt and "scale_vector_ignored" not in prompt
    snippets = explained["context"]["snippets"]
    sources = {(s["source"], s["path"]) for s in snippets}
    assert ("definition", "shop/geometry.py") in sources
    # how the function whose arguments the cursor is in is called elsewhere
    assert ("usage", "shop/report.py") in sources
    definition = next(s for s in snippets if s["source"] == "definition")
    assert "scale_vector" in definition["reason"] and definition["score"] > 0
    assert explained["promptTokens"] <= 1536


async def test_uncommitted_work_reaches_the_prompt_without_diff_markers(
        client: LanguageClient) -> None:
    uri, _ = await open_app(client)

    async def git_diff_snippets() -> tuple[list[dict[str, Any]], dict[str, Any]]:
        # git runs in the background; a save asks for it again.
        client.text_document_did_save(types.DidSaveTextDocumentParams(
            types.TextDocumentIdentifier(uri)))
        await inline(client, uri, 5, 24, invoked=True)
        explained = await command(client, "lspilot.explainCompletion")
        context = explained["context"]
        return [s for s in context["snippets"] + context["leftOut"]
                if s["source"] == "git_diff"], explained

    hunks, explained = await until(git_diff_snippets, lambda found: found[0],
                                   what="a git_diff snippet", timeout=20, interval=0.2)
    assert hunks[0]["path"] == "shop/geometry.py" and hunks[0]["included"]
    assert "def rotate(vector, angle):" in explained["prompt"]
    assert "+def rotate" not in explained["prompt"]


async def test_context_off_gives_the_file_level_prompt(client: LanguageClient) -> None:
    root: Path = client.workspace_root  # type: ignore[attr-defined]
    uri = (root / "shop" / "app.py").as_uri()
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
        settings={"context": {"enabled": False}}))
    open_doc(client, uri, APP)
    await wait_for_state(client, "ready")
    await inline(client, uri, 5, 24, invoked=True)
    explained = await command(client, "lspilot.explainCompletion")
    assert explained["context"] is None
    assert explained["prompt"].startswith("<|fim_prefix|>from .geometry import scale_vector")


async def test_no_completion_inside_a_secret_file(client: LanguageClient) -> None:
    root: Path = client.workspace_root  # type: ignore[attr-defined]
    uri = (root / ".env").as_uri()
    open_doc(client, uri, "API_KEY=sk-live-do-not-leak-1234\nOTHER_KEY=", "dotenv")
    await wait_for_state(client, "ready")
    assert await inline(client, uri, 1, 10, invoked=True) is None
    assert await command(client, "lspilot.explainCompletion") is None
