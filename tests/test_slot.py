"""A model slot per role: lazy and eager loading, switching, failures, retrying a server.

The loader here is a plain function the test controls (a slot takes its loader as an
argument), so these tests need no model file; loading real GGUFs through a slot is covered
end to end in tests/test_lsp_models.py.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from typing import Any

import pytest

from lspilot.models.backends.base import BackendError
from lspilot.models.roles import with_role
from lspilot.models.slot import ModelSlot, Target, for_role
from lspilot.settings import Settings, parse_settings
from lspilot.templates import TEMPLATES


@dataclass
class Named:
    """A backend that is only a name (enough for a slot, which never generates)."""

    name: str
    closed: bool = False
    template = TEMPLATES[0]

    async def aclose(self) -> None:
        self.closed = True


@dataclass
class Events:
    seen: list[tuple[str, ...]] = field(default_factory=list)

    def loading(self, role: str, model: str, done: int, total: int, message: str) -> None:
        self.seen.append(("loading", role, model))

    def loaded(self, role: str, model: str, template: str) -> None:
        self.seen.append(("loaded", role, model))

    def failed(self, role: str, model: str, error: str) -> None:
        self.seen.append(("failed", role, model, error))


@dataclass
class Loader:
    """Loads any name but those in `down`, each once its gate (if any) opens; counts calls."""

    down: set[str] = field(default_factory=set)
    calls: list[str] = field(default_factory=list)
    gates: dict[str, threading.Event] = field(default_factory=dict)
    made: list[Named] = field(default_factory=list)

    def __call__(self, model: str, settings: Settings, progress: Any) -> Named:
        self.calls.append(model)
        if model in self.gates:
            self.gates[model].wait(timeout=30)
        if model in self.down:
            raise BackendError(f"cannot reach {model}")
        self.made.append(Named(model))
        return self.made[-1]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def slot_for(role: str, model: str, loader: Loader, events: Events | None = None,
             clock: Clock | None = None) -> ModelSlot:
    settings = with_role(Settings(), role, model)  # type: ignore[arg-type]
    return ModelSlot(role, settings, loader, events or Events(),  # type: ignore[arg-type]
                     clock=clock or Clock(), retry_seconds=5.0)


async def test_a_slot_loads_on_first_use_and_serves_from_then_on() -> None:
    loader, events = Loader(), Events()
    slot = slot_for("edit", "ollama:m", loader, events)
    assert slot.state == "idle" and loader.calls == []
    backend = await slot.ready()
    assert backend.name == "ollama:m" and slot.state == "ready"
    assert await slot.ready() is backend and loader.calls == ["ollama:m"]
    assert events.seen == [("loading", "edit", "ollama:m"), ("loaded", "edit", "ollama:m")]


async def test_a_new_model_serves_once_loaded_and_the_old_one_is_released() -> None:
    loader = Loader()
    slot = slot_for("autocomplete", "a.gguf", loader)
    switched: list[str] = []
    slot.switched.append(lambda: switched.append(slot.backend.name))  # type: ignore[union-attr]
    old = await slot.ready()
    slot.configure(with_role(slot.settings, "autocomplete", "b.gguf"))
    assert slot.state == "loading"
    new = await slot.ready()
    assert (old.name, new.name) == ("a.gguf", "b.gguf")
    assert old.closed and not new.closed  # type: ignore[attr-defined]
    assert switched == ["a.gguf", "b.gguf"]


async def test_a_slot_never_loaded_stays_lazy_when_settings_change() -> None:
    loader = Loader()
    slot = slot_for("edit", "a.gguf", loader)
    slot.configure(with_role(slot.settings, "edit", "b.gguf"))
    await asyncio.sleep(0)
    assert loader.calls == [] and slot.state == "idle"
    assert (await slot.ready()).name == "b.gguf"


async def test_settings_of_the_other_kind_of_backend_do_not_reload() -> None:
    settings = with_role(Settings(), "autocomplete", "a.gguf")
    other = with_role(Settings(), "autocomplete", "a.gguf")
    assert Target.of(settings, "autocomplete") == Target.of(other, "autocomplete")
    import dataclasses

    servers = dataclasses.replace(settings, servers=dataclasses.replace(
        settings.servers, ollama_url="http://elsewhere"))
    assert Target.of(servers, "autocomplete") == Target.of(settings, "autocomplete")
    assert Target.of(with_role(servers, "autocomplete", "ollama:m"), "autocomplete") != \
        Target.of(with_role(settings, "autocomplete", "ollama:m"), "autocomplete")


async def test_a_failed_load_is_reported_once_and_raises_for_requests() -> None:
    loader, events = Loader(down={"ollama:m"}), Events()
    clock = Clock()
    slot = slot_for("autocomplete", "ollama:m", loader, events, clock)
    with pytest.raises(BackendError, match="cannot reach ollama:m"):
        await slot.ready()
    assert slot.state == "error" and slot.error == "ollama:m: cannot reach ollama:m"
    with pytest.raises(BackendError):
        await slot.ready()  # within the retry pause: no new attempt
    assert loader.calls == ["ollama:m"]
    assert [e[0] for e in events.seen] == ["loading", "failed"]


async def test_a_server_that_was_down_is_tried_again_after_the_pause() -> None:
    loader, clock = Loader(down={"ollama:m"}), Clock()
    slot = slot_for("autocomplete", "ollama:m", loader, clock=clock)
    with pytest.raises(BackendError):
        await slot.ready()
    loader.down.clear()
    clock.now += 4.9
    with pytest.raises(BackendError):
        await slot.ready()
    clock.now += 0.2
    assert (await slot.ready()).name == "ollama:m"
    assert loader.calls == ["ollama:m", "ollama:m"] and slot.state == "ready"


async def test_a_broken_local_model_is_not_retried() -> None:
    loader, clock = Loader(down={"bad.gguf"}), Clock()
    slot = slot_for("autocomplete", "bad.gguf", loader, clock=clock)
    with pytest.raises(BackendError):
        await slot.ready()
    clock.now += 60
    with pytest.raises(BackendError):
        await slot.ready()
    assert loader.calls == ["bad.gguf"]


async def test_an_empty_model_id_is_an_error_not_a_load() -> None:
    loader = Loader()
    slot = slot_for("edit", "", loader)
    with pytest.raises(BackendError, match="no model is configured for edit"):
        await slot.ready()
    assert loader.calls == []


async def test_the_old_model_serves_while_a_switch_fails() -> None:
    loader = Loader(down={"b.gguf"})
    slot = slot_for("autocomplete", "a.gguf", loader)
    await slot.ready()
    slot.configure(with_role(slot.settings, "autocomplete", "b.gguf"))
    served = await slot.ready()
    assert served.name == "a.gguf" and slot.state == "error"


async def test_a_switch_back_while_another_model_loads_keeps_the_serving_one() -> None:
    loader, events = Loader(gates={"b.gguf": threading.Event()}), Events()
    slot = slot_for("autocomplete", "a.gguf", loader, events)
    a = await slot.ready()
    slot.configure(with_role(slot.settings, "autocomplete", "b.gguf"))
    while loader.calls != ["a.gguf", "b.gguf"]:
        await asyncio.sleep(0.01)
    slot.configure(with_role(slot.settings, "autocomplete", "a.gguf"))
    await asyncio.sleep(0)
    # The switch back shows at once, though b's load still holds the loading thread.
    assert events.seen[-1] == ("loading", "autocomplete", "a.gguf")
    loader.gates["b.gguf"].set()
    assert await slot.ready() is a and not a.closed
    while not loader.made[-1].closed:  # b loaded after all: released, never served
        await asyncio.sleep(0.01)
    assert loader.calls == ["a.gguf", "b.gguf"]  # a is not loaded a second time
    assert events.seen[-1] == ("loaded", "autocomplete", "a.gguf")
    assert ("loaded", "autocomplete", "b.gguf") not in events.seen
    assert slot.state == "ready" and slot.backend is a


async def test_a_switch_back_after_a_failed_switch_has_nothing_to_load() -> None:
    loader, events = Loader(down={"b.gguf"}), Events()
    slot = slot_for("autocomplete", "a.gguf", loader, events)
    a = await slot.ready()
    slot.configure(with_role(slot.settings, "autocomplete", "b.gguf"))
    await slot.ready()
    assert slot.state == "error"
    slot.configure(with_role(slot.settings, "autocomplete", "a.gguf"))
    assert await slot.ready() is a
    assert slot.state == "ready" and slot.error is None and loader.calls == ["a.gguf", "b.gguf"]
    assert events.seen[-2:] == [("loading", "autocomplete", "a.gguf"),
                                ("loaded", "autocomplete", "a.gguf")]


async def test_a_loader_that_breaks_unexpectedly_is_an_error_not_a_silent_idle() -> None:
    events = Events()

    def broken(model: str, settings: Settings, progress: Any) -> Named:
        raise MemoryError()

    slot = ModelSlot("autocomplete", with_role(Settings(), "autocomplete", "bad.gguf"), broken,
                     events, clock=Clock())  # type: ignore[arg-type]
    with pytest.raises(BackendError, match=r"could not be loaded \(MemoryError"):
        await slot.ready()
    assert slot.state == "error" and [e[0] for e in events.seen] == ["loading", "failed"]


async def test_a_pool_loads_a_model_once_for_every_slot_and_closes_it_after_the_last() -> None:
    from lspilot.models.pool import BackendPool

    loader = Loader()
    pool = BackendPool(loader)
    slots = [ModelSlot("autocomplete", with_role(Settings(), "autocomplete", "a.gguf"), pool.load,
                       Events(), release=pool.release, clock=Clock()) for _ in range(3)]
    served = [await slot.ready() for slot in slots]
    assert loader.calls == ["a.gguf"] and all(b is served[0] for b in served)
    assert pool.users() == {"a.gguf": 3}
    slots[0].configure(with_role(slots[0].settings, "autocomplete", "b.gguf"))
    assert (await slots[0].ready()).name == "b.gguf"
    await slots[1].aclose()
    assert not served[0].closed and pool.users() == {"a.gguf": 1, "b.gguf": 1}  # type: ignore[attr-defined]
    await slots[2].aclose()
    assert served[0].closed and pool.users() == {"b.gguf": 1}  # type: ignore[attr-defined]


async def test_a_pool_loads_once_for_editors_that_ask_at_the_same_time() -> None:
    from lspilot.models.pool import BackendPool

    loader = Loader(gates={"a.gguf": threading.Event()})
    pool = BackendPool(loader)
    slots = [ModelSlot("autocomplete", with_role(Settings(), "autocomplete", "a.gguf"), pool.load,
                       Events(), release=pool.release, clock=Clock()) for _ in range(2)]
    waiting = [asyncio.create_task(slot.ready()) for slot in slots]
    while not loader.calls:
        await asyncio.sleep(0.01)
    loader.gates["a.gguf"].set()
    first, second = await asyncio.gather(*waiting)
    assert first is second and loader.calls == ["a.gguf"]


async def test_an_edit_asks_for_the_configured_model_not_the_old_one() -> None:
    loader = Loader(down={"b.gguf"})
    slot = slot_for("edit", "a.gguf", loader)
    await slot.ready()
    slot.configure(with_role(slot.settings, "edit", "b.gguf"))
    with pytest.raises(BackendError, match=r"cannot reach b\.gguf"):
        await slot.ready(configured=True)


@pytest.mark.parametrize(("lookup", "role", "drafts", "context"), [
    (10, "edit", 10, 8192), (10, "autocomplete", 0, 4096), (0, "edit", 0, 8192),
    (0, "autocomplete", 0, 4096)])
def test_only_the_edit_model_drafts_from_its_prompt(lookup: int, role: Any, drafts: int,
                                                    context: int) -> None:
    settings, errors = parse_settings({"llamaCpp": {"promptLookup": lookup,
                                                    "contextSize": 4096},
                                       "edit": {"contextSize": 8192}})
    assert not errors
    runtime = for_role(settings, role).llama_cpp
    assert (runtime.prompt_lookup, runtime.context_size) == (drafts, context)
