"""The application the language server and the CLI drive: settings and their precedence, a
model slot per role, the completion engine, the workspace's context, and the status.

Everything here speaks lspilot's own types; `lsp/` converts. Policy lives here, never in a
converter: which messages reach the user (once per distinct problem), what the status says.
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from lspilot.completion.engine import Engine
from lspilot.completion.pipeline import Completion, CompletionRequest
from lspilot.context.workspace import OpenDocument, Workspace
from lspilot.models.backends.base import BackendError
from lspilot.models.roles import ROLES, Role, RoleFile, parse_model_id, with_role
from lspilot.models.slot import Load, ModelSlot, SlotEvents, store_loader
from lspilot.models.store import ModelError, ModelStore
from lspilot.settings import Settings, parse_settings

log = logging.getLogger(__name__)

GIT_REFRESH_S = 2.0
"""At most this often, a completion request looks for new uncommitted changes."""

Level = Literal["error", "warning", "info"]


class Front(SlotEvents, Protocol):
    """What the session tells the user's front end (the LSP server, the CLI)."""

    def show(self, level: Level, message: str) -> None:
        """Tell the user (already filtered: once per distinct message)."""

    def status_changed(self, urgent: bool = True) -> None:
        """The state behind `Session.status()` changed (`urgent` False: only the recent
        completions' figures did, worth sending now and then)."""


@dataclass(frozen=True)
class Status:
    """What a status bar shows: the autocomplete model's state and recent speed."""

    state: str
    """`loading`, `ready` or `error`."""
    model: str
    backend: str
    template: str | None
    latency_ms: float | None
    tokens_per_second: float | None
    message: str | None
    edit_model: str
    edit_state: str
    """`idle` until the first edit loads it."""


@dataclass
class Recent:
    """The latency and speed of the last few completions."""

    size: int = 10
    completions: deque[Completion] = field(default_factory=deque)

    def add(self, completion: Completion) -> None:
        """Remember one completion, forgetting the oldest."""
        self.completions.append(completion)
        while len(self.completions) > self.size:
            self.completions.popleft()

    @property
    def latency_ms(self) -> float | None:
        """Median end-to-end time of the recent completions."""
        if not self.completions:
            return None
        return round(statistics.median(c.total_ms for c in self.completions), 1)

    @property
    def tokens_per_second(self) -> float | None:
        """Generated tokens over generation time, across the recent completions."""
        tokens = sum(c.stats.generated_tokens for c in self.completions)
        ms = sum(c.stats.generate_ms for c in self.completions if c.stats.generated_tokens)
        return round(tokens * 1000 / ms, 1) if tokens and ms > 0 else None


def backend_kind(model_id: str) -> str:
    """`embedded`, `llama-server`, `ollama` or `openai`."""
    try:
        return parse_model_id(model_id).backend
    except ModelError:
        return "embedded"


@dataclass
class Preferences:
    """Which settings win. Precedence: `lspilot.selectModel` > `--model` > the editor's
    settings > `lspilot models use` (the role file)."""

    base: Settings
    forced_model: str | None = None
    configured: Settings | None = None
    selected: dict[Role, str] = field(default_factory=dict)

    def configure(self, settings: Settings) -> None:
        """The editor's settings changed; a role whose setting changed drops its selection."""
        previous = self.configured or self.base
        for role in list(self.selected):
            if getattr(settings.models, role) != getattr(previous.models, role):
                del self.selected[role]  # the user changed the setting itself: it wins again
        self.configured = settings

    def effective(self) -> Settings:
        """The settings in force."""
        settings = self.configured or self.base
        if self.forced_model is not None:
            settings = with_role(settings, "autocomplete", self.forced_model)
        for role, model_id in self.selected.items():
            settings = with_role(settings, role, model_id)
        return settings


