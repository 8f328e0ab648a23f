"""Helpers for driving the real `lspilot serve` over stdio with pytest-lsp."""

from __future__ import annotations

import sys
from typing import Any

from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from lspilot.settings import CONTEXT_SOURCES
from tests.polling import until

SERVER = ClientServerConfig(server_command=[sys.executable, "-m", "lspilot", "serve",
                                            "--log-level", "info"])
CLIENTS = ["neovim@v0.11.0", "visual-studio-code"]
SMALL_RUNTIME = {"contextSize": 1024, "threads": 1}
EVERY_SOURCE = {"sources": ",".join(CONTEXT_SOURCES)}
"""The `context` settings that ask every source (`definition` is off by default)."""


def open_doc(client: LanguageClient, uri: str, text: str, language: str = "python") -> None:
    """didOpen."""
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        types.TextDocumentItem(uri=uri, language_id=language, version=1, text=text)))


async def inline(client: LanguageClient, uri: str, line: int, character: int,
                 invoked: bool = False) -> types.InlineCompletionList | None:
    """textDocument/inlineCompletion at a position (in the negotiated encoding)."""
    kind = (types.InlineCompletionTriggerKind.Invoked if invoked
            else types.InlineCompletionTriggerKind.Automatic)
    result = await client.text_document_inline_completion_async(types.InlineCompletionParams(
        context=types.InlineCompletionContext(trigger_kind=kind),
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=types.Position(line, character)))
    assert result is None or isinstance(result, types.InlineCompletionList)
    return result


async def command(client: LanguageClient, name: str, *args: Any) -> Any:
    """workspace/executeCommand."""
    return await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=name, arguments=list(args)))


async def wait_for_state(client: LanguageClient, state: str, timeout: float = 60) -> dict[str, Any]:
    """Poll `lspilot.status` until the engine reaches `state`."""
    status = await until(lambda: command(client, "lspilot.status"),
                         lambda status: status["state"] == state,
                         what=f"state {state!r}", timeout=timeout, interval=0.05)
    return dict(status)
