"""Start and stop llama-cpp-python's own OpenAI-compatible server (`llama_cpp.server`)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.polling import wait_until


@contextmanager
def llama_cpp_server(models: dict[str, Path], port: int, *, n_ctx: int = 1024,
                     threads: int = 1, api_key: str | None = None,
                     log: Path) -> Iterator[str]:
    """A server on 127.0.0.1:`port` with each model under its alias; yields the API base.
    Its config and output go beside `log` (a test's temporary folder)."""
    config = {"host": "127.0.0.1", "port": port, "api_key": api_key,
              "models": [{"model": str(path), "model_alias": alias, "n_ctx": n_ctx,
                          "n_threads": threads, "n_threads_batch": threads, "verbose": False}
                         for alias, path in models.items()]}
    config_file = log.with_suffix(".json")
    config_file.write_text(json.dumps({k: v for k, v in config.items() if v is not None}))
    out = log.open("wb")
    process = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--config_file",
                                str(config_file)], stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/v1"
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        def models_status() -> int | str:
            assert process.poll() is None, f"llama_cpp.server exited: see {out.name}"
            try:
                return httpx.get(f"{base}/models", headers=headers, timeout=2).status_code
            except httpx.HTTPError as error:
                return repr(error)

        wait_until(models_status, lambda status: status == 200, what="llama_cpp.server",
                   timeout=120, interval=0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        out.close()
