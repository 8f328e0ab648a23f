"""The context sources behind one protocol: a name, a deadline and a version each.

`Workspace.gather` snapshots the open documents on the event loop, asks every source for its
`version` there (the reuse key is made of them), then runs the sources one after another on a
worker thread, each until its deadline, and packs what came back in time with `budget.fit`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from lspilot.context.definitions import (
    Resolve,
    Site,
    definition_snippets,
    import_usage_snippets,
    scope_snippets,
    usage_snippets,
)
from lspilot.context.git_diff import GitDiff
from lspilot.context.imports import FileIndex, Import, Read, files_changed, index_files
from lspilot.context.index import WorkspaceIndex
from lspilot.context.similar import Excluded, RecentEdits, WindowCache, similar_snippets
from lspilot.context.snippet import Snippet, Source
from lspilot.context.symbols import resolve_import

Late = Callable[[], bool]
"""True once the source's deadline has passed (or its request was dropped): stop then."""

SIMILAR_WINDOW_LINES = 20
"""Lines around the cursor compared with other open files."""


@dataclass(frozen=True)
class OpenFiles:
    """The open documents as they were when the request came (read on the event loop)."""

    others: tuple[tuple[str, str], ...] = ()
    """Workspace-relative path and text of each open document but the cursor's."""
    texts: Mapping[str, str] = field(default_factory=dict)
    """Every open document's text by workspace-relative path, the cursor's included."""


@dataclass(frozen=True)
class Request:
    """What a source reads: the cursor, analysed, and the workspace around it."""

    site: Site
    documents: OpenFiles
    resolve: Resolve
    """Import resolution over the workspace's files, remembered for this request."""
    related: tuple[str, ...] = ()
    """Files the cursor's file imports (resolved), for the sources that favour them."""


class ContextSource(Protocol):
    """One kind of context: scored snippets for a cursor, within a deadline."""

    @property
    def name(self) -> Source:
        """The name its snippets carry (`Snippet.source`), in reports and explanations."""

    @property
    def deadline(self) -> float:
        """Its share of `context.deadlineMs`, counted from the start of the request (0..1]."""

    def version(self, path: str, documents: OpenFiles) -> Hashable:
        """What its answer depends on besides the cursor in `path`; read on the event loop.

        A gathered context is reused while every source's version stays the same, so a
        version must change whenever the snippets the source would offer may have.
        """

    def snippets(self, request: Request, late: Late) -> list[Snippet]:
        """The source's snippets, best first; runs on the worker thread, checks `late`."""


@dataclass(frozen=True)
class ScopeSource:
    """Headers of the definitions around the cursor (from the cursor's file alone)."""

    name: Source = "scope"
    deadline: float = 1.0

    def version(self, path: str, documents: OpenFiles) -> Hashable:
        """Nothing but the cursor's file, which the reuse rule itself looks at."""
        return 0

    def snippets(self, request: Request, late: Late) -> list[Snippet]:
        """The enclosing scopes' headers."""
        return scope_snippets(request.site)


@dataclass(frozen=True)
class DefinitionSource:
    """Definitions of the names the cursor's file imports, from the workspace index."""

    index: WorkspaceIndex | None
    files: ImportFiles
    name: Source = "definition"
    deadline: float = 1.0

    def version(self, path: str, documents: OpenFiles) -> Hashable:
        """The index's generation, and which file list imports are resolved against."""
        return (self.index.generation if self.index is not None else 0, self.files.version)

    def snippets(self, request: Request, late: Late) -> list[Snippet]:
        """Imported definitions, once the index is built."""
        if self.index is None or not self.index.ready:
            return []
        return definition_snippets(request.site, self.index, request.resolve, late)


@dataclass(frozen=True)
class UsageSource:
    """Other call sites, from the workspace index: of the calls the cursor is in (`usage`),
    or of the names the file imports (`import_usage`)."""

    index: WorkspaceIndex | None
    name: Source = "usage"
    deadline: float = 1.0

    def version(self, path: str, documents: OpenFiles) -> Hashable:
        """The index's generation."""
        return self.index.generation if self.index is not None else 0

    def snippets(self, request: Request, late: Late) -> list[Snippet]:
        """Call sites, once the index is built."""
        if self.index is None or not self.index.ready:
            return []
        find = import_usage_snippets if self.name == "import_usage" else usage_snippets
        return find(request.site, self.index, late)


