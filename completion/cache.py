"""Recent completions, so that typing what was shown (or coming back) needs no model call."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass


@dataclass(frozen=True)
class Shown:
    """A completion shown for a cursor between `prefix` and `suffix` in a document."""

    uri: str
    prefix: str
    suffix: str
    text: str


class CompletionCache:
    """An LRU of shown completions, looked up by what they depend on: the text around the cursor.

    A hit is either the same cursor again, or a cursor after the user typed the start of the
    completion (same suffix, prefix grown by a prefix of the completion): the rest is served.
    """

    def __init__(self, size: int = 64) -> None:
        self._size = size
        self._entries: OrderedDict[tuple[str, int, str], Shown] = OrderedDict()

    def store(self, shown: Shown) -> None:
        """Remember a shown completion (an empty one is worth nothing)."""
        if not shown.text:
            return
        key = (shown.uri, len(shown.prefix), shown.prefix[-64:])
        self._entries[key] = shown
        self._entries.move_to_end(key)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        """Forget everything (the model changed)."""
        self._entries.clear()

    def lookup(self, uri: str, prefix: str, suffix: str) -> str | None:
        """The rest of a remembered completion that fits this cursor, newest first."""
        for key in reversed(self._entries):
            shown = self._entries[key]
            if shown.uri != uri or shown.suffix != suffix or len(prefix) < len(shown.prefix):
                continue
            typed = prefix[len(shown.prefix):]
            if len(typed) < len(shown.text) and shown.text.startswith(typed) \
                    and prefix.startswith(shown.prefix):
                self._entries.move_to_end(key)
                return shown.text[len(typed):]
        return None
