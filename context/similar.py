"""Code that looks like the code at the cursor: open files by Jaccard similarity, and the
places the user edited a moment ago.

Copilot's "neighboring tabs" compares identifier sets of the text at the cursor with
fixed-size windows of the other open files and keeps the best window per file; llama.vim
keeps a ring of recently touched chunks. Both need no parser and no index.
"""

from __future__ import annotations

import heapq
import re
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import chain

from lspilot.context.languages import LANGUAGES
from lspilot.context.snippet import Snippet

Excluded = Callable[[str], bool]

# Two characters or more: one-letter names (i, x, T) match everywhere and say nothing.
_IDENTIFIER = re.compile(r"\b[A-Za-z_][A-Za-z0-9_]+")
STOP_WORDS = LANGUAGES.stop_words
"""Keywords of every language (each record's `stop_words`): matching on them says nothing."""


def identifiers(text: str) -> frozenset[str]:
    """The identifiers in `text` that say something: two characters or more, no keywords."""
    return frozenset(_IDENTIFIER.findall(text)).difference(STOP_WORDS)


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    """Identifiers in both over identifiers in either; 0 when either set is empty."""
    if not a or not b:
        return 0.0
    common = len(a & b)
    return common / (len(a) + len(b) - common)


@dataclass(frozen=True)
class FileWindows:
    """A file cut into overlapping windows, indexed by identifier."""

    lines: tuple[str, ...]
    starts: tuple[int, ...]
    sizes: tuple[int, ...]
    """How many distinct identifiers each window has."""
    postings: dict[str, list[int]]
    """The windows (by index) each identifier occurs in."""
    line_tokens: dict[str, frozenset[str]]
    """The identifiers of each distinct line, for cutting the file's next version."""


def _cut(text: str, window_lines: int, stride: int,
         known: dict[str, frozenset[str]] | None = None) -> FileWindows:
    """Cut `text` into windows; `known` gives the identifiers of lines seen before."""
    lines = tuple(text.split("\n"))
    known = known if known is not None else {}
    line_tokens = [known[line] if line in known else identifiers(line) for line in lines]
    last = max(len(lines) - window_lines, 0)
    # The last window ends at the end of the file, so that the file's tail is looked at too.
    starts = sorted({*range(0, last + 1, stride), last})
    sizes = []
    postings: dict[str, list[int]] = defaultdict(list)
    for index, start in enumerate(starts):
        tokens = frozenset().union(*line_tokens[start:start + window_lines])
        sizes.append(len(tokens))
        for token in tokens:
            postings[token].append(index)
    return FileWindows(lines, tuple(starts), tuple(sizes), dict(postings),
                    dict(zip(lines, line_tokens, strict=True)))


class WindowCache:
    """Each open file's windows, kept while its text stays the same (one version per path)."""

    def __init__(self, max_files: int = 64) -> None:
        self._max_files = max_files
        self._files: OrderedDict[str, tuple[tuple[int, int, int, int], FileWindows]] = (
            OrderedDict())

    def forget(self, path: str) -> None:
        """Drop a file's windows (it closed)."""
        self._files.pop(path, None)

    def windows(self, path: str, text: str, window_lines: int, stride: int) -> FileWindows:
        """The windows of `text`, cut again only when the text or the window shape changed."""
        # str caches its own hash, so an unchanged document the caller keeps costs nothing.
        key = (len(text), hash(text), window_lines, stride)
        cached = self._files.get(path)
        if cached is not None and cached[0] == key:
            self._files.move_to_end(path)
            return cached[1]
        # An edit changes a line or two: the other lines' identifiers are known already.
        windows = _cut(text, window_lines, stride,
                       cached[1].line_tokens if cached is not None else None)
        self._files[path] = (key, windows)
        self._files.move_to_end(path)
        while len(self._files) > self._max_files:
            self._files.popitem(last=False)
        return windows


def similar_snippets(cursor_window: str, candidates: Iterable[tuple[str, str]], *,
                     excluded: Excluded, window_lines: int = 20, stride: int = 5,
                     top_k: int = 4, per_file: int = 2, min_score: float = 0.05,
                     cache: WindowCache | None = None) -> list[Snippet]:
    """The windows of other open files most like the code at the cursor, best first.

    `candidates` are (workspace-relative path, text) of the open documents other than the
    cursor's. Each file contributes its `per_file` best windows, overlapping ones merged
    into one snippet that keeps the best score; the score is the Jaccard similarity of
    identifier sets (0..1) and windows under `min_score` are dropped. Pass a `cache` kept
    across keystrokes: only files whose text changed are cut into windows again.
    """
    target = identifiers(cursor_window)
    if not target or window_lines < 1 or stride < 1:
        return []
    cache = cache if cache is not None else WindowCache()
    found: list[Snippet] = []
    for path, text in candidates:
        if excluded(path):
            continue
        windows = cache.windows(path, text, window_lines, stride)
        # Counting shared identifiers per window through the postings touches only the
        # windows that share any, in C (Counter), instead of a set operation per window.
        common = Counter(chain.from_iterable(windows.postings.get(token, ())
                                             for token in target))
        scored = [(shared / (len(target) + windows.sizes[index] - shared),
                   windows.starts[index]) for index, shared in common.items()]
        best = [(score, start)
                for score, start in heapq.nsmallest(per_file, scored,
                                                    key=lambda item: (-item[0], item[1]))
                if score >= min_score]
        for score, start, end in _merge(best, window_lines, len(windows.lines)):
            text_lines = windows.lines[start:end]
            found.append(Snippet("open_file", path, "\n".join(text_lines), round(score, 4),
                                 start, "similar to the code at the cursor"))
    found.sort(key=lambda s: (-s.score, s.path, s.start_line))
    return found[:top_k]


