"""The VS Code extension: its unit tests and package, and a real VS Code typing into a file
and making edits.

The real editor is code-server (VS Code 1.100 in the browser) driven in Chromium by
playwright-core (editors/vscode/e2e/*.mjs), with the built `lspilot.vsix` installed and the
real server: the real 0.5B model for completions, tiny scripted instruct models
(tests/tiny_gguf.py) for the edit scenarios, and the real 1.5B for one timed edit. One editor
session runs several scenarios: each session costs seconds of both cores.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import urllib.request
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from lspilot.models.store import ModelStore
from lspilot.settings import json_schema
from tests.polling import wait_until
from tests.test_edits_lsp import ANSWER, DATES, JOBS, NEW_DATES, NEW_JOBS, RENAME
from tests.tiny_gguf import build, chat_model

ROOT = Path(__file__).resolve().parent.parent
EXTENSION = ROOT / "editors" / "vscode"
E2E = EXTENSION / "e2e"
ARTIFACTS = ROOT / "editors" / "artifacts"
README = (ROOT / "README.md").read_text()
CODE_SERVER = E2E / "node_modules" / ".bin" / "code-server"
# Settings of the extension alone, beside `lspilot.server.*` (src/settings.ts: CLIENT_ONLY_KEYS).
CLIENT_ONLY = {"lspilot.edit.preview"}
# Regenerates the contributed settings from the server's schema (as for the golden prompts).
UPDATE = os.environ.get("LSPILOT_UPDATE_GOLDEN") == "1"


def vscode_section() -> str:
    """The README's VS Code section."""
    return README.split("## VS Code", 1)[1].split("\n## ", 1)[0]


def readme_settings() -> dict[str, Any]:
    """The settings.json snippet of the README's VS Code section."""
    block = re.search(r"```jsonc?\n(.+?)\n```", vscode_section(), re.S)
    assert block is not None, "the VS Code section has a settings.json snippet"
    return dict(json.loads(block.group(1)))


def need(tool: str, hint: str) -> str:
    """The path of `tool`, or skip the test saying what is missing and how to get it."""
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} not found: {hint}")
    return path


def npm(*args: str, cwd: Path = EXTENSION) -> None:
    """Run npm; fail with its output."""
    result = subprocess.run(["npm", *args], cwd=cwd, capture_output=True, text=True)
    assert result.returncode == 0, f"npm {' '.join(args)}:\n{result.stdout}\n{result.stderr}"


def contributed(schema: dict[str, Any], prefix: str = "lspilot.") -> dict[str, Any]:
    """The VS Code settings that mirror the server's schema, as package.json declares them."""
    keys: dict[str, Any] = {}
    for name, prop in schema["properties"].items():
        if prop.get("type") == "object":
            keys.update(contributed(prop, f"{prefix}{name}."))
            continue
        keys[f"{prefix}{name}"] = {
            **{field: prop[field] for field in ("type", "default", "minimum", "maximum", "enum")
               if field in prop},
            "markdownDescription": prop["description"]}
    return keys


def test_contributed_settings_mirror_the_server_schema() -> None:
    path = EXTENSION / "package.json"
    package = json.loads(path.read_text())
    properties = package["contributes"]["configuration"]["properties"]
    client_only = {key: prop for key, prop in properties.items()
                   if key.startswith("lspilot.server.") or key in CLIENT_ONLY}
    assert set(client_only) == {"lspilot.server.path", "lspilot.server.args", *CLIENT_ONLY}
    expected = {**client_only, **contributed(json_schema())}
    if UPDATE:
        package["contributes"]["configuration"]["properties"] = expected
        path.write_text(json.dumps(package, indent=2, ensure_ascii=False) + "\n")
        properties = expected
    assert properties == expected, "run with LSPILOT_UPDATE_GOLDEN=1 to update package.json"


def test_the_readme_settings_snippet_uses_real_settings() -> None:
    properties = json.loads((EXTENSION / "package.json").read_text())[
        "contributes"]["configuration"]["properties"]
    assert set(readme_settings()) <= set(properties)


