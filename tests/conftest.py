"""Shared fixtures: tiny real GGUF models, the real 0.5B model, cursor markers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

from lspilot.models.catalog import CATALOG
from lspilot.models.store import ModelStore
from tests.tiny_gguf import TinyModel, build

# Property tests run the same examples on every run and machine (derandomized, no example
# database, no deadline on a shared CPU); HYPOTHESIS_PROFILE=explore searches afresh.
settings.register_profile("ci", derandomize=True, database=None, deadline=None,
                          print_blob=True)
settings.register_profile("explore", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

CURSOR = "█"
REAL_MODELS = {"real_model", "real_model_1_5b"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Put each test in its tier by what it uses, so that a new test needs no mark."""
    for item in items:
        if REAL_MODELS & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.real_model)
        if item.path.name.startswith("test_editor_") and _uses_own_fixture(item):
            item.add_marker(pytest.mark.editor)  # its module's fixtures start the editor


def _uses_own_fixture(item: pytest.Item) -> bool:
    # The editor modules' plain checks of docs and settings take no fixture of their own.
    module = getattr(item, "module", None)
    return any(name in vars(module) for name in getattr(item, "fixturenames", ()))


def at_cursor(text: str) -> tuple[str, int]:
    """Text with the cursor marker removed, and the cursor's offset."""
    assert text.count(CURSOR) == 1, "mark the cursor exactly once"
    return text.replace(CURSOR, ""), text.index(CURSOR)


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder for the session's tiny models."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def tiny_model(tiny_dir: Path) -> Path:
    """A qwen2.5-coder-vocabulary model that completes `a + b` after <|fim_middle|>."""
    return build(tiny_dir / "tiny-qwen.gguf")


@pytest.fixture(scope="session")
def looping_model(tiny_dir: Path) -> Path:
    """A model that never stops by itself (emits `xyz` forever)."""
    return build(tiny_dir / "tiny-loop.gguf", TinyModel(script="xyz", loop=True))


@pytest.fixture(scope="session")
def real_model() -> Path:
    """The real Qwen2.5-Coder 0.5B (fetched once into the user's cache, sha256-verified)."""
    if os.environ.get("LSPILOT_SKIP_REAL_MODEL"):
        pytest.skip("LSPILOT_SKIP_REAL_MODEL is set")
    return ModelStore.from_env().fetch(CATALOG["qwen2.5-coder:0.5b"])


@pytest.fixture(scope="session")
def real_model_1_5b() -> Path:
    """The real Qwen2.5-Coder 1.5B (fetched once into the user's cache, sha256-verified)."""
    if os.environ.get("LSPILOT_SKIP_REAL_MODEL"):
        pytest.skip("LSPILOT_SKIP_REAL_MODEL is set")
    return ModelStore.from_env().fetch(CATALOG["qwen2.5-coder:1.5b"])
