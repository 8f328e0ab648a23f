"""End to end: no secret of the corpus reaches a prompt, whatever path it takes.

The real server runs over stdio with a tiny real model on a real git repository made in a
temporary folder, holding the corpus of `tests/secret_corpus.py` (Python, JS, TS, Go, Java,
YAML, JSON, TOML, .properties, .ini, a .env copied into a .txt, shell, a Dockerfile, a PEM
block in a Python string). The secrets sit in the cursor's own file, in an imported file,
in another open file, in a recent edit and in an uncommitted git change;
`lspilot.lastCompletion` and `lspilot.explainCompletion` give the exact prompt. The same
through `lspilot complete --show-prompt` closes the file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient, client_capabilities

from tests import secret_corpus as c
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

SECRETS = c.all_secrets() | {c.GITHUB_FINE, c.NPM_TOKEN}
UNCOMMITTED = "SENTRY_TOKEN"
# An uncommitted line of config.py that no one imports: only the git-diff source shows it.
CONFIG_EDIT = (f'\n\ndef sentry():\n    {UNCOMMITTED} = "{c.API_SECRET}x9"\n'
               f"    return {UNCOMMITTED}\n")
APP = ("from config import AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, DATABASE_URL\n\n\n"
       "def connect():\n    return \n")
USER_TS = ('import { call } from "./client";\n\n'
           'const headers = { Authorization: "Bearer " + SLACK_TOKEN };\n'
           "export function post(url: string) {\n  return fetch(url, { headers });\n}\n\n")


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=root,
                   check=True, capture_output=True)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "service"
    root.mkdir()
    for file in c.FILES:
        (root / file.path).write_text(file.text)
    with (root / "config.py").open("a") as f:  # keeps the git hunk below apart from them
        f.writelines(f"RETRY_{n} = {n}\n" for n in range(12))
    (root / "app.py").write_text(APP)
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "start")
    with (root / "config.py").open("a") as f:
        f.write(CONFIG_EDIT)
    return root


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: LanguageClient, tiny_model: Path, workspace: Path) -> Any:
    await lsp_client.initialize_session(types.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"),
        root_uri=workspace.as_uri(),
        workspace_folders=[types.WorkspaceFolder(uri=workspace.as_uri(), name="service")],
        initialization_options={"models": {"autocomplete": str(tiny_model)},
                                "llamaCpp": SMALL_RUNTIME, "context": EVERY_SOURCE}))
    lsp_client.workspace_root = workspace  # type: ignore[attr-defined]
    yield
    await lsp_client.shutdown_session()


async def ready(client: LanguageClient) -> Path:
    """Wait for the model and the index; the workspace root."""
    await wait_for_state(client, "ready")
    await until(lambda: command(client, "lspilot.status"),
                lambda status: status["context"]["indexReady"], what="the index", interval=0.05)
    root: Path = client.workspace_root  # type: ignore[attr-defined]
    return root


async def prompt_at(client: LanguageClient, uri: str, line: int, character: int
                    ) -> dict[str, Any]:
    """Complete at a position; the explanation, checked to hold no secret of the corpus."""
    await inline(client, uri, line, character, invoked=True)
    explained: dict[str, Any] = await command(client, "lspilot.explainCompletion")
    last = await command(client, "lspilot.lastCompletion")
    assert last["prompt"] == explained["prompt"]
    leaked = sorted(s for s in SECRETS if s in explained["prompt"])
    assert not leaked, f"secrets in the prompt: {leaked}"
    return explained


def sources(explained: dict[str, Any]) -> set[tuple[str, str, str]]:
    """(kind, source, path) of every secret kept out of the prompt."""
    return {(r["kind"], r["source"], r["path"]) for r in explained["redactions"]}


async def test_an_imported_file_and_an_uncommitted_change_give_no_secret_away(
        client: LanguageClient) -> None:
    root = await ready(client)
    uri = (root / "app.py").as_uri()
    open_doc(client, uri, APP)

    async def explain_after_save() -> dict[str, Any]:
        # git runs in the background; a save asks for it again.
        client.text_document_did_save(types.DidSaveTextDocumentParams(
            types.TextDocumentIdentifier(uri)))
        return await prompt_at(client, uri, 4, 11)

    explained = await until(
        explain_after_save, lambda e: ("token", "git_diff", "config.py") in sources(e),
        what="the uncommitted token's redaction", timeout=20, interval=0.2)
    found = sources(explained)
    assert {("aws-access-key-id", "definition", "config.py"),
            ("aws-secret-access-key", "definition", "config.py"),
            ("password", "definition", "config.py"),
            ("token", "git_diff", "config.py")} <= found
    prompt = explained["prompt"]
    assert 'AWS_SECRET_ACCESS_KEY = "<aws-secret-access-key>"' in prompt
    assert "postgres://admin:<password>@db.internal" in prompt
    assert f'{UNCOMMITTED} = "<token>"' in prompt


async def test_the_cursors_own_file_gives_no_secret_away(client: LanguageClient) -> None:
    root = await ready(client)
    for file in c.FILES:  # one server for all of them: a start costs more than the checks
        uri = (root / file.path).as_uri()
        open_doc(client, uri, file.text, file.language_id)
        lines = file.text.split("\n")
        # At the end, and in the middle of the file (secrets before and after the cursor).
        for line in (len(lines) - 1, len(lines) // 2):
            explained = await prompt_at(client, uri, line, len(lines[line]))
            assert explained["prompt"], f"no completion in {file.path}"
            assert any(r["source"] == "window" and r["path"] == file.path
                       for r in explained["redactions"]), file.path


async def test_another_open_file_and_a_recent_edit_give_no_secret_away(
        client: LanguageClient) -> None:
    root = await ready(client)
    other = next(f for f in c.FILES if f.path == "client.ts")
    open_doc(client, (root / other.path).as_uri(), other.text, other.language_id)
    uri = (root / "user.ts").as_uri()
    open_doc(client, uri, USER_TS, "typescript")
    found = sources(await prompt_at(client, uri, 7, 0))
    assert {("slack-bot-token", "open_file", "client.ts"),
            ("jwt", "open_file", "client.ts")} & found, found
    # A secret typed a moment ago into a file unlike the cursor's (no open_file window).
    edited = next(f for f in c.FILES if f.path == "deploy.yaml")
    edited_uri = (root / edited.path).as_uri()
    open_doc(client, edited_uri, edited.text, edited.language_id)
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=edited_uri, version=2),
        content_changes=[types.TextDocumentContentChangePartial(
            range=types.Range(types.Position(3, 0), types.Position(3, 0)),
            text=f"stripe:\n  key: {c.STRIPE_LIVE}\n")]))
    found = sources(await prompt_at(client, uri, 6, 0))  # elsewhere: no typed-ahead answer
    assert ("stripe-access-token", "recent_edit", "deploy.yaml") in found, found


def test_the_command_line_prompt_gives_no_secret_away(tiny_model: Path, workspace: Path) -> None:
    env = {**os.environ, "LSPILOT_HOME": str(workspace.parent / "home")}
    result = subprocess.run(
        [sys.executable, "-m", "lspilot", "complete", "app.py:5:12", "--show-prompt",
         "--model", str(tiny_model), "--settings", json.dumps({"context": EVERY_SOURCE})],
        cwd=workspace, env=env, capture_output=True, text=True,
        timeout=300)
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    assert not sorted(s for s in SECRETS if s in output)
    assert "--- secrets kept out of the prompt:" in result.stderr
    assert "aws-secret-access-key in config.py:5 (definition)" in result.stderr
    assert 'AWS_SECRET_ACCESS_KEY = "<aws-secret-access-key>"' in result.stderr
