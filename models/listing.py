"""Which models a user can choose: the catalog, what the settings name, and what the
configured inference servers serve."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from lspilot.models.backends import http_ollama, http_openai
from lspilot.models.backends.base import BackendError
from lspilot.models.catalog import CATALOG
from lspilot.models.roles import parse_model_id
from lspilot.models.store import ModelError, ModelStore
from lspilot.settings import DEFAULT_MODEL, ServersSettings, Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelEntry:
    """One choosable model (`cached`: usable without a download)."""

    id: str
    description: str
    cached: bool


def local_models(store: ModelStore, active: list[str]) -> list[ModelEntry]:
    """The catalog, then active models outside it (GGUF paths, server models)."""
    entries = [ModelEntry(spec.name, spec.description
                          + (" (default)" if spec.name == DEFAULT_MODEL else ""),
                          store.is_cached(spec)) for spec in CATALOG.values()]
    for model_id in dict.fromkeys(active):  # one entry when one model serves both roles
        if model_id and model_id not in CATALOG:
            entries.append(_entry(model_id))
    return entries


def _entry(model_id: str) -> ModelEntry:
    try:
        ref = parse_model_id(model_id)
    except ModelError as exc:
        return ModelEntry(model_id, str(exc), False)
    if ref.backend == "embedded":
        return ModelEntry(model_id, "GGUF file", Path(model_id).expanduser().is_file())
    return ModelEntry(model_id, f"{ref.model} on {ref.backend}", True)


async def server_models(servers: ServersSettings) -> list[ModelEntry]:
    """The models Ollama and the OpenAI-compatible server list; a server that does not
    answer is skipped (it is optional)."""

    def ollama() -> list[ModelEntry]:
        server = http_ollama.open_server(servers)
        return [ModelEntry(f"ollama:{name}", f"{name} on Ollama at {server.base_url}", True)
                for name in http_ollama.model_names(server)]

    def openai() -> list[ModelEntry]:
        server = http_openai.open_server(servers)
        return [ModelEntry(f"openai:{name}", f"{name} at {server.base_url}", True)
                for name in http_openai.model_ids(server)]

    found: list[ModelEntry] = []
    results = await asyncio.gather(asyncio.to_thread(ollama), asyncio.to_thread(openai),
                                   return_exceptions=True)
    for result in results:
        if isinstance(result, BackendError):
            log.info("not listing a server's models: %s", result)
        elif isinstance(result, BaseException):
            raise result
        else:
            found.extend(result)
    return found


async def list_models(settings: Settings, store: ModelStore) -> dict[str, Any]:
    """`lspilot.listModels`'s answer: every choosable model and the active ones."""
    active = [settings.models.autocomplete, settings.models.edit]
    entries = local_models(store, active)
    known = {e.id for e in entries}
    entries += [e for e in await server_models(settings.servers) if e.id not in known]
    return {"models": [asdict(e) for e in entries],
            "active": {"autocomplete": settings.models.autocomplete,
                       "edit": settings.models.edit or None}}
