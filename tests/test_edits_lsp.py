"""`lspilot.edit` end to end over stdio: the real server, a real git repository in a temporary
folder, and tiny real instruct models (tests/tiny_gguf.py) whose scripted answers run through
the real llama.cpp. The client applies what it is sent, as an editor would."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import converters, types
from pygls.exceptions import JsonRpcException
from pytest_lsp import LanguageClient, client_capabilities

from lspilot.lsp.text import apply_change
from tests.lsp_client import SERVER, SMALL_RUNTIME, command, inline, open_doc, wait_for_state
from tests.tiny_gguf import build, chat_model

DATES = '''from datetime import datetime


def parse_date(text):
    """Parse a date written as YYYY-MM-DD."""
    return datetime.strptime(text, "%Y-%m-%d").date()
'''
JOBS = '''from dates import parse_date


def due(item):
    return parse_date(item["due"])
'''
NEW_DATES = DATES.replace("def parse_date", "def parse_iso_date")
NEW_JOBS = JOBS.replace("parse_date", "parse_iso_date")
RENAME = "rename parse_date to parse_iso_date everywhere"
ANSWER = f"dates.py\n```python\n{NEW_DATES}```\n\njobs.py\n```python\n{NEW_JOBS}```\n"


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("edit-models")
    return {
        "rename": build(folder / "rename.gguf", chat_model(ANSWER)),
        "escape": build(folder / "escape.gguf", chat_model(
            f"../outside.py\n```python\nprint('out')\n```\n\ndates.py\n```python\n{NEW_DATES}```\n")),
        "secret": build(folder / "secret.gguf", chat_model(".env\n```\nKEY=stolen\n```\n")),
        "lazy": build(folder / "lazy.gguf", chat_model(
            "dates.py\n```python\ndef parse_iso_date(text):\n    # ... existing code ...\n```\n")),
        "create": build(folder / "create.gguf", chat_model(
            "util/strings.py\n```python\ndef shout(text):\n    return text.upper()\n```\n")),
        "loop": build(folder / "loop.gguf", chat_model("and again\n", loop=True)),
    }


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "dates.py").write_text(DATES)
    (root / "jobs.py").write_text(JOBS)
    (root / ".env").write_text("KEY=secret\n")
    (root / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0")
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "init")
    return root


class Editor:
    """The client's side of `workspace/applyEdit`: the texts it holds, what it was sent."""

    def __init__(self, client: LanguageClient, root: Path, accept: bool = True) -> None:
        self.root = root
        self.accept = accept
        self.received: list[types.ApplyWorkspaceEditParams] = []
        self.on_progress_create: Callable[[], None] | None = None

        @client.feature(types.WORKSPACE_APPLY_EDIT)
        def apply_edit(params: types.ApplyWorkspaceEditParams
                       ) -> types.ApplyWorkspaceEditResult:
            self.received.append(params)
            if not self.accept:
                return types.ApplyWorkspaceEditResult(applied=False,
                                                      failure_reason="user said no")
            return types.ApplyWorkspaceEditResult(applied=True)

        # pytest-lsp answers progress requests itself; run a hook before it does.
        features = client.protocol.fm.features
        answer = features[types.WINDOW_WORK_DONE_PROGRESS_CREATE]

        def create(params: types.WorkDoneProgressCreateParams) -> Any:
            if self.on_progress_create is not None:
                self.on_progress_create()
            return answer(params)

        features[types.WINDOW_WORK_DONE_PROGRESS_CREATE] = create

    def applied(self, uri: str) -> str:
        """A document's text after the one edit received, as an editor applies it."""
        [params] = self.received
        text = Path(uri.removeprefix("file://")).read_text()
        for operation in params.edit.document_changes or []:
            if isinstance(operation, types.TextDocumentEdit) and \
                    operation.text_document.uri == uri:
                for edit in sorted(operation.edits, key=lambda e: (e.range.start.line,
                                                                   e.range.start.character),
                                   reverse=True):
                    text = apply_change(text, (edit.range.start.line, edit.range.start.character),
                                        (edit.range.end.line, edit.range.end.character),
                                        edit.new_text, "utf-16")
        return text


async def start(client: LanguageClient, root: Path, model: Path, capabilities: str,
                autocomplete: Path | None = None, **edit: Any) -> Editor:
    editor = Editor(client, root)
    await client.initialize_session(types.InitializeParams(
        capabilities=client_capabilities(capabilities),
        workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name="repo")],
        initialization_options={"models": {"autocomplete": str(autocomplete or model),
                                           "edit": str(model)},
                                "llamaCpp": SMALL_RUNTIME,
                                "edit": {"contextSize": 2048, "format": "whole", **edit}}))
    await wait_for_state(client, "ready")
    for _ in range(200):  # the index finds jobs.py, which defines nothing but calls parse_date
        status = await command(client, "lspilot.status")
        if status["context"]["indexReady"]:
            break
        await asyncio.sleep(0.05)
    return editor


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: LanguageClient) -> Any:
    yield
    await lsp_client.shutdown_session()


