"""The context engine of one workspace: its sources, their state, and `gather` per cursor."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Hashable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlparse

from tree_sitter import Tree

from lspilot.context.budget import fit
from lspilot.context.definitions import OpenCall, Site, has_usages, open_calls, related_files
from lspilot.context.gather import CountTokens, Gathered
from lspilot.context.git_diff import GitDiff
from lspilot.context.ignore import Exclusions, is_secret
from lspilot.context.index import WorkspaceIndex
from lspilot.context.languages import language, language_id_for
from lspilot.context.similar import RecentEdits, WindowCache
from lspilot.context.snippet import Snippet
from lspilot.context.sources import (
    ContextSource,
    DefinitionSource,
    GitDiffSource,
    ImportFiles,
    OpenFiles,
    OpenFileSource,
    RecentEditSource,
    Request,
    ScopeSource,
    UsageSource,
)
from lspilot.context.symbols import FileSymbols, analyze
from lspilot.context.window import Window
from lspilot.settings import ContextSettings

log = logging.getLogger(__name__)

OFFERED = 96
"""Snippets, best first, that `fit` considers; a prompt's context holds far fewer."""


class OpenDocument(Protocol):
    """An open document as the context engine reads it."""

    uri: str
    language_id: str
    text: str

    @property
    def syntax(self) -> Tree | None:
        """The document's up-to-date syntax tree, if its language has a grammar."""


@dataclass(frozen=True)
class _Key:
    """What a gathered context depends on, besides where in the file the cursor is."""

    uri: str
    window_start: int
    budget: int
    versions: tuple[tuple[str, Hashable], ...]
    """Each source asked and its version, in the sources' order."""
    calls: tuple[OpenCall, ...]
    """The calls the cursor is in whose usages `usage` looks for: opening or closing one
    changes what it finds."""


@dataclass
class _Last:
    """The last gathered context, and the line and scope it was gathered for."""

    key: _Key
    line: int
    scope: tuple[int, str] | None
    gathered: Gathered


