"""The workspace's source files, their text and symbols, kept current by file-system events.

`WorkspaceIndex.start()` returns at once: a background thread walks the workspace (rules in
`context/ignore.py`) while a watchdog observer queues changes; the same thread then applies
them in coalesced batches. Lookups take a lock for the few dictionary reads they need, so a
completion request never waits for indexing, only for another lookup or a one-file swap.

The index keeps what it found as plain tuples of strings and numbers, and its name tables'
numbers packed in bytes, not as `Definition` and `Call` objects: Python's cyclic garbage
collector does not track such values (nor the dictionaries holding them), and full
collections over the hundreds of thousands of records a large workspace has would stall
every thread of the process (bench/index.py). Lookups build the objects they return.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import posixpath
import queue
import stat
import sys
import threading
import time
from array import array
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver

from lspilot.context.ignore import GIT_EXCLUDE, IGNORE_FILES, MAX_BYTES, Exclusions, read_source
from lspilot.context.ignore import walk as walk_included
from lspilot.context.languages import language_id_for
from lspilot.context.symbols import Call, Definition, FileSymbols, Import
from lspilot.context.symbols import analyze as analyze_symbols

log = logging.getLogger(__name__)

Analyze = Callable[[str, str], FileSymbols]
"""Reads a file's symbols from its language id and text (`context/symbols.py: analyze`)."""

# Only changes of content and names: open/close/access events would echo the index's own reads.
WATCHED_EVENTS: list[type[FileSystemEvent]] = [
    FileCreatedEvent, FileModifiedEvent, FileDeletedEvent, FileMovedEvent,
    DirCreatedEvent, DirDeletedEvent, DirMovedEvent,
]

_STOP = "\0stop"

WATCH_CHECK_S = 5.0
"""How often, when no change came, the index checks that its observer's threads are alive."""

BUILT_SYMBOLS = 256
"""Files whose `FileSymbols` the index keeps built for `symbols()`, the most recent ones."""

RACY_NS = 100_000_000
"""A file modified less than this before it was read may change again with the same mtime
(coarse file-system clocks) and size: its stamp is not trusted (git's "racy git" rule)."""


_Definition = tuple[str, str, int, int, str, str, str]
"""A `Definition`'s fields, in order."""
_Import = tuple[str, tuple[str, ...], tuple[str, ...], int]
"""An `Import`'s fields, in order."""


@dataclass(frozen=True, slots=True)
class _Entry:
    """One file as indexed: its text, and its symbols as untracked tuples (see above)."""

    text: str
    language_id: str
    definitions: tuple[_Definition, ...]
    imports: tuple[_Import, ...]
    call_names: tuple[str, ...]
    call_lines: tuple[int, ...]
    """The file's call sites: name and line, in the same order."""
    stamp: tuple[int, int] | None
    """(mtime_ns, size) when read: a rescan skips a file whose stamp is the same. None when
    the file was read too soon after it was written for the stamp to tell (see `RACY_NS`)."""

    @staticmethod
    def of(text: str, symbols: FileSymbols, stamp: tuple[int, int] | None) -> _Entry:
        """The entry for a file's text and what `analyze` found in it."""
        return _Entry(
            text, symbols.language_id,
            tuple((sys.intern(d.name), d.kind, d.start_line, d.end_line, d.header, d.text,
                   d.container) for d in symbols.definitions),
            tuple((i.module, i.names, i.original, i.line) for i in symbols.imports),
            tuple(sys.intern(c.name) for c in symbols.calls),
            tuple(c.line for c in symbols.calls), stamp)

    def symbols(self) -> FileSymbols:
        """The file's symbols as `analyze` gave them."""
        return FileSymbols(self.language_id,
                           tuple(Definition(*row) for row in self.definitions),
                           tuple(Import(*row) for row in self.imports),
                           tuple(map(Call, self.call_names, self.call_lines)))


