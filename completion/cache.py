"""Recent completions, so that typing what was shown (or coming back) needs no model call."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass


@dataclass(frozen=True)
class Shown:
    """A completion shown for a cursor between `prefix` and `suffix` in a document."""

    uri: str
    prefix: str
    suffix: str
    text: str


@dataclass(frozen=True)
class _Entry:
    """A shown completion with the text around it kept as digests: an entry costs the same
    whatever the document's size (a 5 MB file must not be held 64 times)."""

    uri: str
    prefix_length: int
    prefix_digest: bytes
    suffix_digest: bytes
    text: str


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


class CompletionCache:
    """An LRU of shown completions, looked up by what they depend on: the text around the cursor.

    A hit is either the same cursor again, or a cursor after the user typed the start of the
    completion (same suffix, prefix grown by a prefix of the completion): the rest is served.
    """

    def __init__(self, size: int = 64) -> None:
        self._size = size
        self._entries: OrderedDict[tuple[str, int, bytes], _Entry] = OrderedDict()

    def store(self, shown: Shown) -> None:
        """Remember a shown completion (an empty one is worth nothing)."""
        if not shown.text:
            return
        entry = _Entry(shown.uri, len(shown.prefix), _digest(shown.prefix),
                       _digest(shown.suffix), shown.text)
        key = (shown.uri, entry.prefix_length, entry.prefix_digest)
        self._entries[key] = entry
        self._entries.move_to_end(key)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        """Forget everything (the model changed)."""
        self._entries.clear()

    def forget(self, uri: str) -> None:
        """Forget a document's completions (it was closed)."""
        for key in [k for k in self._entries if k[0] == uri]:
            del self._entries[key]

    def lookup(self, uri: str, prefix: str, suffix: str) -> str | None:
        """The rest of a remembered completion that fits this cursor, newest first."""
        suffix_digest: bytes | None = None
        for key in reversed(self._entries):
            entry = self._entries[key]
            if entry.uri != uri or len(prefix) < entry.prefix_length:
                continue
            typed = prefix[entry.prefix_length:]
            if len(typed) >= len(entry.text) or not entry.text.startswith(typed):
                continue
            if suffix_digest is None:
                suffix_digest = _digest(suffix)
            if entry.suffix_digest == suffix_digest \
                    and _digest(prefix[:entry.prefix_length]) == entry.prefix_digest:
                self._entries.move_to_end(key)
                return entry.text[len(typed):]
        return None