class Workspace:
    """Context sources for one workspace folder (or none: only open files then)."""

    def __init__(self, root: Path | None, settings: ContextSettings,
                 open_documents: Callable[[], Iterable[OpenDocument]], *,
                 clock: Callable[[], float] = time.perf_counter, shallow: bool = False
                 ) -> None:
        """With `shallow`, only the files right in `root` count, not its subfolders', and
        nothing is watched: for a one-off completion in a folder that is no repository."""
        self._clock = clock
        self.root = root.resolve() if root is not None else None
        self.settings = settings
        self._open_documents = open_documents
        self._relative: dict[str, str] = {}
        # `*/` matches every folder: a shallow workspace never enters one.
        self.exclusions = None if self.root is None else \
            Exclusions(self.root, skipped_dirs=("*",)) if shallow else Exclusions(self.root)
        self.index: WorkspaceIndex | None = None
        if self.root is not None and settings.index_workspace:
            self.index = WorkspaceIndex(self.root, analyze, exclusions=self.exclusions,
                                        watch=not shallow, on_change=self._index_changed)
        self.import_files = ImportFiles(self.index, self._read)
        self.git = GitDiff(self.root, self.excluded) if self.root is not None else None
        self.recent = RecentEdits(self.excluded)
        self.sources: tuple[ContextSource, ...] = (
            ScopeSource(),
            DefinitionSource(self.index, self.import_files),
            UsageSource(self.index),
            UsageSource(self.index, "import_usage"),
            GitDiffSource(self.git),
            OpenFileSource(self.excluded, WindowCache()),
            RecentEditSource(self.recent, self.index),
        )
        """Asked in this order; a source's place also decides who is late first."""
        self._last: _Last | None = None
        self._worker: ThreadPoolExecutor | None = None

    # --- life cycle

    def start(self) -> None:
        """Start indexing in the background; returns at once."""
        if self.index is not None:
            self.index.start()

    def stop(self) -> None:
        """Stop the index's threads and the sources' worker thread."""
        if self.index is not None:
            self.index.stop()
        if self._worker is not None:
            self._worker.shutdown(wait=False, cancel_futures=True)
            self._worker = None

    async def refresh_git(self, touched: Iterable[str] = ()) -> None:
        """Re-read uncommitted changes if anything changed (git runs off the event loop)."""
        if self.git is not None:
            await self.git.refresh(list(touched))

    def _index_changed(self) -> None:
        """On the index's thread: rebuild the file list imports resolve against."""
        self.import_files.refresh()

    # --- paths

    def location(self, uri: str) -> tuple[str, str]:
        """The workspace's name and the document's workspace-relative path."""
        repo = self.root.name if self.root is not None else ""
        return repo, self.relative(uri)

    def relative(self, uri: str) -> str:
        """A document's workspace-relative `/` path; its file name when outside the root."""
        path = self._relative.get(uri)
        if path is None:
            if len(self._relative) > 4096:
                self._relative.clear()
            path = self._relative[uri] = self._relative_path(uri)
        return path

    def _relative_path(self, uri: str) -> str:
        parsed = urlparse(uri)
        path = Path(unquote(parsed.path)) if parsed.scheme == "file" else Path(parsed.path)
        if self.root is not None:
            try:
                return path.resolve().relative_to(self.root).as_posix()
            except ValueError:
                pass
        return path.name

    def excluded(self, path: str) -> bool:
        """Whether a file must never reach a prompt (secrets, ignored files)."""
        if self.exclusions is not None:
            return self.exclusions.excluded(path)
        return is_secret(path)

    def secret(self, uri: str) -> bool:
        """Whether a document may hold secrets: no completion is made in it."""
        return is_secret(self.relative(uri))

    # --- events from the editor

    def changed(self, uri: str, start_line: int, end_line: int, new_text: str) -> None:
        """Note an edit (old line numbers), for the recent-edits source."""
        self.recent.record(self.relative(uri), start_line, end_line, new_text, time.monotonic())

    def closed(self, uri: str) -> None:
        """A document closed: drop what was kept of its text (its windows, the last context
        gathered in it); its recent edits stay, read from disk from now on."""
        path = self.relative(uri)
        for source in self.sources:
            if isinstance(source, OpenFileSource):
                self._on_worker(source.windows.forget, path)
        if self._last is not None and self._last.key.uri == uri:
            self._last = None

    def _on_worker(self, function: Callable[[str], None], path: str) -> None:
        """Run on the worker thread, after the work queued there (its caches are its own)."""
        if self._worker is None:
            function(path)
            return
        try:
            self._worker.submit(function, path)
        except RuntimeError:  # stopped: nothing reads the caches any more
            pass

    def saved(self, uri: str) -> None:
        """A document was written to disk: index it now rather than on the file event."""
        if self.index is not None:
            path = self.relative(uri)
            if path in self.index.files() or language_id_for(path):
                self.index.update(path)

    # --- the one call per completion

    async def gather(self, uri: str, language_id: str, text: str, offset: int, window: Window,
                     budget: int, count_tokens: CountTokens, *, typing: bool = False
                     ) -> Gathered:
        """Snippets for the cursor, fitted into `budget` tokens, stable context first.

        The open documents are read here, on the event loop; the sources then run one after
        another on a worker thread, each until its deadline (its share of
        `context.deadlineMs`), which it also checks inside its loops. At the deadline this
        stops waiting: a source still running then is dropped and reported in
        `Gathered.late`. Typing on one line, or anywhere inside the same function or class,
        reuses the last result while every source's version stays the same (the workspace
        index, the git diff, the other open files), so consecutive prompts share their
        context and the KV cache its tokens: new context costs a re-read of everything
        after it. So `usage`, which looks for the calls whose arguments the cursor is in,
        looks again when the cursor arrives somewhere (a move, an invoked request), not
        while it types on: opening a call there would cost a re-read of the prompt, some
        seconds on a CPU, in the middle of typing its arguments.
        """
        started = self._clock()
        loop = asyncio.get_running_loop()
        waiting_since = loop.time()
        deadline_s = self.settings.deadline_ms / 1000
        repo, path = self.location(uri)
        line = text.count("\n", 0, offset)
        first = line - window.prefix.count("\n")
        last = line + window.suffix.count("\n")
        documents = list(self._open_documents())
        open_files = OpenFiles(
            tuple((self.relative(d.uri), d.text) for d in documents if d.uri != uri),
            {self.relative(d.uri): d.text for d in documents})
        names = self.settings.source_names
        sources = tuple(source for source in self.sources if source.name in names)
        index = self.index if self.index is not None and self.index.ready else None
        if typing and self._last is not None and self._last.key.uri == uri:
            calls = self._last.key.calls
        elif "usage" in names and index is not None:
            calls = tuple(call for call in open_calls(language_id, text, offset)
                          if has_usages(call.name, index))
        else:
            calls = ()
        key = _Key(uri, first, budget,
                   tuple((source.name, source.version(path, open_files)) for source in sources),
                   calls)
        last_time = self._last if self._last is not None and self._last.key == key else None
        if last_time is not None and last_time.line == line:
            return last_time.gathered
        own = next((d for d in documents if d.uri == uri), None)
        tree = own.syntax if own is not None and own.text == text else None
        # Later edits change the document's tree in place: the worker reads a copy.
        job = _Job(path, language_id, text, line, calls, range(first, last + 1),
                   tree.copy() if tree is not None else None, open_files,
                   last_time.scope if last_time is not None else None, sources)
        # The server keeps no tree for this document (too large, or too slow to parse):
        # parsing it for every request would spend what the tree's bounds saved.
        job.analyze = tree is not None or own is None or language(language_id) is None
        if self._worker is None:
            self._worker = ThreadPoolExecutor(1, thread_name_prefix="lspilot-context")
        future = loop.run_in_executor(self._worker, self._run, job, started, deadline_s)
        left = deadline_s - (loop.time() - waiting_since)
        try:
            await asyncio.wait([future], timeout=max(0.0, left))
        finally:
            results = job.stop()  # a cancelled request stops its worker at its next check
        if job.reuse and last_time is not None and self._last is last_time:
            last_time.line = line
            return last_time.gathered
        offered: list[Snippet] = []
        source_ms: dict[str, float] = {}
        for name, snippets, ms in results:
            offered += snippets
            source_ms[name] = ms
        offered.sort(key=lambda s: (-s.score, s.path, s.start_line, s.source, s.text))
        offered = offered[:OFFERED]
        chosen = fit(offered, budget, count_tokens)
        late = tuple(source.name for source in sources if source.name not in source_ms)
        gathered = Gathered(repo, path, tuple(chosen), tuple(offered), source_ms, late,
                            round((self._clock() - started) * 1000, 3))
        self._last = _Last(key, line, job.scope, gathered)
        return gathered

    def _run(self, job: _Job, started: float, deadline_s: float) -> None:
        """The worker thread's part of `gather`: analyse the cursor's file, run the sources."""
        if job.stopped:
            return  # it waited behind a request that ran late, past its own deadline
        try:
            self._run_sources(job, started, deadline_s)
        except Exception:  # nobody may be waiting for this thread any more: say it here
            log.exception("gathering context for %s failed", job.path)

    def _run_sources(self, job: _Job, started: float, deadline_s: float) -> None:
        own = analyze(job.language_id, job.text, job.tree) \
            if job.language_id and job.analyze else FileSymbols(job.language_id)
        job.scope = _scope(own, job.line)
        if job.scope is not None and job.scope == job.last_scope:
            job.reuse = True
            return
        site = Site(job.path, job.language_id, job.text, job.line, own, job.window,
                    job.calls)
        resolve = self.import_files.resolver()
        ready = self.index is not None and self.index.ready
        request = Request(site, job.documents, resolve,
                          tuple(related_files(site, resolve)) if ready else ())
        for source in job.sources:
            due = started + source.deadline * deadline_s

            def late(due: float = due) -> bool:
                return job.stopped or self._clock() > due

            if late():
                continue
            began = self._clock()
            try:
                snippets = source.snippets(request, late)
            except Exception:  # one broken source must not cost the completion
                log.exception("context source %s failed", source.name)
                snippets = []
            job.publish(source.name, snippets, round((self._clock() - began) * 1000, 3))

    def _read(self, path: str) -> str | None:
        """A workspace file's text, for go.mod (never outside the workspace)."""
        if self.root is None or self.excluded(path):
            return None
        target = (self.root / path).resolve()
        if not target.is_relative_to(self.root):
            return None
        try:
            return target.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None


