"""The context engine of one workspace: its sources, their state, and `gather` per cursor."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlparse

from tree_sitter import Tree

from lspilot.context.budget import fit
from lspilot.context.definitions import (
    Resolve,
    Site,
    definition_snippets,
    related_files,
    scope_snippets,
    usage_snippets,
)
from lspilot.context.gather import CountTokens, Gathered
from lspilot.context.git_diff import GitDiff
from lspilot.context.ignore import Exclusions, is_secret
from lspilot.context.index import WorkspaceIndex
from lspilot.context.languages import language, language_id_for
from lspilot.context.similar import RecentEdits, WindowCache, similar_snippets
from lspilot.context.snippet import Snippet
from lspilot.context.symbols import (
    FileIndex,
    FileSymbols,
    Import,
    analyze,
    index_files,
    resolve_import,
)
from lspilot.context.window import Window
from lspilot.settings import ContextSettings

log = logging.getLogger(__name__)

SIMILAR_WINDOW_LINES = 20
"""Lines around the cursor compared with other open files."""

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
    index: int
    diff: int
    others: int


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
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self._clock = clock
        self.root = root.resolve() if root is not None else None
        self.settings = settings
        self._open_documents = open_documents
        self._files: tuple[int, FileIndex] | None = None
        self._relative: dict[str, str] = {}
        self.exclusions = Exclusions(self.root) if self.root is not None else None
        self.index: WorkspaceIndex | None = None
        if self.root is not None and settings.index_workspace:
            self.index = WorkspaceIndex(self.root, analyze, exclusions=self.exclusions)
        self.git = GitDiff(self.root, self.excluded) if self.root is not None else None
        self.recent = RecentEdits(self.excluded)
        self._windows = WindowCache()
        self._last: _Last | None = None

    # --- life cycle

    def start(self) -> None:
        """Start indexing in the background; returns at once."""
        if self.index is not None:
            self.index.start()

    def stop(self) -> None:
        """Stop the index's threads."""
        if self.index is not None:
            self.index.stop()

    async def refresh_git(self, touched: Iterable[str] = ()) -> None:
        """Re-read uncommitted changes if anything changed (git runs off the event loop)."""
        if self.git is not None:
            await self.git.refresh(list(touched))

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
        self._windows.forget(self.relative(uri))
        if self._last is not None and self._last.key.uri == uri:
            self._last = None

    def saved(self, uri: str) -> None:
        """A document was written to disk: index it now rather than on the file event."""
        if self.index is not None:
            path = self.relative(uri)
            if path in self.index.files() or language_id_for(path):
                self.index.update(path)

    # --- the one call per completion

    def gather(self, uri: str, language_id: str, text: str, offset: int, window: Window,
               budget: int, count_tokens: CountTokens) -> Gathered:
        """Snippets for the cursor, fitted into `budget` tokens, stable context first.

        Sources run one after another while the deadline (`context.deadlineMs`) allows;
        each also checks it inside its loops. Typing on one line, or anywhere inside the
        same function or class, reuses the last result (while the workspace, the git diff
        and the other open files stay the same), so consecutive prompts share their context
        and the KV cache its tokens: new context costs a re-read of everything after it.
        """
        started = self._clock()
        repo, path = self.location(uri)
        line = text.count("\n", 0, offset)
        first = line - window.prefix.count("\n")
        last = line + window.suffix.count("\n")
        documents = list(self._open_documents())
        others = [d for d in documents if d.uri != uri]
        key = _Key(uri, first, budget, self.index.generation if self.index is not None else 0,
                   id(self.git.hunks) if self.git is not None else 0,
                   hash(tuple((d.uri, len(d.text)) for d in others)))
        last_time = self._last if self._last is not None and self._last.key == key else None
        if last_time is not None and last_time.line == line:
            return last_time.gathered
        deadline_at = started + self.settings.deadline_ms / 1000

        def late() -> bool:
            return self._clock() > deadline_at

        own_doc = next((d for d in documents if d.uri == uri), None)
        tree = own_doc.syntax if own_doc is not None and own_doc.text == text else None
        if not language_id or (own_doc is not None and tree is None
                               and language(language_id) is not None):
            # The server keeps no tree for this document (too large, or too slow to parse):
            # parsing it here on every request would spend what the tree's bounds saved.
            own = FileSymbols(language_id)
        else:
            own = analyze(language_id, text, tree)
        scope = _scope(own, line)
        if last_time is not None and scope is not None and last_time.scope == scope:
            last_time.line = line
            return last_time.gathered
        site = Site(path, language_id, text, line, own, range(first, last + 1))
        lines = text.split("\n")
        near = "\n".join(lines[max(0, line - SIMILAR_WINDOW_LINES):line + 1])
        index = self.index if self.index is not None and self.index.ready else None
        resolve = self._resolver()
        related = related_files(site, resolve) if index is not None else []
        sources: list[tuple[str, Callable[[], list[Snippet]]]] = [
            ("scope", lambda: scope_snippets(site)),
            ("definition", lambda: definition_snippets(site, index, resolve, late)
             if index is not None else []),
            ("usage", lambda: usage_snippets(site, index, late) if index is not None else []),
            ("git_diff", lambda: self.git.snippets(path, related, line,
                                                   skip_lines=site.window)
             if self.git is not None else []),
            ("open_file", lambda: similar_snippets(
                near, ((self.relative(d.uri), d.text) for d in others),
                excluded=self.excluded, cache=self._windows)),
            ("recent_edit", lambda: self.recent.snippets(
                path, line, self._text_of, skip_lines=site.window)),
        ]
        offered: list[Snippet] = []
        source_ms: dict[str, float] = {}
        skipped: list[str] = []
        for name, source in sources:
            if late():
                skipped.append(name)
                continue
            began = self._clock()
            try:
                offered += source()
            except Exception:  # one broken source must not cost the completion
                log.exception("context source %s failed", name)
            source_ms[name] = round((self._clock() - began) * 1000, 3)
        offered.sort(key=lambda s: (-s.score, s.path, s.start_line, s.source, s.text))
        offered = offered[:OFFERED]
        chosen = fit(offered, budget, count_tokens)
        gathered = Gathered(repo, path, tuple(chosen), tuple(offered), source_ms,
                            tuple(skipped), round((self._clock() - started) * 1000, 3))
        self._last = _Last(key, line, scope, gathered)
        return gathered

    def _resolver(self) -> Resolve:
        """Import resolution over the indexed files, re-indexed when the files change."""
        index = self.index
        if index is None:
            return lambda language_id, path, imp: []
        generation = index.generation
        if self._files is None or self._files[0] != generation:
            self._files = (generation, index_files(index.files(), self._read))
        files = self._files[1]
        resolved: dict[tuple[str, str, Import], list[str]] = {}

        def resolve(language_id: str, path: str, imp: Import) -> list[str]:
            # Related files and definitions ask for the same imports within one request.
            key = (language_id, path, imp)
            if key not in resolved:
                resolved[key] = resolve_import(language_id, path, imp, files, self._read)
            return resolved[key]

        return resolve

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

    def _text_of(self, path: str) -> str | None:
        for doc in self._open_documents():
            if self.relative(doc.uri) == path:
                return doc.text
        return self.index.text(path) if self.index is not None else None


def _scope(symbols: FileSymbols, line: int) -> tuple[int, str] | None:
    """The innermost definition around `line` (its start and name), if any."""
    around = [d for d in symbols.definitions if d.start_line <= line <= d.end_line]
    if not around:
        return None
    inner = max(around, key=lambda d: d.start_line)
    return inner.start_line, inner.name
