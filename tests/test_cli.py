"""The `lspilot` command as a user runs it: real subprocesses, tiny real models."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from lspilot import __version__
from lspilot.cli import cursor_offset, parse_cursor
from tests.lsp_client import EVERY_SOURCE
from tests.polling import wait_until
from tests.tiny_gguf import PLAIN_SPECIALS, TinyModel, build

LSPILOT = [sys.executable, "-m", "lspilot"]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*LSPILOT, *args], capture_output=True, text=True, timeout=120,
                          env=env)


@pytest.mark.parametrize(("spec", "expected"), [
    ("a.py:1:1", (Path("a.py"), 1, 1)),
    ("dir/with:colon.py:12:7", (Path("dir/with:colon.py"), 12, 7)),
])
def test_parse_cursor(spec: str, expected: tuple[Path, int, int]) -> None:
    assert parse_cursor(spec) == expected


@pytest.mark.parametrize("spec", ["a.py", "a.py:3", "a.py:0:1", "a.py:1:x", ":1:1x"])
def test_parse_cursor_rejects(spec: str) -> None:
    with pytest.raises(ValueError, match="PATH:LINE:COL"):
        parse_cursor(spec)


@pytest.mark.parametrize(("line", "column", "offset"), [(1, 1, 0), (1, 4, 3), (2, 1, 4),
                                                        (2, 3, 6)])
def test_cursor_offset(line: int, column: int, offset: int) -> None:
    assert cursor_offset("abc\nde\n", line, column) == offset


@pytest.mark.parametrize(("line", "column", "message"), [
    (4, 1, "line 4 is past the end of the file"),
    (1, 5, "column 5 is past the end of line 1"),
])
def test_cursor_offset_out_of_the_file(line: int, column: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        cursor_offset("abc\nde\n", line, column)


def test_version() -> None:
    result = run("--version")
    assert result.stdout.strip() == f"lspilot {__version__}"


def test_complete_prints_the_completion(tmp_path: Path, tiny_model: Path) -> None:
    source = tmp_path / "add.py"
    source.write_text("def add(a, b):\n    return \n")
    result = run("complete", f"{source}:2:12", "--model", str(tiny_model), "--show-prompt")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "a + b\n"
    assert "<|fim_prefix|>def add(a, b):\n    return <|fim_suffix|>" in result.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["missing.py:1:1"], "No such file"),
    (["{src}:9:1"], "line 9 is past the end"),
    (["{src}"], "expected PATH:LINE:COL"),
    (["{src}:1:1", "--settings", "[1]"], "give a JSON object"),
    (["{src}:1:1", "--settings", "{"], "not JSON"),
    (["{src}:1:1", "--settings", '{"context": {"sources": "nope"}}'],
     "lspilot.context.sources: unknown 'nope'"),
])
def test_complete_reports_bad_input(tmp_path: Path, args: list[str], message: str) -> None:
    source = tmp_path / "a.py"
    source.write_text("x = 1\n")
    result = run("complete", *(a.replace("{src}", str(source)) for a in args))
    assert result.returncode == 2 and message in result.stderr


def test_complete_reports_an_unusable_model(tmp_path: Path) -> None:
    source = tmp_path / "a.py"
    source.write_text("x = 1\n")
    result = run("complete", f"{source}:1:1", "--model", str(tmp_path / "nope.gguf"))
    assert result.returncode == 1 and "model file not found" in result.stderr


def test_models_list_shows_the_catalog(tmp_path: Path) -> None:
    result = run("models", "list", env={"LSPILOT_HOME": str(tmp_path), "PATH": ""})
    assert "qwen2.5-coder:0.5b" in result.stdout and "(default)" in result.stdout
    assert "qwen2.5-coder:1.5b" in result.stdout and "not downloaded" in result.stdout


def frame(message: dict[str, object]) -> bytes:
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def test_serve_over_tcp(tiny_model: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([*LSPILOT, "serve", "--tcp", f"127.0.0.1:{port}"],
                              stderr=subprocess.DEVNULL)
    try:
        def connect() -> socket.socket | OSError:
            try:
                return socket.create_connection(("127.0.0.1", port), timeout=30)
            except OSError as error:
                return error

        connection = wait_until(connect, lambda c: isinstance(c, socket.socket),
                                what="the server to listen", interval=0.1)
        assert isinstance(connection, socket.socket)
        with connection:
            connection.sendall(frame({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                                      "params": {"capabilities": {}}}))
            data = b""
            while b'"id": 1' not in data:
                data += connection.recv(65536)
            assert b"inlineCompletionProvider" in data
    finally:
        server.kill()
        server.wait()


def test_models_use_checks_keeps_and_is_the_default_for_complete(tmp_path: Path,
                                                                 tiny_model: Path) -> None:
    env = {**os.environ, "LSPILOT_HOME": str(tmp_path / "home")}
    result = run("models", "use", str(tiny_model), env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"autocomplete: {tiny_model} (qwen2.5-coder template)\n"
    assert f"autocomplete: {tiny_model}" in run("models", "list", env=env).stdout
    source = tmp_path / "add.py"
    source.write_text("def add(a, b):\n    return \n")
    result = run("complete", f"{source}:2:12", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "a + b\n" and f"lspilot: {tiny_model}," in result.stderr


def test_models_use_refuses_what_cannot_serve_and_keeps_the_old_choice(
        tmp_path: Path, tiny_model: Path) -> None:
    env = {**os.environ, "LSPILOT_HOME": str(tmp_path)}
    assert run("models", "use", str(tiny_model), env=env).returncode == 0
    chat = build(tmp_path / "chat.gguf", TinyModel(specials=PLAIN_SPECIALS, trigger="<|im_end|>"))
    result = run("models", "use", str(chat), env=env)
    assert result.returncode == 1 and "no fill-in-the-middle tokens" in result.stderr
    result = run("models", "use", str(tmp_path / "nope.gguf"), env=env)
    assert result.returncode == 1 and "model file not found" in result.stderr
    assert json.loads((tmp_path / "roles.json").read_text()) == {"autocomplete": str(tiny_model)}


def test_complete_outside_a_repository_reads_the_files_own_folder_only(
        tmp_path: Path, tiny_model: Path) -> None:
    project = tmp_path / "home"
    (project / "sub").mkdir(parents=True)
    (project / "helper.py").write_text("def twice(x):\n    return 2 * x\n")
    (project / "sub" / "deep.py").write_text("def thrice(x):\n    return 3 * x\n")
    source = project / "main.py"
    source.write_text("from helper import twice\nfrom sub.deep import thrice\n\n\n"
                      "def f(x):\n    return twice(x) + \n")
    cursor = f"{source}:6:23"
    # Every source asked, `definition` too (off by default), so a subfolder's file indexed by
    # mistake would show its definition.
    alone = run("complete", cursor, "--model", str(tiny_model), "--show-prompt",
                "--settings", json.dumps({"context": EVERY_SOURCE}))
    assert alone.returncode == 0, alone.stderr
    assert "in no git repository" in alone.stderr
    # Which sources beat `context.deadlineMs` depends on the machine's load; the subfolder's
    # definition can only be missing (tests/test_workspace.py checks what is indexed).
    assert "def thrice" not in alone.stderr
    whole = run("complete", cursor, "--model", str(tiny_model), "--show-prompt",
                "--workspace", str(project))
    assert whole.returncode == 0, whole.stderr
    assert "in no git repository" not in whole.stderr
