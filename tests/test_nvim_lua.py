"""The Neovim plugin's Lua unit tests (`editors/nvim/tests/*_test.lua`), each run in a real
headless Neovim: `nvim --headless --clean -l FILE`."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.neovim import NO_PYTHON_PROVIDER, PLUGIN, find_nvim

LUA_TESTS = sorted((PLUGIN / "tests").glob("*_test.lua"))


@pytest.mark.parametrize("script", LUA_TESTS, ids=[p.stem for p in LUA_TESTS])
def test_lua(script: Path, tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "TMPDIR": str(tmp_path),
           **{name: str(tmp_path / name.lower()) for name in
              ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME")}}
    run = subprocess.run([find_nvim(), "--headless", "--clean", "--cmd",
                          f"lua {NO_PYTHON_PROVIDER}", "-l", str(script)],
                         capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    summary = output.strip().splitlines()[-1]
    assert summary.endswith(" 0 failed") and not summary.startswith("0 passed"), output