def _merge(windows: list[tuple[float, int]], window_lines: int, line_count: int
           ) -> list[tuple[float, int, int]]:
    """(score, start, end) spans of the windows, overlapping or touching ones joined."""
    spans: list[tuple[float, int, int]] = []
    for score, start in sorted(windows, key=lambda item: item[1]):
        end = min(start + window_lines, line_count)
        if spans and start <= spans[-1][2]:
            best, first, last = spans[-1]
            spans[-1] = (max(best, score), first, max(last, end))
        else:
            spans.append((score, start, end))
    return spans


@dataclass(frozen=True)
class Region:
    """Lines of a file the user edited, as they are numbered now."""

    path: str
    start_line: int
    end_line: int
    """Inclusive."""
    time: float


class RecentEdits:
    """The last few places the user edited, newest first, for an LSP `didChange` handler.

    Call `record()` for each ranged content change, in the order the client sent them.
    Regions in the same file follow later edits (lines inserted above shift them down),
    and an edit within `merge_gap` lines of a region grows that region instead of adding
    one. At most `limit` regions are kept; the least recently edited goes first.
    """

    def __init__(self, excluded: Excluded, *, limit: int = 16, merge_gap: int = 5) -> None:
        self.excluded = excluded
        self._limit = limit
        self._merge_gap = merge_gap
        self._regions: list[Region] = []
        self._changes = 0
        self._changes_in: Counter[str] = Counter()

    @property
    def regions(self) -> list[Region]:
        """The regions kept, newest first."""
        return sorted(self._regions, key=lambda r: -r.time)

    def record(self, path: str, start_line: int, end_line: int, new_text: str,
               time: float) -> None:
        """Note that lines `start_line..end_line` (old numbering) became `new_text`."""
        if self.excluded(path):
            return
        self._changes += 1
        self._changes_in[path] += 1
        new_end = start_line + new_text.count("\n")
        touching = Region(path, start_line, new_end, time)
        kept: list[Region] = []
        for region in self._regions:
            if region.path != path:
                kept.append(region)
                continue
            first = _moved(region.start_line, start_line, end_line, new_end, is_end=False)
            last = _moved(region.end_line, start_line, end_line, new_end, is_end=True)
            region = Region(path, first, max(first, last), region.time)
            if (region.start_line <= touching.end_line + self._merge_gap
                    and touching.start_line <= region.end_line + self._merge_gap):
                touching = Region(path, min(region.start_line, touching.start_line),
                                  max(region.end_line, touching.end_line), time)
            else:
                kept.append(region)
        kept.append(touching)
        kept.sort(key=lambda r: -r.time)
        self._regions = kept[:self._limit]

    def forget(self, path: str) -> None:
        """Drop a file's regions (closed or deleted)."""
        self._regions = [region for region in self._regions if region.path != path]
        self._changes += 1
        self._changes_in[path] += 1

    def changes_outside(self, path: str) -> int:
        """How many edits (and forgets) files other than `path` have had: a cache key."""
        return self._changes - self._changes_in[path]

    def snippets(self, cursor_path: str, cursor_line: int,
                 text_of: Callable[[str], str | None], *, skip_lines: range | None = None,
                 limit: int = 4, context_lines: int = 2, max_lines: int = 30
                 ) -> list[Snippet]:
        """The current text around the newest regions, newest highest.

        The region that overlaps `skip_lines` in the cursor's file (the lines already in
        the prompt; default the cursor's line) is left out. `text_of` gives a document's
        current text, or None when it is gone. Scores fall from 0.9 by 0.1 per rank.
        """
        skip = skip_lines if skip_lines is not None else range(cursor_line, cursor_line + 1)
        found: list[Snippet] = []
        for region in self.regions:
            if len(found) == limit:
                break
            if self.excluded(region.path):
                continue
            if region.path == cursor_path and (region.start_line < skip.stop
                                               and skip.start <= region.end_line):
                continue
            text = text_of(region.path)
            if text is None:
                continue
            # Split only as far as needed: the region may be near the top of a long file.
            stop = region.end_line + 1 + context_lines
            lines = text.split("\n", stop)[:stop]
            if region.start_line >= len(lines):
                continue  # the file has lost those lines since
            start = max(region.start_line - context_lines, 0)
            end = min(region.end_line + 1 + context_lines, len(lines), start + max_lines)
            if any(s.path == region.path and s.start_line <= end - 1 and start <= s.end_line
                   for s in found):
                continue  # shown already, with a newer region's context
            score = round(max(0.9 - 0.1 * len(found), 0.1), 4)
            found.append(Snippet("recent_edit", region.path, "\n".join(lines[start:end]),
                                 score, start, "edited recently"))
        return found


def _moved(line: int, start_line: int, end_line: int, new_end: int, *, is_end: bool) -> int:
    """Where a region's first (or last) line goes when `start_line..end_line` is replaced."""
    if line < start_line or (line == start_line and not is_end):
        return line
    if line >= end_line:
        return line + new_end - end_line
    return min(line, new_end)  # inside the replaced lines: clamp to what replaced them