def readme_build() -> tuple[str, str]:
    """The README's two VS Code lines: build the .vsix, install it."""
    block = re.search(r"```sh\n(.+?)\n```", vscode_section(), re.S)
    assert block is not None, "the VS Code section has build commands"
    build, install = block.group(1).splitlines()
    return build, install


def test_the_readme_builds_and_installs_what_the_test_installs() -> None:
    build, install = readme_build()
    assert build.startswith("cd editors/vscode && ") and build.endswith("npm run package")
    assert install == "code --install-extension lspilot.vsix"
    scripts = json.loads((EXTENSION / "package.json").read_text())["scripts"]
    assert "-o lspilot.vsix" in scripts["package"]


@pytest.fixture(scope="session")
def vsix() -> Path:
    """The extension built by the README's command; its unit tests (tsc, node --test) too."""
    need("npm", "install Node.js 20 and npm")
    build, _ = readme_build()
    result = subprocess.run(["bash", "-c", build], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, f"{build}:\n{result.stdout}\n{result.stderr}"
    npm("test")
    return EXTENSION / "lspilot.vsix"


def test_unit_tests_pass_and_vsce_packages_the_extension(vsix: Path) -> None:
    # The fixture ran tsc, `node --test` and `vsce package`; check what it packaged.
    listing = zipfile.ZipFile(vsix).namelist()
    for name in ("extension/package.json", "extension/out/src/extension.js",
                 "extension/node_modules/vscode-languageclient/package.json"):
        assert name in listing


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def code_server_session(vsix: Path, tmp_path: Path, files: dict[str, str],
                        settings: dict[str, Any], keybindings: list[dict[str, Any]] | None = None
                        ) -> Iterator[dict[str, Any]]:
    """code-server with the .vsix installed, `settings` as the user's, and a workspace (a git
    repository, as a user's would be) holding `files`."""
    chromium = need("chromium", "run editors/vscode/e2e/setup.sh (apt-get install chromium)")
    if not CODE_SERVER.exists():
        pytest.skip("code-server is not installed: run editors/vscode/e2e/setup.sh")
    env = dict(os.environ)
    # VS Code takes the extension host's PATH from a login shell, as a user's would be: put
    # this checkout's `lspilot` on it the way a user does, in the (temporary) home's profile.
    home = tmp_path / "home"
    home.mkdir()
    (home / ".bash_profile").write_text(f'export PATH="{Path(sys.executable).parent}:$PATH"\n')
    env["HOME"] = str(home)
    env["SHELL"] = "/bin/bash"
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    env["LSPILOT_HOME"] = str(ModelStore.from_env().home)  # the model cache, not the temp XDG
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        env[name] = str(tmp_path / name.lower())
    data, extensions, workspace = tmp_path / "data", tmp_path / "extensions", tmp_path / "ws"
    (data / "User").mkdir(parents=True)
    workspace.mkdir()
    for name, text in files.items():
        (workspace / name).write_text(text)
    git = ["git", "-c", "user.email=t@t", "-c", "user.name=t"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "init"]):
        subprocess.run([*git, *args], cwd=workspace, check=True, capture_output=True)
    (data / "User" / "settings.json").write_text(json.dumps({
        # Only what keeps a test run quiet; the lspilot settings are the caller's.
        "workbench.startupEditor": "none",
        "security.workspace.trust.enabled": False,
        "files.autoSave": "off",
        **settings,
    }, indent=2))
    if keybindings is not None:
        (data / "User" / "keybindings.json").write_text(json.dumps(keybindings, indent=2))
    base = [str(CODE_SERVER), "--user-data-dir", str(data), "--extensions-dir", str(extensions)]
    # The README's `code --install-extension lspilot.vsix`, with code-server's CLI.
    installed = subprocess.run([*base, "--install-extension", str(vsix)], env=env,
                               capture_output=True, text=True, timeout=120)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    port = free_port()
    log = (tmp_path / "code-server.log").open("w")
    server = subprocess.Popen(
        [*base, "--bind-addr", f"127.0.0.1:{port}", "--auth", "none", "--disable-telemetry",
         "--disable-update-check", "--disable-workspace-trust", str(workspace)],
        env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        def health() -> int | str:
            assert server.poll() is None, (tmp_path / "code-server.log").read_text()
            try:
                return int(urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz",
                                                  timeout=2).status)
            except OSError as error:
                return repr(error)

        wait_until(health, lambda status: status == 200, what="code-server's /healthz",
                   timeout=60, interval=0.2)
        yield {"url": f"http://127.0.0.1:{port}/?folder={workspace}", "workspace": workspace,
               "chromium": chromium, "profile": str(tmp_path / "chromium"), "env": env,
               "logs": data / "logs"}
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def drive(script: str, session: dict[str, Any], tmp_path: Path, **config: Any) -> dict[str, Any]:
    """Run an e2e script against the session; what it saw, as one JSON object."""
    config.update({key: session[key] for key in ("url", "chromium", "profile")},
                  artifacts=str(ARTIFACTS))
    config_path = tmp_path / f"{script}.json"
    config_path.write_text(json.dumps(config))
    run = subprocess.run(["node", str(E2E / script), str(config_path)], cwd=E2E,
                         env=session["env"], capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout + run.stderr
    seen: dict[str, Any] = json.loads(run.stdout.strip().splitlines()[-1])
    # What the script saw, for a look after a failure.
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / script.replace(".mjs", ".json")).write_text(json.dumps(seen, indent=1))
    if not seen["ok"]:
        logs = "".join(path.read_text()[-3000:]
                       for path in session["logs"].glob("**/lspilot.lspilot/*.log"))
        failure = ARTIFACTS / ("vscode-failure.png" if script == "ghost.mjs"
                               else "vscode-edit-failure.png")
        pytest.fail(f"{seen['error']}\nscreenshot: {failure}\n"
                    + "\n".join(seen["console"][-40:]) + f"\nextension log:\n{logs}")
    return seen