class WorkspaceIndex:
    """Source files of one workspace folder, with their symbols, updated in the background."""

    def __init__(self, root: Path, analyze: Analyze = analyze_symbols, *,
                 exclusions: Exclusions | None = None, max_bytes: int = MAX_BYTES,
                 language_for: Callable[[str], str] = language_id_for, watch: bool = True,
                 quiet_s: float = 0.02, max_delay_s: float = 0.2,
                 on_change: Callable[[], None] | None = None) -> None:
        """Index `root`'s files that have a language id (`language_for`, "" means skip).

        Without `watch`, only `update()` calls bring changes in.

        A burst of events is applied together once it has been quiet for `quiet_s`, or after
        `max_delay_s` at the latest.

        `on_change` runs on the index's thread after the first build (before `ready`) and
        after each batch of changes that changed the index: the place for work that depends
        on the whole index and must not wait in a request (the import resolver's file list).
        """
        self.root = root.resolve()
        self.exclusions = exclusions if exclusions is not None else Exclusions(self.root)
        self._analyze = analyze
        self._max_bytes = max_bytes
        self._language_for = language_for
        self._quiet_s = quiet_s
        self._max_delay_s = max_delay_s
        self._watching = watch
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}
        # Name -> path -> numbers packed in bytes (`_pack`): unlike a tuple, bytes never make
        # the collector track the dictionary they are put in (see above).
        self._definitions: dict[str, dict[str, bytes]] = {}
        """Defined name -> path -> the definitions' places in the file's entry."""
        self._calls: dict[str, dict[str, bytes]] = {}
        """Called name -> path -> lines of the calls."""
        self._built: OrderedDict[str, tuple[_Entry, FileSymbols]] = OrderedDict()
        self._files: frozenset[str] | None = frozenset()
        self._generation = 0
        self._queue: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._ready = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._observer: BaseObserver | None = None
        self._on_change = on_change
        self._notified = -1

    # --- life cycle

    def start(self) -> None:
        """Start watching and build the index in a background thread; returns at once."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="lspilot-index", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop watching and updating; lookups keep answering from the last state."""
        self._stopping.set()
        self._queue.put(_STOP)
        if self._thread is not None:
            self._thread.join(timeout)

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Wait until the first build is done; False when `timeout` seconds passed first."""
        return self._ready.wait(timeout)

    @property
    def ready(self) -> bool:
        """Whether the first build is done (lookups answer from a partial index before)."""
        return self._ready.is_set()

    @property
    def generation(self) -> int:
        """A number that grows with every change to the index: a key for callers' caches."""
        return self._generation

    def update(self, rel_path: str) -> None:
        """Re-read a file (or folder) that a caller knows has changed, e.g. on didSave."""
        rel = posixpath.normpath(rel_path.replace(os.sep, "/")).strip("/")
        self._queue.put("" if rel == "." else rel)

    # --- lookups

    def files(self) -> frozenset[str]:
        """Workspace-relative paths of the indexed files."""
        with self._lock:
            if self._files is None:
                self._files = frozenset(self._entries)
            return self._files

    def text(self, rel_path: str) -> str | None:
        """The file's text as indexed, or None when it is not in the index."""
        with self._lock:
            entry = self._entries.get(rel_path)
        return entry.text if entry is not None else None

    def symbols(self, rel_path: str) -> FileSymbols | None:
        """The file's symbols as indexed (matching `text`), or None when it is not indexed."""
        with self._lock:
            entry = self._entries.get(rel_path)
            built = self._built.get(rel_path)
            if entry is None:
                return None
            if built is not None and built[0] is entry:
                self._built.move_to_end(rel_path)
                return built[1]
        symbols = entry.symbols()
        with self._lock:
            # Kept built for the next request: the files a user works near come back often.
            if self._entries.get(rel_path) is entry:
                self._built[rel_path] = (entry, symbols)
                self._built.move_to_end(rel_path)
                while len(self._built) > BUILT_SYMBOLS:
                    self._built.popitem(last=False)
        return symbols

    def language_id(self, rel_path: str) -> str:
        """The file's language id ("" when it has none)."""
        return self._language_for(rel_path)

    def definitions(self, name: str) -> list[tuple[str, Definition]]:
        """Every definition of `name` in the workspace, by path and line."""
        with self._lock:
            by_path = self._definitions.get(name, {})
            found = [(path, self._entries[path].definitions[place])
                     for path in sorted(by_path) for place in _unpack(by_path[path])]
        return [(path, Definition(*row)) for path, row in found]

    def caller_count(self, name: str) -> int:
        """How many call sites of `name` the workspace has (cheaper than `callers`)."""
        with self._lock:
            return sum(map(len, self._calls.get(name, {}).values())) // _NUMBER_BYTES

    def callers(self, name: str, limit: int | None = None) -> list[tuple[str, Call]]:
        """The call sites of `name` in the workspace, by path and line (the first `limit`)."""
        with self._lock:
            by_path = self._calls.get(name, {})
            found = [(path, by_path[path]) for path in sorted(by_path)]
        sites = ((path, line) for path, lines in found for line in _unpack(lines))
        return [(path, Call(name, line)) for path, line in islice(sites, limit)]

    # --- the background thread

    def _run(self) -> None:
        self._observer = self._watch() if self._watching else None
        try:
            self._rescan("")
            if self._stopping.is_set():
                return
            self._notify()
            self._ready.set()
            log.info("indexed %d files under %s", len(self._entries), self.root)
            while not self._stopping.is_set():
                batch = self._next_batch()
                if batch is None:
                    self._check_watch()
                elif batch:
                    try:
                        self._apply(batch)
                    except Exception:
                        log.exception("index update failed for %s", sorted(batch))
                if batch is None or batch:
                    self._notify()
        finally:
            _stop(self._observer)

    def _notify(self) -> None:
        """Run `on_change` if the index changed since it last ran."""
        generation = self._generation
        if self._on_change is None or generation == self._notified:
            return
        self._notified = generation
        try:
            self._on_change()
        except Exception:
            log.exception("the index's change listener failed")

    def _check_watch(self) -> None:
        """Restart a watch whose threads died (watchdog's errors end them), then catch up."""
        observer = self._observer
        if observer is None or (observer.is_alive()
                                and all(emitter.is_alive() for emitter in observer.emitters)):
            return
        log.warning("the file watcher of %s stopped; restarting it", self.root)
        _stop(observer)
        self._observer = self._watch()
        self._rescan("")

    def _watch(self) -> BaseObserver | None:
        """An observer queueing changed paths, started before the walk so none is missed."""
        observer = Observer()
        observer.schedule(_Events(str(self.root), self._queue.put), str(self.root),
                          recursive=True, event_filter=WATCHED_EVENTS)
        try:
            observer.start()
        except OSError as error:
            # E.g. inotify's watch limit: explicit update() calls still work.
            log.warning("not watching %s for changes: %s", self.root, error)
            return None
        return observer

    def _next_batch(self) -> set[str] | None:
        """The next burst of changed paths, once quiet for `quiet_s` or `max_delay_s` old.

        None when nothing came for `WATCH_CHECK_S`; empty when the index is stopping.
        """
        try:
            first = self._queue.get(timeout=WATCH_CHECK_S)
        except queue.Empty:
            return None
        if first == _STOP:
            return set()
        batch = {first}
        deadline = time.monotonic() + self._max_delay_s
        while (left := deadline - time.monotonic()) > 0:
            try:
                path = self._queue.get(timeout=min(self._quiet_s, left))
            except queue.Empty:
                break
            if path == _STOP:
                break
            batch.add(path)
        return batch

    def _apply(self, batch: set[str]) -> None:
        """Re-read the changed paths; a changed ignore file re-reads its whole folder."""
        folders = set()
        for path in batch:
            folder, _, name = path.rpartition("/")
            if path == GIT_EXCLUDE:
                folders.add("")
            elif name in IGNORE_FILES:
                folders.add(folder)
            elif not (self.root / path).is_file():
                # A folder created, moved or deleted: rules cached under its name are stale.
                self.exclusions.forget(path)
        for folder in folders:
            self.exclusions.forget(folder)
        for folder in _outermost(folders):
            self._rescan(folder)
        for path in sorted(batch):
            if not any(_inside(path, folder) for folder in folders):
                self._refresh(path)

    def _refresh(self, rel: str) -> None:
        """Bring one path (file or folder, present or gone) up to date."""
        path = self.root / rel
        if os.path.realpath(path) != str(path):
            # Reached through a symbolic link, or `..`: it may lie outside the workspace.
            self._remove_under(rel)
            return
        try:
            info = os.lstat(path)
        except OSError:
            self._remove_under(rel)
            return
        if stat.S_ISDIR(info.st_mode):
            self._rescan(rel)
        elif stat.S_ISREG(info.st_mode) and not self.exclusions.excluded(rel):
            # An event says the file changed: read it whatever its stamp says.
            self._load(rel, info, trust_stamp=False)
        else:
            self._remove_under(rel)

    def _rescan(self, folder: str) -> None:
        """Walk `folder` again: load new and changed files, drop the ones no longer there."""
        seen = set()
        for rel, info in walk_included(self.root, self.exclusions, folder):
            if self._stopping.is_set():
                return
            seen.add(rel)
            self._load(rel, info)
        with self._lock:
            gone = [path for path in self._entries if _inside(path, folder) and path not in seen]
        for path in gone:
            self._remove(path)

    def _load(self, rel: str, info: os.stat_result, trust_stamp: bool = True) -> None:
        """Read and analyse one file unless its stamp shows that it has not changed."""
        language_id = self._language_for(rel)
        if not language_id:
            return
        racy = time.time_ns() - info.st_mtime_ns < RACY_NS
        stamp = None if racy else (info.st_mtime_ns, info.st_size)
        with self._lock:
            entry = self._entries.get(rel)
        if trust_stamp and entry is not None and stamp is not None and entry.stamp == stamp:
            return
        text = read_source(self.root / rel, self._max_bytes)
        if text is None:
            self._remove(rel)
            return
        if entry is not None and entry.text == text:
            with self._lock:
                self._entries[rel] = dataclasses.replace(entry, stamp=stamp)
            return
        try:
            symbols = self._analyze(language_id, text)
        except Exception:
            log.exception("could not analyse %s", rel)
            symbols = FileSymbols(language_id)
        self._put(rel, _Entry.of(text, symbols, stamp))

    def _put(self, rel: str, entry: _Entry) -> None:
        rel = sys.intern(rel)
        with self._lock:
            old = self._entries.get(rel)
            if old is not None:
                self._unlink(rel, old)
            self._entries[rel] = entry
            self._link(rel, entry)
            self._changed()

    def _remove(self, rel: str) -> None:
        with self._lock:
            old = self._entries.pop(rel, None)
            if old is not None:
                self._unlink(rel, old)
                self._changed()

    def _remove_under(self, rel: str) -> None:
        """Forget a file, or every file under a folder, that is gone or now excluded."""
        with self._lock:
            paths = [path for path in self._entries if _inside(path, rel)]
        for path in paths:
            self._remove(path)

    def _link(self, rel: str, entry: _Entry) -> None:
        # Sorted here, once per change, so that lookups only sort the (few) paths.
        definitions: dict[str, list[int]] = {}
        for place in sorted(range(len(entry.definitions)),
                            key=lambda place: entry.definitions[place][2]):
            definitions.setdefault(entry.definitions[place][0], []).append(place)
        for name, places in definitions.items():
            self._definitions.setdefault(name, {})[rel] = _pack(places)
        calls: dict[str, list[int]] = {}
        for line, name in sorted(zip(entry.call_lines, entry.call_names, strict=True)):
            calls.setdefault(name, []).append(line)
        for name, lines in calls.items():
            self._calls.setdefault(name, {})[rel] = _pack(lines)

    def _unlink(self, rel: str, entry: _Entry) -> None:
        self._built.pop(rel, None)
        for table, names in ((self._definitions, {row[0] for row in entry.definitions}),
                             (self._calls, set(entry.call_names))):
            for name in names:
                by_path = table.get(name)
                if by_path is not None:
                    by_path.pop(rel, None)
                    if not by_path:
                        del table[name]

    def _changed(self) -> None:
        """Called with the lock held after every change."""
        self._files = None
        self._generation += 1