class _Job:
    """One `gather`'s work on the worker thread, and what the event loop takes from it."""

    def __init__(self, path: str, language_id: str, text: str, line: int,
                 calls: tuple[OpenCall, ...], window: range, tree: Tree | None,
                 open_files: OpenFiles, last_scope: tuple[int, str] | None,
                 sources: tuple[ContextSource, ...]) -> None:
        self.path = path
        self.language_id = language_id
        self.text = text
        self.line = line
        self.calls = calls
        self.window = window
        """Lines of the cursor's file already in the prompt."""
        self.tree = tree
        self.documents = open_files
        self.last_scope = last_scope
        """The scope the last context was gathered for, when it may be reused."""
        self.sources = sources
        """The sources the settings ask for, in the workspace's order."""
        self.scope: tuple[int, str] | None = None
        self.reuse = False
        self.analyze = True
        """Whether to analyse the cursor's file (not when the server keeps no tree for it)."""
        self._lock = threading.Lock()
        self._stopped = False
        self._results: list[tuple[str, list[Snippet], float]] = []

    @property
    def stopped(self) -> bool:
        """Whether the event loop stopped waiting (deadline passed, or request cancelled)."""
        return self._stopped

    def publish(self, name: str, snippets: list[Snippet], ms: float) -> None:
        """A source's answer, kept only if the event loop still waits for it."""
        with self._lock:
            if not self._stopped:
                self._results.append((name, snippets, ms))

    def stop(self) -> list[tuple[str, list[Snippet], float]]:
        """Stop taking answers; the ones that came in time, in the order they came."""
        with self._lock:
            self._stopped = True
            return list(self._results)


def _scope(symbols: FileSymbols, line: int) -> tuple[int, str] | None:
    """The innermost definition around `line` (its start and name), if any."""
    around = [d for d in symbols.definitions if d.start_line <= line <= d.end_line]
    if not around:
        return None
    inner = max(around, key=lambda d: d.start_line)
    return inner.start_line, inner.name