async def test_a_rename_lands_in_both_files_as_one_versioned_edit(
        client: LanguageClient, root: Path, models: dict[str, Path]) -> None:
    editor = await start(client, root, models["rename"], "visual-studio-code")
    dates, jobs = (root / "dates.py").as_uri(), (root / "jobs.py").as_uri()
    open_doc(client, dates, DATES)
    result = await command(client, "lspilot.edit", {"instruction": RENAME, "uris": [dates]})
    assert result["applied"] is True and result["files"] == [dates, jobs]
    assert "whole format" in result["message"]
    [params] = editor.received
    assert params.label == RENAME
    [first, second] = params.edit.document_changes or []
    assert isinstance(first, types.TextDocumentEdit) and isinstance(second, types.TextDocumentEdit)
    assert (first.text_document.uri, first.text_document.version) == (dates, 1)
    assert (second.text_document.uri, second.text_document.version) == (jobs, None)
    # One line changed in dates.py: one edit of that line, the others untouched.
    assert [(e.range.start.line, e.range.end.line) for e in first.edits] == [(3, 4)]
    assert editor.applied(dates) == NEW_DATES and editor.applied(jobs) == NEW_JOBS
    reports = client.progress_reports
    assert any(isinstance(r, types.WorkDoneProgressEnd) for rs in reports.values() for r in rs)


async def test_a_preview_returns_the_edit_and_applies_nothing(
        client: LanguageClient, root: Path, models: dict[str, Path]) -> None:
    editor = await start(client, root, models["rename"], "visual-studio-code")
    dates = (root / "dates.py").as_uri()
    result = await command(client, "lspilot.edit",
                           {"instruction": RENAME, "uris": [dates], "apply": False})
    assert editor.received == []
    edit = converters.get_converter().structure(result["edit"], types.WorkspaceEdit)
    assert len(edit.document_changes or []) == 2
    assert result["files"] == [dates, (root / "jobs.py").as_uri()]


async def test_a_client_without_document_changes_gets_plain_changes(
        client: LanguageClient, root: Path, models: dict[str, Path]) -> None:
    editor = Editor(client, root)
    await client.initialize_session(types.InitializeParams(
        capabilities=types.ClientCapabilities(),
        workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name="repo")],
        initialization_options={"models": {"autocomplete": str(models["rename"]),
                                           "edit": str(models["rename"])},
                                "llamaCpp": SMALL_RUNTIME,
                                "edit": {"contextSize": 2048, "format": "whole"}}))
    dates = (root / "dates.py").as_uri()
    result = await command(client, "lspilot.edit", {"instruction": RENAME, "uris": [dates]})
    assert result["applied"] is True
    [params] = editor.received
    assert params.edit.document_changes is None
    assert params.edit.changes is not None and dates in params.edit.changes


async def test_a_client_that_refuses_the_edit_is_reported_back(
        client: LanguageClient, root: Path, models: dict[str, Path]) -> None:
    editor = await start(client, root, models["rename"], "visual-studio-code")
    editor.accept = False
    result = await command(client, "lspilot.edit", {"instruction": RENAME,
                                                    "uris": [(root / "dates.py").as_uri()]})
    assert result["applied"] is False and result["files"] == []
    assert "user said no" in result["message"]


async def test_an_edit_that_creates_a_file_sends_create_then_its_text(
        client: LanguageClient, root: Path, models: dict[str, Path]) -> None:
    editor = await start(client, root, models["create"], "visual-studio-code",
                         format="whole")
    result = await command(client, "lspilot.edit", {
        "instruction": "add a shout helper in util/strings.py",
        "uris": [(root / "dates.py").as_uri()]})
    new = (root / "util" / "strings.py").as_uri()
    assert result["applied"] is True and result["files"] == [new]
    [create, write] = editor.received[0].edit.document_changes or []
    assert isinstance(create, types.CreateFile) and create.uri == new
    assert isinstance(write, types.TextDocumentEdit) and write.text_document.version is None
    assert write.edits[0].new_text == "def shout(text):\n    return text.upper()\n"


HOSTILE = [("escape", "outside"), ("secret", "secret or ignored"), ("lazy", "leaves code out")]


