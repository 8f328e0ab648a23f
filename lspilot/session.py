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
from lspilot.context.ignore import Exclusions
from lspilot.context.workspace import OpenDocument, Workspace
from lspilot.edits.gather import Budget, build_task
from lspilot.edits.run import EditResult, Progress, choose_format, run_edit
from lspilot.edits.sources import read_file
from lspilot.edits.task import EditError, Selection, SourceFile
from lspilot.models.backends.base import BackendError
from lspilot.models.roles import ROLES, Role, RoleFile, parse_model_id, with_role
from lspilot.models.slot import Load, ModelSlot, Release, SlotEvents, store_loader
from lspilot.models.store import ModelError, ModelStore
from lspilot.settings import Settings, parse_settings

log = logging.getLogger(__name__)

EDIT_OVERHEAD_TOKENS = 768
"""Prompt tokens an edit keeps for the format's instructions and the chat template."""

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

    def refreshed(self, uri: str) -> None:
        """A better suggestion is ready for the document's cursor: ask again to show it."""


@dataclass(frozen=True)
class EditRequest:
    """An instruction over workspace files, in our own terms."""

    instruction: str
    paths: tuple[str, ...] = ()
    """Workspace-relative paths the user picked."""
    selection: Selection | None = None


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
                 forced_model: str | None = None, load: Load | None = None,
                 release: Release | None = None) -> None:
        self.store = store
        self._front = front
        self._open_documents = open_documents
        self.preferences = Preferences(RoleFile.in_store(store).apply(Settings()), forced_model)
        self.settings = self.preferences.effective()
        load = load or store_loader(store)
        self.slots: dict[Role, ModelSlot] = {
            role: ModelSlot(role, self.settings, load, self, release=release) for role in ROLES}
        self.engine = Engine(self.slots["autocomplete"], self.settings,
                             refreshed=front.refreshed)
        self.workspace: Workspace | None = None
        self.recent = Recent()
        self.problem: str | None = None
        """The last completion's failure, while it lasts."""
        self._shown: set[str] = set()
        self._problems: dict[Role, set[str]] = {role: set() for role in ROLES}
        """What was told about each role's failures, to be told again once they went away."""
        self._git_refresh: asyncio.Task[None] | None = None
        self._git_refreshed = 0.0
        self._started = False
        self._editing = asyncio.Lock()

    # --- messages

    def tell(self, level: Level, message: str, key: str | None = None) -> None:
        """Tell the user once per distinct message, or per `key` when the message varies
        for one cause (never once per keystroke)."""
        key = key or message
        if key not in self._shown:
            self._shown.add(key)
            self._front.show(level, message)

    def untell(self, key: str) -> None:
        """Let a message be told again (its cause went away)."""
        self._shown.discard(key)

    def _failing(self, role: Role, message: str, fault: str) -> None:
        key = f"lspilot: {fault}"
        self._problems[role].add(key)
        self.tell("error", f"lspilot: {message}", key)

    def _recovered(self, role: Role) -> None:
        for key in self._problems[role]:
            self.untell(key)
        self._problems[role].clear()

    # --- the slots' events (`SlotEvents`): the front shows progress, the session tells

    def loading(self, role: Role, model: str, done: int, total: int, message: str) -> None:
        """Progress of a model load."""
        self._front.loading(role, model, done, total, message)

    def loaded(self, role: Role, model: str, template: str) -> None:
        """A model serves: its role's earlier failures may be told again if they recur."""
        self._recovered(role)
        self._front.loaded(role, model, template)

    def failed(self, role: Role, model: str, error: str) -> None:
        """A model could not be made ready: told once per fault, not once per retry.

        The edit model loads for an edit, whose own answer carries the error: telling it
        here too would show it twice.
        """
        self._front.failed(role, model, error)
        if role == "autocomplete":
            slot = self.slots[role]
            self._failing(role, slot.error or f"{model}: {error}",
                          slot.fault or f"{model}: {error}")

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
            # The same key as the slot's own failure: one fault, one message.
            self._failing("autocomplete", str(exc), exc.fault)
            self._completed(None, str(exc))
            return None
        if self.problem is not None:
            # Recovered: the same failure, if it comes back, is worth telling again.
            self._recovered("autocomplete")
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

    # --- edits

    def source(self, path: str) -> SourceFile:
        """A workspace file as an edit reads it: the open document (with its version), else
        the file on disk; EditError when it cannot be edited."""
        workspace = self._edit_workspace()
        for doc in self._open_documents():
            if workspace.relative(doc.uri) == path:
                if not self.may_complete(doc.uri) or workspace.excluded(path):
                    raise EditError(f"{path} is a secret or ignored file: lspilot never reads it")
                return SourceFile(path=path, text=doc.text, version=getattr(doc, "version", None),
                                  language_id=doc.language_id)
        assert workspace.root is not None
        return read_file(workspace.root, path, workspace.exclusions)

    def _edit_workspace(self) -> Workspace:
        workspace = self.workspace
        if workspace is None or workspace.root is None:
            raise EditError("edits need a workspace folder: open a folder in the editor")
        return workspace

    async def edit(self, request: EditRequest, progress: Progress | None = None) -> EditResult:
        """Run one edit on the edit model; EditError or BackendError say why nothing is to
        be applied. One edit at a time per workspace; completions go on meanwhile."""
        if self._editing.locked():
            raise EditError("another edit is running: wait for it or cancel it")
        async with self._editing:
            workspace = self._edit_workspace()
            assert workspace.root is not None
            paths = list(request.paths)
            if request.selection is not None and request.selection.path not in paths:
                paths.insert(0, request.selection.path)
            if not request.instruction.strip():
                raise EditError("the instruction is empty: say what to change")
            if not paths:
                raise EditError("no files to edit: pick files or select code")
            picked = [self.source(path) for path in paths]
            if progress is not None:
                await progress.begun()
            backend = await self.slots["edit"].ready(configured=True)
            settings = self.settings.edit

            def related(path: str) -> SourceFile | None:
                try:
                    return self.source(path)
                except EditError:
                    return None

            room = backend.context_size - EDIT_OVERHEAD_TOKENS - settings.context_tokens
            index = workspace.index if workspace.index is not None and workspace.index.ready \
                else None
            task = build_task(request.instruction, picked, request.selection, index, related,
                              backend.count_tokens,
                              Budget(files=max(room, 0), context=settings.context_tokens),
                              settings.allow_syntax_errors)
            edit_format = choose_format(settings.format, task, backend.count_tokens,
                                        settings.max_tokens)
            exclusions = workspace.exclusions or Exclusions(workspace.root)
            return await run_edit(task, backend, edit_format, settings.max_tokens,
                                  workspace.root, exclusions, progress,
                                  redact=self.settings.privacy.redact_secrets,
                                  reflections=settings.reflections)
