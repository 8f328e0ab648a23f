"""The VS Code extension: its unit tests and package, and a real VS Code typing into a file.

The real editor is code-server (VS Code 1.100 in the browser) driven in Chromium by
playwright-core, with the built `lspilot.vsix` installed and the real server and 0.5B model.
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
from pathlib import Path
from typing import Any

import pytest

from lspilot.models.store import ModelStore
from lspilot.settings import json_schema
from tests.polling import wait_until

ROOT = Path(__file__).resolve().parent.parent
EXTENSION = ROOT / "editors" / "vscode"
E2E = EXTENSION / "e2e"
ARTIFACTS = ROOT / "editors" / "artifacts"
README = (ROOT / "README.md").read_text()
CODE_SERVER = E2E / "node_modules" / ".bin" / "code-server"
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
                   if key.startswith("lspilot.server.")}
    assert set(client_only) == {"lspilot.server.path", "lspilot.server.args"}
    expected = {**client_only, **contributed(json_schema())}
    if UPDATE:
        package["contributes"]["configuration"]["properties"] = expected
        path.write_text(json.dumps(package, indent=2) + "\n")
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


@pytest.fixture
def code_server(vsix: Path, real_model: Path, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """code-server with the .vsix installed, the README's settings, and a workspace."""
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
    (workspace / "add.py").write_text("def add(a, b):\n    ")
    settings = {
        # Only what keeps a test run quiet; the lspilot settings are the README's.
        "workbench.startupEditor": "none",
        "security.workspace.trust.enabled": False,
        "files.autoSave": "off",
        **readme_settings(),
    }
    (data / "User" / "settings.json").write_text(json.dumps(settings, indent=2))
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


@pytest.mark.real_model
def test_typing_in_vscode_shows_the_servers_ghost_text_and_tab_accepts_it(
        code_server: dict[str, Any], tmp_path: Path, real_model: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    config = {key: code_server[key] for key in ("url", "chromium", "profile")}
    config.update(file="add.py", keys="return ", artifacts=str(ARTIFACTS), timeoutMs=90_000,
                  model=str(real_model))
    config_path = tmp_path / "e2e.json"
    config_path.write_text(json.dumps(config))
    run = subprocess.run(["node", str(E2E / "ghost.mjs"), str(config_path)], cwd=E2E,
                         env=code_server["env"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    logs = "".join(path.read_text()[-3000:]
                   for path in code_server["logs"].glob("**/lspilot.lspilot/*.log"))
    assert seen["ok"], (f"{seen['error']}\nscreenshot: {ARTIFACTS / 'vscode-failure.png'}\n"
                        + "\n".join(seen["console"][-30:]) + f"\nextension log:\n{logs}")
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
