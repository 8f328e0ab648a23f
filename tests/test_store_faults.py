"""The disk fills up while a model downloads: the fetch fails with the reason, nothing is taken
as verified, and once there is room the same fetch completes. Through the public
`ModelStore.fetch`, against a real HTTP server on loopback; the full disk is a real one (a
1 MiB tmpfs, where the test may mount one) or the kernel's own full device (`/dev/full`)."""

from __future__ import annotations

import hashlib
import os
import random
import subprocess
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread

import pytest

from lspilot.models.catalog import HuggingFaceSource, ModelSpec
from lspilot.models.store import ModelError, ModelStore

PAYLOAD = random.Random(14).randbytes(3 * 2**20)
SPEC = ModelSpec(name="tiny:full", description="a model bigger than the disk left",
                 file_name="tiny-full.gguf", size=len(PAYLOAD),
                 sha256=hashlib.sha256(PAYLOAD).hexdigest(),
                 sources=(HuggingFaceSource("me/tiny", "tiny-full.gguf"),))


@pytest.fixture
def endpoint() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            if not self.path.endswith("/tiny-full.gguf"):
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(PAYLOAD)))
            self.end_headers()
            self.wfile.write(PAYLOAD)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    thread.join()


def taken_as_verified(store: ModelStore) -> bool:
    """Whether any file would be used as the model without fetching it again."""
    return store.is_cached(SPEC) or store.path_for(SPEC).exists()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs (root on Linux); skipped where mounting is not allowed."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)],
                          capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_a_disk_that_fills_mid_download_fails_cleanly_then_fetches_once_grown(
        small_disk: Path, endpoint: str) -> None:
    store = ModelStore(small_disk, hf_endpoint=endpoint)
    with pytest.raises(ModelError, match="No space left on device"):
        store.fetch(SPEC)
    assert not taken_as_verified(store)
    subprocess.run(["mount", "-o", "remount,size=16m", str(small_disk)], check=True)
    assert store.fetch(SPEC).read_bytes() == PAYLOAD
    assert store.is_cached(SPEC)


def test_a_full_device_fails_the_download_cleanly(tmp_path: Path, endpoint: str) -> None:
    store = ModelStore(tmp_path, hf_endpoint=endpoint)
    partial = store.path_for(SPEC).with_name(SPEC.file_name + ".part")
    partial.parent.mkdir(parents=True)
    os.symlink("/dev/full", partial)  # every write there fails with ENOSPC, as on a full disk
    with pytest.raises(ModelError, match="No space left on device"):
        store.fetch(SPEC)
    assert not taken_as_verified(store)
    partial.unlink(missing_ok=True)  # room again (the store may have dropped the partial)
    assert store.fetch(SPEC).read_bytes() == PAYLOAD and store.is_cached(SPEC)
