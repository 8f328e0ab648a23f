"""The GGUF header reader of `models/memory.py`, checked against `gguf.GGUFReader`.

The gguf package's reader is the reference: it parses every field (each array item becomes
a numpy view), which costs seconds on a 151k-token vocabulary, so `lspilot` reads the header
itself and the tests hold it to the library's answers on files the library writes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from gguf import GGUFReader, GGUFValueType, GGUFWriter

from lspilot.models import memory


def reference_metadata(path: Path) -> dict[str, Any]:
    """Every key-value field as gguf reads it; arrays as None (the header reader skips them)."""
    fields = GGUFReader(path, "r").fields
    result: dict[str, Any] = {}
    for key, field in fields.items():
        if key.startswith("GGUF."):  # the reader's own entries for the file header
            continue
        if field.types[0] == GGUFValueType.ARRAY:
            result[key] = None
        else:
            result[key] = field.contents()
    return result


def every_type(path: Path) -> Path:
    """A GGUF with a value of each type, arrays of scalars, strings and arrays, one tensor."""
    writer = GGUFWriter(str(path), "llama")
    writer.add_block_count(3)
    writer.add_embedding_length(64)
    writer.add_head_count(8)
    writer.add_key_length(16)
    writer.add_value_length(12)
    for number, kind in enumerate([GGUFValueType.UINT8, GGUFValueType.INT8,
                                   GGUFValueType.UINT16, GGUFValueType.INT16,
                                   GGUFValueType.UINT32, GGUFValueType.INT32,
                                   GGUFValueType.UINT64, GGUFValueType.INT64]):
        writer.add_key_value(f"test.int{number}", 7 * (number + 1), kind)
    writer.add_key_value("test.f32", 0.5, GGUFValueType.FLOAT32)
    writer.add_key_value("test.f64", -2.25, GGUFValueType.FLOAT64)
    writer.add_bool("test.bool", True)
    writer.add_string("test.text", "héllo 😋")
    writer.add_array("test.ints", [1, 2, 3])
    writer.add_array("test.texts", ["a", "bé", ""])
    writer.add_array("test.nested", [[1, 2], [3]])
    writer.add_string("test.after", "the reader kept its place")
    writer.add_tensor("w", np.ones((4, 4), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def test_the_header_reader_agrees_with_gguf_on_a_model(tiny_model: Path) -> None:
    with tiny_model.open("rb") as f:
        metadata = memory._read_metadata(f)
    assert metadata == reference_metadata(tiny_model)
    assert metadata["general.architecture"] == "qwen2"


def test_every_value_type_and_the_shape_from_explicit_head_sizes(tmp_path: Path) -> None:
    path = every_type(tmp_path / "types.gguf")
    with path.open("rb") as f:
        metadata = memory._read_metadata(f)
    assert metadata == reference_metadata(path)
    assert metadata["test.after"] == "the reader kept its place"
    # No head_count_kv: as many KV heads as heads; key and value sizes as written.
    assert memory.read_shape(path) == memory.ModelShape(layers=3, kv_heads=8, key_length=16,
                                                        value_length=12)
