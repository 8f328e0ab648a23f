"""Model ids and roles: what `autocomplete` or `edit` names, and how it becomes a backend.

A model id is a catalog name (`qwen2.5-coder:0.5b`), the path of a `.gguf` file, or
`BACKEND:MODEL` for a model on an inference server (`ollama:qwen2.5-coder:1.5b-base`,
`openai:Qwen/Qwen2.5-Coder-1.5B`, `llama-server:default`). Roles chosen on the command line
(`lspilot models use`) are kept in `$LSPILOT_HOME/roles.json` and are the defaults that an
editor's settings override.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from lspilot.models import memory
from lspilot.models.backends.base import (
    BackendConfig,
    EmbeddedConfig,
    LlamaServerConfig,
    OllamaConfig,
    OpenAIConfig,
)
from lspilot.models.store import ModelError, ModelStore, Progress
from lspilot.settings import LlamaCppSettings, ServersSettings, Settings

log = logging.getLogger(__name__)

Role = Literal["autocomplete", "edit"]
ROLES: tuple[Role, ...] = ("autocomplete", "edit")
SERVER_BACKENDS: dict[str, type[LlamaServerConfig | OllamaConfig | OpenAIConfig]] = {
    "llama-server": LlamaServerConfig, "ollama": OllamaConfig, "openai": OpenAIConfig}


@dataclass(frozen=True)
class ModelRef:
    """A parsed model id."""

    backend: str
    """`embedded`, or the server backend's name."""
    model: str
    """Catalog name or path (embedded), or the model's name on the server."""


def parse_model_id(model_id: str) -> ModelRef:
    """Split `BACKEND:MODEL`; anything else is a catalog name or a path (embedded)."""
    backend, sep, model = model_id.partition(":")
    if sep and backend in SERVER_BACKENDS:
        if not model.strip():
            raise ModelError(f"{model_id!r}: name the model after `{backend}:`")
        return ModelRef(backend, model)
    return ModelRef("embedded", model_id)


def backend_config(model_id: str, llama_cpp: LlamaCppSettings, servers: ServersSettings,
                   store: ModelStore, progress: Progress) -> BackendConfig:
    """The config that loads `model_id`: a catalog model is fetched first and every local
    model is checked against free memory (blocking)."""
    ref = parse_model_id(model_id)
    if ref.backend != "embedded":
        return SERVER_BACKENDS[ref.backend](model_id, ref.model, servers)
    path = store.resolve(ref.model, progress)
    needed = memory.estimate(path, llama_cpp.context_size)
    memory.check_fits(model_id, needed, memory.available_bytes())
    return EmbeddedConfig(name=model_id, path=path, llama_cpp=llama_cpp,
                          draft=llama_cpp.prompt_lookup)


def with_role(settings: Settings, role: Role, model_id: str) -> Settings:
    """`settings` with `role` served by `model_id`."""
    return dataclasses.replace(settings, models=dataclasses.replace(
        settings.models, **{role: model_id}))


@dataclass(frozen=True)
class RoleFile:
    """The roles chosen with `lspilot models use`, kept between runs."""

    path: Path

    @classmethod
    def in_store(cls, store: ModelStore) -> RoleFile:
        """The file beside the model cache."""
        return cls(store.home / "roles.json")

    def read(self) -> dict[str, str]:
        """Role -> model id; a missing or unreadable file chooses nothing."""
        try:
            raw = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.warning("ignoring %s: %s", self.path, exc)
            return {}
        if not isinstance(raw, Mapping):
            return {}
        return {r: str(raw[r]) for r in ROLES if isinstance(raw.get(r), str) and raw[r]}

    def write(self, role: Role, model_id: str) -> None:
        """Choose `model_id` for `role`."""
        roles = self.read() | {role: model_id}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_suffix(".json.part")
        partial.write_text(json.dumps(roles, indent=2) + "\n")
        partial.replace(self.path)

    def apply(self, settings: Settings) -> Settings:
        """`settings` with the chosen roles."""
        for role, model_id in self.read().items():
            settings = with_role(settings, role, model_id)  # type: ignore[arg-type]
        return settings