class _Events(FileSystemEventHandler):
    """Turns watchdog events into workspace-relative paths on the index's queue."""

    def __init__(self, root: str, put: Callable[[str], None]) -> None:
        self._prefix = root.rstrip(os.sep) + os.sep
        self._put = put

    def on_any_event(self, event: FileSystemEvent) -> None:
        """Queue the event's source and destination paths that lie in the workspace."""
        for raw in (event.src_path, event.dest_path):
            path = os.fsdecode(raw)
            if not path.startswith(self._prefix):
                continue
            rel = path[len(self._prefix):].replace(os.sep, "/")
            # Git rewrites its own files all the time; only its exclude file matters here.
            if rel != ".git" and (not rel.startswith(".git/") or rel == GIT_EXCLUDE):
                self._put(rel)


def _stop(observer: BaseObserver | None) -> None:
    if observer is not None:
        observer.stop()
        if observer.is_alive():
            observer.join()


_NUMBER_BYTES = array("I").itemsize
"""`_pack` stores each number as a C unsigned int (line numbers, places in a file)."""


def _pack(numbers: list[int]) -> bytes:
    """Numbers as bytes, a type the garbage collector does not track."""
    return array("I", numbers).tobytes()


def _unpack(packed: bytes) -> Sequence[int]:
    """The numbers `_pack` stored."""
    return memoryview(packed).cast("I")


def _inside(path: str, folder: str) -> bool:
    """Whether `path` is `folder` or lies under it ("" is the workspace root)."""
    return not folder or path == folder or path.startswith(folder + "/")


def _outermost(folders: set[str]) -> list[str]:
    """The folders that are not inside another one of the set."""
    return sorted(f for f in folders
                  if not any(f != other and _inside(f, other) for other in folders))
