"""Will a model fit? Its file plus its KV cache for the context size, against free RAM.

The shape of the KV cache is read from the GGUF header (no tensor data is read), so the
check costs milliseconds and happens before llama.cpp maps the file. `gguf.GGUFReader`
would read the same header, but it makes a numpy view of every array item: on Qwen2.5's
151k-token vocabulary it took about 80 times as long as this reader (25 s against 0.3 s on
a busy 2-core machine), and it imports numpy. tests/test_memory.py holds this reader to
GGUFReader's answers, field by field.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from lspilot.models.store import ModelError

_GGUF_MAGIC = b"GGUF"
# GGUF value types -> struct format of a scalar (https://github.com/ggml-org/ggml/blob/master/docs/gguf.md)
_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?",
            10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9
_MAX_STRING = 1 << 24
"""Longer than any metadata string a GGUF holds (chat templates are kilobytes)."""
_KV_BYTES = 2
"""llama.cpp keeps K and V in f16 by default."""


@dataclass(frozen=True)
class ModelShape:
    """What the KV cache's size depends on."""

    layers: int
    kv_heads: int
    key_length: int
    value_length: int

    def kv_bytes(self, context_size: int) -> int:
        """Bytes of the K and V caches for `context_size` tokens."""
        per_token = self.layers * self.kv_heads * (self.key_length + self.value_length)
        return per_token * context_size * _KV_BYTES


@dataclass(frozen=True)
class MemoryEstimate:
    """The memory a model needs once loaded."""

    file_bytes: int
    kv_bytes: int

    @property
    def total(self) -> int:
        """File (mapped, then resident) plus KV cache."""
        return self.file_bytes + self.kv_bytes


def read_shape(path: Path) -> ModelShape:
    """The KV-cache shape from a GGUF file's metadata."""
    try:
        with path.open("rb") as f:
            metadata = _read_metadata(f)
    except (OSError, struct.error, UnicodeDecodeError, ValueError, OverflowError) as exc:
        raise ModelError(f"{path.name}: not a readable GGUF file ({exc})") from exc
    arch = str(metadata.get("general.architecture", ""))
    try:
        layers = int(metadata[f"{arch}.block_count"])  # type: ignore[call-overload]
        heads = int(metadata[f"{arch}.attention.head_count"])  # type: ignore[call-overload]
        embedding = int(metadata[f"{arch}.embedding_length"])  # type: ignore[call-overload]
    except KeyError as exc:
        raise ModelError(f"{path.name}: GGUF metadata lacks {exc}") from exc
    kv_heads = int(metadata.get(f"{arch}.attention.head_count_kv", heads))  # type: ignore[call-overload]
    head_size = embedding // heads
    return ModelShape(
        layers=layers, kv_heads=kv_heads,
        key_length=int(metadata.get(f"{arch}.attention.key_length", head_size)),  # type: ignore[call-overload]
        value_length=int(metadata.get(f"{arch}.attention.value_length", head_size)))  # type: ignore[call-overload]


def estimate(path: Path, context_size: int) -> MemoryEstimate:
    """The memory the model at `path` needs with a `context_size`-token KV cache."""
    return MemoryEstimate(path.stat().st_size, read_shape(path).kv_bytes(context_size))


def available_bytes(meminfo: Path = Path("/proc/meminfo")) -> int | None:
    """RAM the kernel can give without swapping (`MemAvailable`); None where unknown."""
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def check_fits(name: str, needed: MemoryEstimate, available: int | None) -> None:
    """Refuse, with the figures, a model that would not fit in `available` bytes."""
    if available is None or needed.total <= available:
        return
    raise ModelError(
        f"{name} needs about {needed.total / 2**30:.1f} GiB ({needed.file_bytes / 2**30:.1f} GiB "
        f"of weights + {needed.kv_bytes / 2**30:.1f} GiB of KV cache) but only "
        f"{available / 2**30:.1f} GiB is free; choose a smaller model or lower "
        "llamaCpp.contextSize")


def _read_metadata(f: BinaryIO) -> dict[str, object]:
    if f.read(4) != _GGUF_MAGIC:
        raise ValueError("bad magic")
    (version,) = struct.unpack("<I", f.read(4))
    if version < 2:
        raise ValueError(f"GGUF version {version} is too old")
    _tensors, count = struct.unpack("<QQ", f.read(16))
    metadata: dict[str, object] = {}
    for _ in range(count):
        key = _read_string(f)
        (kind,) = struct.unpack("<I", f.read(4))
        metadata[key] = _read_value(f, kind)
    return metadata


def _read_string(f: BinaryIO) -> str:
    (length,) = struct.unpack("<Q", f.read(8))
    if length > _MAX_STRING:  # a corrupt length would be allocated before it is read
        raise ValueError(f"a string of {length} bytes")
    return f.read(length).decode("utf-8")


def _read_value(f: BinaryIO, kind: int) -> object:
    if kind == _STRING:
        return _read_string(f)
    if kind == _ARRAY:
        (item_kind,) = struct.unpack("<I", f.read(4))
        (length,) = struct.unpack("<Q", f.read(8))
        if item_kind in _SCALARS:  # skipped: vocabularies are large and not needed here
            f.seek(struct.calcsize(_SCALARS[item_kind]) * length, 1)
        else:
            for _ in range(length):
                _read_value(f, item_kind)
        return None
    if kind not in _SCALARS:
        raise ValueError(f"unknown GGUF value type {kind}")
    fmt = _SCALARS[kind]
    return struct.unpack(fmt, f.read(struct.calcsize(fmt)))[0]