@pytest.fixture
def code_server(vsix: Path, real_model: Path, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """code-server with the README's settings and a file to complete in."""
    with code_server_session(vsix, tmp_path, {"add.py": "def add(a, b):\n    "},
                             readme_settings()) as session:
        yield session


@pytest.mark.real_model
def test_typing_in_vscode_shows_the_servers_ghost_text_and_tab_accepts_it(
        code_server: dict[str, Any], tmp_path: Path, real_model: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    seen = drive("ghost.mjs", code_server, tmp_path, file="add.py", keys="return ",
                 timeoutMs=90_000, model=str(real_model))
    latency = re.search(r"lspilot qwen2\.5-coder:0\.5b · (\d+) ms", seen["statusBar"])
    assert latency is not None, f"status bar: {seen['statusBar']!r}"
    server_ms = re.search(r"totalMs: ([\d.]+)", seen["lastCompletion"])
    assert server_ms is not None, seen["lastCompletion"]
    with capsys.disabled():  # the figure belongs in the CI log, not only under -s
        print(f"\nVS Code: keystroke to visible ghost text {seen['ghostMs']} ms; status bar "
              f"latency {latency.group(1)} ms, the server's completion "
              f"{float(server_ms.group(1)):.0f} ms (ghost {seen['ghostText']!r}; screenshot "
              f"{ARTIFACTS / 'vscode-ghost-text.png'})")
    assert "<|fim_prefix|>def add(a, b):" in seen["lastCompletion"]
    assert f"lspilot {real_model.name}" in seen["statusAfterSelect"], seen["statusAfterSelect"]
    settings = json.loads((code_server["logs"].parent / "User" / "settings.json").read_text())
    assert settings["lspilot.models.autocomplete"] == str(real_model)
    assert "a + b" in seen["ghostText"]
    text = (code_server["workspace"] / "add.py").read_text()
    assert text == "def add(a, b):\n    return " + seen["ghostText"]


def readme_edits() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The settings and key bindings of the README's "Edits in VS Code"."""
    section = vscode_section().split("### Edits in VS Code", 1)[1]
    settings, keybindings = re.findall(r"```json\n(.+?)\n```", section, re.S)
    return json.loads(settings), json.loads(keybindings)


def test_the_readme_edit_snippets_use_real_settings_and_commands() -> None:
    package = json.loads((EXTENSION / "package.json").read_text())
    settings, keybindings = readme_edits()
    assert set(settings) <= set(package["contributes"]["configuration"]["properties"])
    commands = {c["command"] for c in package["contributes"]["commands"]}
    assert {binding["command"] for binding in keybindings} <= commands


def assert_undone_per_file(step: dict[str, Any], files: dict[str, str]) -> None:
    """One Ctrl+Z in dates.py, then one in jobs.py, restored both. VS Code undoes the whole
    edit at the first, or asks whether to: the script then answers "Undo this File"."""
    first = step["filesAfterFirstUndo"]
    assert first["dates.py"] == files["dates.py"]
    if step.get("undoQuestion") is None:
        assert first == files, first
    else:
        assert step["undoQuestion"].startswith(f"Would you like to undo '{RENAME}'")
    assert step["filesAfterUndo"] == files


def playwright_key(binding: str) -> str:
    """A VS Code key binding (`ctrl+alt+e`) as Playwright presses it (`Control+Alt+e`)."""
    names = {"ctrl": "Control", "alt": "Alt", "shift": "Shift", "meta": "Meta"}
    return "+".join(names.get(part, part) for part in binding.split("+"))


@pytest.fixture(scope="module")
def edit_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Tiny instruct models with scripted answers: the rename, one that never stops, and
    one whose answer the server refuses (it leaves code out)."""
    folder = tmp_path_factory.mktemp("vscode-edit-models")
    return {
        "rename": build(folder / "rename.gguf", chat_model(ANSWER)),
        "loop": build(folder / "loop.gguf", chat_model("and again\n", loop=True)),
        "lazy": build(folder / "lazy.gguf", chat_model(
            "dates.py\n```python\ndef parse_iso_date(text):\n    # ... existing code ...\n```\n")),
    }


def test_edits_in_vscode_preview_apply_undo_cancel_and_fail_once(
        vsix: Path, edit_models: dict[str, Path], tmp_path: Path) -> None:
    settings, keybindings = readme_edits()
    settings.update({
        # The scripted models instead of the real ones; the loop gets room to run.
        "lspilot.models.autocomplete": str(edit_models["rename"]),
        "lspilot.models.edit": str(edit_models["rename"]),
        "lspilot.llamaCpp.contextSize": 1024, "lspilot.llamaCpp.threads": 1,
        "lspilot.edit.format": "whole", "lspilot.edit.contextSize": 65536,
        "lspilot.edit.maxTokens": 60000,
    })
    files = {"dates.py": DATES, "jobs.py": JOBS, "notes.md": "# Notes\n"}
    settings["workbench.editor.enablePreview"] = False  # a file opened stays open
    with code_server_session(vsix, tmp_path, files, settings, keybindings) as session:
        seen = drive("edit.mjs", session, tmp_path, timeoutMs=60_000,
                     workspace=str(session["workspace"]), files=list(files),
                     instruction=RENAME, editKey=playwright_key(keybindings[0]["key"]),
                     models={name: str(path) for name, path in edit_models.items()},
                     steps=["codeActionPreviewDiscard", "keyPreviewApplyUndo",
                            "noPreviewApplies", "editFilesCancel", "serverErrorOneMessage"])
    renamed = {**files, "dates.py": NEW_DATES, "jobs.py": NEW_JOBS}
    assert seen["initial"] == files
    steps = seen["steps"]

    # The code action asked for the instruction; the preview lists both files; Discard.
    discard = steps["codeActionPreviewDiscard"]
    assert "edit: rename.gguf" in discard["statusBar"]
    assert "jobs.py" in discard["preview"]["text"] and "dates.py" in discard["preview"]["text"]
    assert "discarded" in discard["result"]
    assert discard["dirtyTabs"] == 0 and discard["files"] == files

    # The key binding; the instruction offered as recent; Apply changes both files, one of
    # them not open; one Ctrl+Z per file undoes it.
    apply = steps["keyPreviewApplyUndo"]
    assert RENAME in apply["offered"][0] and "recent" in apply["offered"][0]
    # The changes need confirmation: VS Code shows them unticked until the user ticks them.
    assert apply["preview"]["unticked"] >= 2 and apply["preview"]["ticked"] >= 2
    assert "edit applied to 2 files" in apply["result"]
    assert not any(tab.startswith("jobs.py") for tab in apply["tabs"]), apply["tabs"]
    assert apply["files"] == renamed
    assert_undone_per_file(apply, files)

    # Preview off (in the Settings editor): applied at once, undone the same way.
    direct = steps["noPreviewApplies"]
    assert direct["previewSetting"] is False and direct["previewSettingAfter"] is True
    assert "edit applied to 2 files" in direct["result"] and direct["previewShown"] == 0
    assert direct["files"] == renamed
    assert_undone_per_file(direct, files)

    # Edit Files… lists the open editors first; Cancel stops the model: nothing changes.
    cancel = steps["editFilesCancel"]
    assert "edit: loop.gguf" in cancel["model"]["statusBar"]
    assert "Other model" in cancel["model"]["rows"][-1]
    # The open editors first (dates.py picked), then the workspace's other files.
    assert cancel["choices"] == ["dates.pyopen", "jobs.pyopen", "notes.md"], cancel["choices"]
    assert re.search(r"writing: \d+ tokens", cancel["progress"]), cancel["progress"]
    assert "cancelled" in cancel["result"]
    assert cancel["notifications"] == [] and cancel["dirtyTabs"] == 0
    assert cancel["files"] == files

    # The server refuses the answer: one notification, its reason, no stack, no change.
    error = steps["serverErrorOneMessage"]
    [message] = error["notifications"]
    assert "leaves code out" in message and "nothing" in message, message
    assert " at " not in message and "Request" not in message
    assert error["dirtyTabs"] == 0 and error["files"] == files


@pytest.mark.real_model
def test_an_edit_with_the_real_1_5b_model_in_vscode(
        vsix: Path, real_model: Path, real_model_1_5b: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    settings, keybindings = readme_edits()
    files = {"dates.py": DATES, "jobs.py": JOBS}
    with code_server_session(vsix, tmp_path, files, {**readme_settings(), **settings},
                             keybindings) as session:
        seen = drive("edit.mjs", session, tmp_path, timeoutMs=300_000,
                     workspace=str(session["workspace"]), files=list(files),
                     instruction=RENAME, previewShot="vscode-edit-preview.png",
                     steps=["realPreviewApply"])
    step = seen["steps"]["realPreviewApply"]
    cold, warm = step["cold"], step["warm"]
    with capsys.disabled():  # the figures belong in the CI log, not only under -s
        print(f"\nVS Code, qwen2.5-coder:1.5b: Enter to refactor preview {cold['previewMs']} ms,"
              f" to applied edit {cold['appliedMs']} ms (first edit: the model loads); again: "
              f"{warm['previewMs']} ms, {warm['appliedMs']} ms (screenshot {cold['shot']})")
    assert "edit: qwen2.5-coder:1.5b" in step["statusBar"]
    for run in ("cold", "warm"):
        assert "edit applied to 2 files" in step[run]["result"]
        assert "jobs.py" in step[run]["previewText"]
        assert all("parse_iso_date" in text and "parse_date(" not in text
                   for text in step[run]["files"].values()), step[run]["files"]
    assert step["filesAfterUndo"] == files
    assert Path(step["cold"]["shot"]).exists()