@dataclass(frozen=True)
class GitDiffSource:
    """Uncommitted hunks near the cursor and in the files it imports."""

    git: GitDiff | None
    name: Source = "git_diff"
    deadline: float = 1.0

    def version(self, path: str, documents: OpenFiles) -> Hashable:
        """A counter that moves when a refresh finds other hunks."""
        return self.git.version if self.git is not None else 0

    def snippets(self, request: Request, late: Late) -> list[Snippet]:
        """The hunks worth showing (memory only: git runs on its own schedule)."""
        if self.git is None:
            return []
        site = request.site
        return self.git.snippets(site.path, request.related, site.line, skip_lines=site.window)


@dataclass(frozen=True)
class OpenFileSource:
    """Windows of the other open files most like the code at the cursor."""

    excluded: Excluded
    windows: WindowCache
    """Each file cut into windows, kept across requests (used by the worker thread only)."""
    name: Source = "open_file"
    deadline: float = 1.0

    def version(self, path: str, documents: OpenFiles) -> Hashable:
        """The other open documents' paths and contents (their hashes)."""
        # str caches its hash: an unchanged document costs nothing here, and the window
        # cache hashes a changed one anyway.
        return tuple((other, len(text), hash(text)) for other, text in documents.others)

    def snippets(self, request: Request, late: Late) -> list[Snippet]:
        """Similar windows, by Jaccard similarity of identifiers."""
        site = request.site
        lines = site.text.split("\n")
        near = "\n".join(lines[max(0, site.line - SIMILAR_WINDOW_LINES):site.line + 1])
        return similar_snippets(near, request.documents.others, excluded=self.excluded,
                                cache=self.windows)


@dataclass(frozen=True)
class RecentEditSource:
    """The places edited last, as they read now."""

    recent: RecentEdits
    index: WorkspaceIndex | None
    name: Source = "recent_edit"
    deadline: float = 1.0

    def version(self, path: str, documents: OpenFiles) -> Hashable:
        """How many edits other files had: the cursor's own file is what the user types in,
        and the reuse rule keeps the context while that stays within one function."""
        return self.recent.changes_outside(path)

    def snippets(self, request: Request, late: Late) -> list[Snippet]:
        """The newest regions with a few lines around them."""
        site = request.site

        def text_of(path: str) -> str | None:
            text = request.documents.texts.get(path)
            if text is None and self.index is not None:
                text = self.index.text(path)
            return text

        return self.recent.snippets(site.path, site.line, text_of, skip_lines=site.window)


class ImportFiles:
    """The index's file list as a `FileIndex` for import resolution.

    `refresh()` rebuilds it when the files changed (the index calls it on its own thread
    after each batch of changes); requests meanwhile use the one built last, so that
    resolution never waits for a rebuild.
    """

    def __init__(self, index: WorkspaceIndex | None, read: Read) -> None:
        self._index = index
        self._read = read
        self._lock = threading.Lock()
        self._files: FileIndex | None = None
        self.version = 0
        """Moves each time another file list is swapped in."""

    def refresh(self) -> None:
        """Rebuild from the index's files if they (or a `go.mod`) changed; blocks."""
        if self._index is None:
            return
        with self._lock:  # one rebuild at a time; a second caller finds it done
            files = self._index.files()
            old = self._files
            if old is not None and not files_changed(old, files, self._read):
                return
            self._files = index_files(files, self._read)
            self.version += 1

    def resolver(self) -> Resolve:
        """Import resolution over the last file list built, remembered per import."""
        files = self._files
        if files is None:
            return lambda language_id, path, imp: []
        resolved: dict[tuple[str, str, Import], list[str]] = {}

        def resolve(language_id: str, path: str, imp: Import) -> list[str]:
            # Related files and definitions ask for the same imports within one request.
            key = (language_id, path, imp)
            if key not in resolved:
                resolved[key] = resolve_import(language_id, path, imp, files, self._read)
            return resolved[key]

        return resolve
