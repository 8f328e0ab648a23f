"""An editor's side of the protocol, scripted: `lspilot serve` over stdio asked at each case.

One server per workspace folder and trigger kind, started with the given settings as
`initializationOptions`, as an editor starts it. For each case the file with the hole is
written on disk (the workspace index reads disk files; the original is put back after),
announced with `didChangeWatchedFiles`, opened with `didOpen`, and
`textDocument/inlineCompletion` is asked at the cursor with trigger Automatic or Invoked;
the first item is the shown suggestion. `lspilot.explainCompletion` then tells the raw
answer, the prompt's size and which context sources went in.

The folder is written to: callers give a scratch copy, never the user's files.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

from lsprotocol import types
from pygls.lsp.client import LanguageClient

from lspilot.completion.holes import Case
from lspilot.completion.scoring import Answer

Trigger = Literal["automatic", "invoked"]
INDEX_WAIT_S = 300.0
"""Longest wait for the workspace index before the first case."""
SETTLE_S = 0.2
"""Pause after a file changes on disk, for the server's watcher to see it."""


def initialization_options(model: str, settings: dict[str, Any]) -> dict[str, Any]:
    """The settings an editor would send, with `model` as the autocomplete model."""
    options: dict[str, Any] = {"models": {"autocomplete": model}}
    for section, values in settings.items():
        if isinstance(values, dict):
            options.setdefault(section, {}).update(values)
        else:
            options[section] = values
    return options


async def serve(cases: Sequence[Case], root: Path, model: str, trigger: Trigger,
                settings: dict[str, Any], *, opened: Sequence[tuple[Path, str]] = (),
                progress: Callable[[Case, Answer], None] | None = None,
                log_file: Path | None = None) -> list[Answer]:
    """Ask one `lspilot serve`, rooted at `root`, for a suggestion at each case in turn.

    `opened` are (path, language id) of files that stay open beside the cases, as tabs an
    editor has open. The server's log goes to `log_file` (the pipe would fill up unread).
    """
    client = LanguageClient("lspilot-bench", "1")
    untyped: Any = client  # pygls's client-side registration and `stop` carry no types
    messages: list[str] = []

    def show_message(params: types.ShowMessageParams) -> None:
        messages.append(params.message)
        print(f"lspilot serve: {params.message}", file=sys.stderr)

    untyped.feature(types.WINDOW_SHOW_MESSAGE)(show_message)
    untyped.feature("lspilot/status")(lambda params: None)  # state changes: not needed here

    log = ["--log-file", str(log_file)] if log_file is not None else []
    await client.start_io(sys.executable, "-m", "lspilot", "serve", "--log-level", "warning",
                          *log)
    answers: list[Answer] = []
    try:
        await client.initialize_async(types.InitializeParams(
            capabilities=types.ClientCapabilities(), root_uri=root.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name=root.name)],
            initialization_options=initialization_options(model, settings)))
        client.initialized(types.InitializedParams())
        # The first completion loads the model; it is outside the workspace and not scored.
        warmup = (root.parent / "warmup.py").as_uri()
        _open(client, warmup, "python", "def add(a, b):\n    return ")
        await _inline(client, warmup, 1, 11, "invoked")
        client.text_document_did_close(types.DidCloseTextDocumentParams(
            types.TextDocumentIdentifier(uri=warmup)))
        status_now = await _index_ready(client)
        if status_now.get("state") != "ready":
            raise RuntimeError(f"the server could not complete: {status_now.get('message')}"
                               + (f" ({messages[-1]})" if messages else ""))
        for path, language_id in opened:
            _open(client, path.as_uri(), language_id, path.read_text(encoding="utf-8"))
        for case in cases:
            answers.append(await _ask(client, case, root, trigger))
            if progress is not None:
                progress(case, answers[-1])
    finally:
        await client.shutdown_async(None)
        client.exit(None)
        await untyped.stop()
    return answers


def _open(client: LanguageClient, uri: str, language_id: str, text: str) -> None:
    client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(
        uri=uri, language_id=language_id, version=1, text=text)))


async def _inline(client: LanguageClient, uri: str, line: int, character: int,
                  trigger: Trigger) -> str:
    kind = (types.InlineCompletionTriggerKind.Invoked if trigger == "invoked"
            else types.InlineCompletionTriggerKind.Automatic)
    result = await client.text_document_inline_completion_async(types.InlineCompletionParams(
        context=types.InlineCompletionContext(kind),
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=types.Position(line, character)))
    if not isinstance(result, types.InlineCompletionList) or not result.items:
        return ""
    text = result.items[0].insert_text
    return text if isinstance(text, str) else text.value


async def _index_ready(client: LanguageClient) -> dict[str, Any]:
    """The server's status once its workspace index is ready (or it cannot complete)."""
    deadline = time.perf_counter() + INDEX_WAIT_S
    while True:
        status = await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="lspilot.status"))
        status = status if isinstance(status, dict) else {}
        context = status.get("context")
        if status.get("state") != "ready" or not isinstance(context, dict) \
                or context.get("state", "ready") == "ready" \
                or time.perf_counter() > deadline:
            return status
        await asyncio.sleep(0.2)


def _watched(client: LanguageClient, uri: str) -> None:
    client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams(
        changes=[types.FileEvent(uri=uri, type=types.FileChangeType.Changed)]))


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


async def _ask(client: LanguageClient, case: Case, root: Path, trigger: Trigger) -> Answer:
    path = root / case.path
    uri = path.as_uri()
    original = path.read_text(encoding="utf-8")
    path.write_text(case.text, encoding="utf-8")
    try:
        _watched(client, uri)
        _open(client, uri, case.language, case.text)
        await asyncio.sleep(SETTLE_S)
        line = case.text.split("\n")[case.line]
        started = time.perf_counter()
        text = await _inline(client, uri, case.line, _utf16(line[: case.column]), trigger)
        latency_ms = (time.perf_counter() - started) * 1000
        last = await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="lspilot.explainCompletion"))
        client.text_document_did_close(types.DidCloseTextDocumentParams(
            types.TextDocumentIdentifier(uri=uri)))
    finally:
        path.write_text(original, encoding="utf-8")
        _watched(client, uri)
    last = last if isinstance(last, dict) else {}
    context = last.get("context") or {}
    return Answer(text, str(last.get("raw", "")), round(latency_ms, 1),
                  int(last.get("promptTokens") or 0),
                  tuple(str(s["source"]) for s in context.get("snippets", ())),
                  tuple(str(name) for name in context.get("late", ())))