async def test_hostile_answers_change_nothing(client: LanguageClient, root: Path,
                                              models: dict[str, Path]) -> None:
    editor = await start(client, root, models["rename"], "neovim@v0.11.0")
    for model, message in HOSTILE:  # each answer from its own edit model, switched to here
        await command(client, "lspilot.selectModel", {"id": str(models[model]), "role": "edit"})
        with pytest.raises(JsonRpcException, match=message) as raised:
            await command(client, "lspilot.edit", {"instruction": RENAME,
                                                   "uris": [(root / "dates.py").as_uri()]})
        assert raised.value.code == -32803, model
        assert editor.received == [], model
        assert (root / "dates.py").read_text() == DATES, model
        assert not (root.parent / "outside.py").exists(), model


# Bad requests are refused before the model is asked, so one server answers the whole table.
BAD_REQUESTS = [
    ({"instruction": "  ", "uris": ["DATES"]}, "instruction is empty"),
    ({"instruction": "x"}, "no files to edit"),
    ({"instruction": "x", "uris": ["file:///etc/hostname"]}, "outside the workspace"),
    ({"instruction": "x", "uris": ["LOGO"]}, "binary file"),
    ({"instruction": "x", "uris": ["ENV"]}, "secret or ignored"),
    ({"instruction": "x", "uris": ["MISSING"]}, "does not exist"),
]
MALFORMED = [None, "rename", {"instruction": 3}, {"instruction": "x", "uris": "a.py"},
             {"instruction": "x", "apply": "yes"}, {"instruction": "x", "range": {"uri": "file:///a"}}]


async def test_bad_requests_get_one_clear_error_and_malformed_ones_invalid_params(
        client: LanguageClient, root: Path, models: dict[str, Path]) -> None:
    editor = await start(client, root, models["rename"], "neovim@v0.11.0")
    names = {"DATES": "dates.py", "LOGO": "logo.png", "ENV": ".env", "MISSING": "gone.py"}
    for argument, message in BAD_REQUESTS:
        argument = {**argument, "uris": [(root / names[u]).as_uri() if u in names else u
                                         for u in argument.get("uris", [])]}
        with pytest.raises(JsonRpcException, match=message) as raised:
            await command(client, "lspilot.edit", argument)
        assert raised.value.code == -32803, argument
    for malformed in MALFORMED:
        with pytest.raises(JsonRpcException) as raised:
            await command(client, "lspilot.edit", malformed)
        assert raised.value.code == -32602, malformed
    assert editor.received == []
    status = await command(client, "lspilot.status")  # and the server goes on serving
    assert status["state"] == "ready"


async def test_an_edit_of_a_document_changed_meanwhile_is_refused(
        client: LanguageClient, root: Path, models: dict[str, Path]) -> None:
    editor = await start(client, root, models["rename"], "neovim@v0.11.0")
    dates = (root / "dates.py").as_uri()
    open_doc(client, dates, DATES)

    def type_meanwhile() -> None:
        # The edit read the document before asking for its progress token, and waits for
        # the answer before the model starts: this change lands while the edit is made.
        client.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=dates, version=2),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=DATES + "#\n")]))

    editor.on_progress_create = type_meanwhile
    with pytest.raises(JsonRpcException, match="changed while the edit was made"):
        await command(client, "lspilot.edit", {"instruction": RENAME, "uris": [dates]})
    assert editor.received == []


@pytest.mark.parametrize("how", ["cancelRequest", "workDoneProgress/cancel"])
async def test_a_cancelled_edit_applies_nothing(client: LanguageClient, root: Path,
                                                models: dict[str, Path], how: str) -> None:
    editor = await start(client, root, models["loop"], "visual-studio-code",
                         maxTokens=60000, contextSize=65536)
    request = asyncio.wrap_future(client.protocol.send_request(
        types.WORKSPACE_EXECUTE_COMMAND, types.ExecuteCommandParams(
            command="lspilot.edit", arguments=[{"instruction": RENAME,
                                                "uris": [(root / "dates.py").as_uri()]}]),
        msg_id="the-edit"))
    token = None
    for _ in range(400):
        writing = [t for t, rs in client.progress_reports.items()
                   if any(isinstance(r, types.WorkDoneProgressReport)
                          and (r.message or "").startswith("writing") for r in rs)]
        if writing:
            token = writing[0]
            break
        await asyncio.sleep(0.01)
    assert token is not None, client.progress_reports
    if how == "cancelRequest":
        client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="the-edit"))
    else:
        client.window_work_done_progress_cancel(types.WorkDoneProgressCancelParams(token))
    with pytest.raises(JsonRpcException) as raised:
        await request
    assert raised.value.code == -32800  # RequestCancelled
    ends = [r for r in client.progress_reports[token] if isinstance(r, types.WorkDoneProgressEnd)]
    for _ in range(100):
        if ends:
            break
        await asyncio.sleep(0.02)
        ends = [r for r in client.progress_reports[token]
                if isinstance(r, types.WorkDoneProgressEnd)]
    assert ends and "nothing was applied" in (ends[0].message or "")
    assert editor.received == []
    status = await command(client, "lspilot.status")  # the server goes on serving
    assert status["edit"]["state"] == "ready"