class Session:
    """One user's lspilot: what `serve` runs behind the LSP layer."""

    def __init__(self, store: ModelStore, front: Front,
                 open_documents: Callable[[], Iterable[OpenDocument]],
                 forced_model: str | None = None, load: Load | None = None) -> None:
        self.store = store
        self._front = front
        self._open_documents = open_documents
        self.preferences = Preferences(RoleFile.in_store(store).apply(Settings()), forced_model)
        self.settings = self.preferences.effective()
        load = load or store_loader(store)
        self.slots: dict[Role, ModelSlot] = {
            role: ModelSlot(role, self.settings, load, front) for role in ROLES}
        self.engine = Engine(self.slots["autocomplete"], self.settings)
        self.workspace: Workspace | None = None
        self.recent = Recent()
        self.problem: str | None = None
        """The last completion's failure, while it lasts."""
        self._shown: set[str] = set()
        self._git_refresh: asyncio.Task[None] | None = None
        self._git_refreshed = 0.0
        self._started = False

    # --- messages

    def tell(self, level: Level, message: str) -> None:
        """Tell the user once per distinct message (never once per keystroke)."""
        if message not in self._shown:
            self._shown.add(message)
            self._front.show(level, message)

    def untell(self, message: str) -> None:
        """Let `message` be told again (its cause went away)."""
        self._shown.discard(message)

    # --- settings and models

    def apply_settings(self, raw: Any, *, load: bool = True) -> None:
        """Parse settings from the client; report bad keys; apply the rest live."""
        settings, errors = parse_settings(raw, self.preferences.base)
        for error in errors:
            self.tell("warning", f"lspilot settings: {error}")
        self.preferences.configure(settings)
        self._apply(load=load)

    def select_model(self, role: Role, model_id: str) -> None:
        """Serve `role` with `model_id` from now on (loading it in the background)."""
        self.preferences.selected[role] = model_id
        self._apply()
        self._front.status_changed()

    def _apply(self, *, load: bool = True) -> None:
        settings = self.settings = self.preferences.effective()
        for slot in self.slots.values():
            slot.configure(settings, load=load)
        self.engine.configure(settings)
        workspace = self.workspace
        if workspace is not None and workspace.settings != settings.context:
            if workspace.settings.index_workspace != settings.context.index_workspace:
                self.open_workspace(workspace.root)
            else:
                workspace.settings = settings.context

    # --- life cycle

    def open_workspace(self, root: Path | None) -> None:
        """Start the context engine for the workspace folder (None: open files only)."""
        if self.workspace is not None:
            self.workspace.stop()
        self.workspace = Workspace(root, self.settings.context, self._open_documents)
        self.engine.context = self.workspace
        log.info("workspace: %s", root or "(none)")
        if self._started:
            self.workspace.start()

    def start(self) -> None:
        """Load the autocomplete model and index the workspace, in the background."""
        self._started = True
        self.slots["autocomplete"].start_loading()
        if self.workspace is not None:
            self.workspace.start()
        self.refresh_git_soon()

    async def aclose(self) -> None:
        """Release the models and stop the workspace's threads."""
        if self.workspace is not None:
            self.workspace.stop()
        for slot in self.slots.values():
            await slot.aclose()

    def stop(self) -> None:
        """Stop the workspace's threads (the process is about to exit)."""
        if self.workspace is not None:
            self.workspace.stop()

    def refresh_git_soon(self, touched: tuple[str, ...] = ()) -> None:
        """Look for new uncommitted changes in the background, at most every few seconds."""
        workspace = self.workspace
        if workspace is None or (self._git_refresh is not None and not self._git_refresh.done()):
            return
        if not touched and time.monotonic() - self._git_refreshed < GIT_REFRESH_S:
            return
        self._git_refreshed = time.monotonic()
        self._git_refresh = asyncio.get_running_loop().create_task(
            workspace.refresh_git(touched))

    # --- documents

    def may_complete(self, uri: str) -> bool:
        """False for a file that may hold secrets: its text never reaches a prompt."""
        return self.workspace is None or not self.workspace.secret(uri)

    def changed(self, uri: str, start_line: int, end_line: int, text: str) -> None:
        """An edit in an open document (old line numbers)."""
        if self.workspace is not None:
            self.workspace.changed(uri, start_line, end_line, text)

    def saved(self, uri: str) -> None:
        """A document was written to disk."""
        if self.workspace is not None:
            self.workspace.saved(uri)
            self.refresh_git_soon((self.workspace.relative(uri),))

    def closed(self, uri: str) -> None:
        """A document closed: forget what was kept for it."""
        self.engine.scheduler.close(uri)
        if self.workspace is not None:
            self.workspace.closed(uri)

    # --- completions

    async def complete(self, request: CompletionRequest) -> Completion | None:
        """A completion, or None when the model failed (the user is told once)."""
        self.refresh_git_soon()
        try:
            completion = await self.engine.complete(request)
        except BackendError as exc:
            self.tell("error", f"lspilot: {exc}")
            self._completed(None, str(exc))
            return None
        if self.problem is not None:
            # Recovered: the same failure, if it comes back, is worth telling again.
            self.untell(f"lspilot: {self.problem}")
        self._completed(completion, None)
        return completion

    def _completed(self, completion: Completion | None, problem: str | None) -> None:
        if completion is not None:
            self.recent.add(completion)
        changed = (problem is None) != (self.problem is None)
        self.problem = problem
        self._front.status_changed(urgent=changed)

    # --- status

    def status(self) -> Status:
        """The autocomplete model's state, with the last completion's failure if any."""
        slot = self.slots["autocomplete"]
        backend = slot.backend
        state = {"idle": "loading"}.get(slot.state, slot.state)
        message = slot.error if state == "error" else None
        if state == "ready" and self.problem is not None:
            state, message = "error", self.problem
        edit = self.slots["edit"]
        return Status(state=state, model=slot.model, backend=backend_kind(slot.model),
                      template=backend.template.family
                      if backend is not None and backend.name == slot.model else None,
                      latency_ms=self.recent.latency_ms,
                      tokens_per_second=self.recent.tokens_per_second, message=message,
                      edit_model=edit.model, edit_state=edit.state)
