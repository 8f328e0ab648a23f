"""Model ids, roles kept between runs, the memory check, and what listModels offers."""

from __future__ import annotations

from pathlib import Path

import pytest

from lspilot.models import memory
from lspilot.models.backends.base import EmbeddedConfig, OllamaConfig
from lspilot.models.backends.http_client import estimate_tokens
from lspilot.models.listing import list_models
from lspilot.models.roles import (
    ModelRef,
    RoleFile,
    backend_config,
    parse_model_id,
    with_role,
)
from lspilot.models.store import ModelError, ModelStore
from lspilot.settings import DEFAULT_EDIT_MODEL, LlamaCppSettings, ServersSettings, Settings
from tests.replay_server import OLLAMA_MODEL, Replay, free_port, serving


@pytest.mark.parametrize(("model_id", "expected"), [
    ("qwen2.5-coder:0.5b", ModelRef("embedded", "qwen2.5-coder:0.5b")),
    ("/models/x.gguf", ModelRef("embedded", "/models/x.gguf")),
    ("ollama:qwen2.5-coder:1.5b-base", ModelRef("ollama", "qwen2.5-coder:1.5b-base")),
    ("openai:Qwen/Qwen2.5-Coder-1.5B", ModelRef("openai", "Qwen/Qwen2.5-Coder-1.5B")),
    ("llama-server:default", ModelRef("llama-server", "default")),
])
def test_parse_model_id(model_id: str, expected: ModelRef) -> None:
    assert parse_model_id(model_id) == expected


def test_a_backend_without_a_model_is_an_error() -> None:
    with pytest.raises(ModelError, match="name the model after `ollama:`"):
        parse_model_id("ollama:")


def test_backend_config_for_each_kind(tiny_model: Path, tmp_path: Path) -> None:
    store = ModelStore(tmp_path)
    runtime, servers = LlamaCppSettings(context_size=512), ServersSettings()
    config = backend_config(str(tiny_model), runtime, servers, store, lambda *a: None)
    assert config == EmbeddedConfig(str(tiny_model), tiny_model, runtime,
                                    draft=runtime.prompt_lookup)
    config = backend_config("ollama:m", runtime, servers, store, lambda *a: None)
    assert config == OllamaConfig("ollama:m", "m", servers)


def test_roles_chosen_on_the_command_line_are_the_defaults(tmp_path: Path) -> None:
    roles = RoleFile(tmp_path / "roles.json")
    assert roles.apply(Settings()) == Settings()
    roles.write("autocomplete", "qwen2.5-coder:1.5b")
    roles.write("edit", "openai:chat")
    settings = roles.apply(Settings())
    assert (settings.models.autocomplete, settings.models.edit) == ("qwen2.5-coder:1.5b",
                                                                   "openai:chat")
    (tmp_path / "roles.json").write_text("{not json")
    assert roles.apply(Settings()) == Settings()  # a damaged file chooses nothing


def test_kv_cache_shape_is_read_from_the_gguf_header(tiny_model: Path) -> None:
    # tests/tiny_gguf.py: 2 layers, 2 KV heads, 384 / 4 heads = 96 per head
    shape = memory.read_shape(tiny_model)
    assert shape == memory.ModelShape(layers=2, kv_heads=2, key_length=96, value_length=96)
    estimate = memory.estimate(tiny_model, 1024)
    assert estimate.kv_bytes == 2 * 2 * (96 + 96) * 1024 * 2
    assert estimate.file_bytes == tiny_model.stat().st_size


def test_a_file_that_is_not_gguf_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.gguf"
    path.write_bytes(b"not a model")
    with pytest.raises(ModelError, match="not a readable GGUF file"):
        memory.read_shape(path)


@pytest.mark.parametrize(("available", "fits"), [(None, True), (3 << 30, True),
                                                 (2 << 30, True), ((2 << 30) - 1, False)])
def test_check_fits(available: int | None, fits: bool) -> None:
    needed = memory.MemoryEstimate(file_bytes=3 << 29, kv_bytes=1 << 29)  # 2 GiB in all
    if fits:
        memory.check_fits("big", needed, available)
    else:
        with pytest.raises(ModelError, match=r"big needs about 2\.0 GiB \(1\.5 GiB of weights "
                                             r"\+ 0\.5 GiB of KV cache\) but only 2\.0 GiB"):
            memory.check_fits("big", needed, available)


def test_available_memory_is_read_from_meminfo(tmp_path: Path) -> None:
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       24000000 kB\nMemAvailable:    1000 kB\n")
    assert memory.available_bytes(meminfo) == 1000 * 1024
    assert memory.available_bytes(tmp_path / "missing") is None


@pytest.mark.parametrize(("text", "tokens"), [("", 0), ("a", 1), ("abc", 1), ("abcd", 2),
                                              ("é", 1), ("😋😋", 3)])
def test_token_estimate_for_servers(text: str, tokens: int) -> None:
    assert estimate_tokens(text) == tokens


async def test_list_models_without_servers(tmp_path: Path, tiny_model: Path) -> None:
    down = f"http://127.0.0.1:{free_port()}"
    settings = Settings(servers=ServersSettings(ollama_url=down, openai_url=down))
    settings = with_role(settings, "autocomplete", str(tiny_model))
    listed = await list_models(settings, ModelStore(tmp_path))
    assert listed["active"] == {"autocomplete": str(tiny_model), "edit": DEFAULT_EDIT_MODEL}
    assert [m["id"] for m in listed["models"]] == ["qwen2.5-coder:0.5b", "qwen2.5-coder:1.5b",
                                                   str(tiny_model)]
    assert [m["cached"] for m in listed["models"]] == [False, False, True]


async def test_list_models_includes_what_a_server_serves(tmp_path: Path) -> None:
    with serving(Replay()) as url:
        down = f"http://127.0.0.1:{free_port()}"
        settings = Settings(servers=ServersSettings(ollama_url=url, openai_url=down))
        listed = await list_models(settings, ModelStore(tmp_path))
    assert listed["models"][-1] == {"id": f"ollama:{OLLAMA_MODEL}", "cached": True,
                                    "description": f"{OLLAMA_MODEL} on Ollama at {url}"}