async def test_a_code_action_offers_the_edit_on_a_range(
        client: LanguageClient, root: Path, models: dict[str, Path]) -> None:
    await start(client, root, models["rename"], "visual-studio-code")
    # lsprotocol 2025's client-side hook reads any item with a `command` key as a Command,
    # though a CodeAction carries its command as an object (editors tell them apart by the
    # key's type, as here).
    converter = client.protocol._converter

    def command_or_action(item: Any, _: Any) -> types.Command | types.CodeAction:
        kind = types.Command if isinstance(item.get("command"), str) else types.CodeAction
        return converter.structure(item, kind)

    converter.register_structure_hook(types.Command | types.CodeAction, command_or_action)
    dates = (root / "dates.py").as_uri()
    open_doc(client, dates, DATES)
    where = types.Range(types.Position(3, 0), types.Position(5, 0))
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(dates), range=where,
        context=types.CodeActionContext(diagnostics=[])))
    assert actions is not None
    [action] = actions
    assert isinstance(action, types.CodeAction)
    assert action.kind == types.CodeActionKind.RefactorRewrite
    assert action.command is not None and action.command.command == "lspilot.edit"
    [argument] = action.command.arguments or []
    assert argument["range"]["uri"] == dates
    assert argument["range"]["range"]["start"] == {"line": 3, "character": 0}
    only_fixes = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(dates), range=where,
        context=types.CodeActionContext(diagnostics=[], only=[types.CodeActionKind.QuickFix])))
    assert not only_fixes


async def test_completions_keep_answering_while_an_edit_runs(
        client: LanguageClient, root: Path, models: dict[str, Path], tiny_model: Path) -> None:
    await start(client, root, models["loop"], "visual-studio-code", autocomplete=tiny_model,
                maxTokens=60000, contextSize=65536)
    request = asyncio.wrap_future(client.protocol.send_request(
        types.WORKSPACE_EXECUTE_COMMAND, types.ExecuteCommandParams(
            command="lspilot.edit", arguments=[{"instruction": RENAME,
                                                "uris": [(root / "dates.py").as_uri()]}]),
        msg_id="long-edit"))
    for _ in range(400):
        if any(isinstance(r, types.WorkDoneProgressReport) and (r.message or "")
               .startswith("writing") for rs in client.progress_reports.values() for r in rs):
            break
        await asyncio.sleep(0.01)
    uri = (root / "add.py").as_uri()
    open_doc(client, uri, "def add(a, b):\n    return \n")
    completion = await inline(client, uri, 1, 11)
    assert completion is not None and completion.items[0].insert_text == "a + b"
    assert not request.done()  # the edit was still being written
    client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="long-edit"))
    with pytest.raises(JsonRpcException):
        await request


@pytest.mark.parametrize("kind", ["server down", "not a model"])
async def test_an_edit_model_that_cannot_serve_is_one_clear_error(
        client: LanguageClient, root: Path, tiny_model: Path, kind: str) -> None:
    from tests.replay_server import free_port

    broken = root / "broken.gguf"
    broken.write_bytes(b"GGUF but not really")
    port = free_port()
    model = "ollama:qwen2.5-coder:1.5b" if kind == "server down" else str(broken)
    editor = Editor(client, root)
    await client.initialize_session(types.InitializeParams(
        capabilities=client_capabilities("neovim@v0.11.0"),
        workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name="repo")],
        initialization_options={"models": {"autocomplete": str(tiny_model), "edit": model},
                                "servers": {"ollamaUrl": f"http://127.0.0.1:{port}"},
                                "llamaCpp": SMALL_RUNTIME}))
    with pytest.raises(JsonRpcException) as raised:
        await command(client, "lspilot.edit", {"instruction": RENAME,
                                               "uris": [(root / "dates.py").as_uri()]})
    assert raised.value.code == -32803
    assert (str(port) if kind == "server down" else "broken.gguf") in raised.value.message
    assert editor.received == []
    # Told once: in the edit's answer, not again as a message.
    assert not [m for m in client.messages if "broken.gguf" in m.message or str(port) in m.message]
    uri = (root / "dates.py").as_uri()
    open_doc(client, uri, "def add(a, b):\n    return \n")
    completion = await inline(client, uri, 1, 11)  # completions are not affected
    assert completion is not None and completion.items[0].insert_text == "a + b"
