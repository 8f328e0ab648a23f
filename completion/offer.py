"""What is offered to the editor for one completion: the texts to choose from, and the word
a completion-list item replaces."""

from __future__ import annotations

import re

_WORD_END = re.compile(r"(?<![\w$])[\w$]+\Z")
"""Identifier characters in any script (`\\w` is Unicode-aware), and `$` (JavaScript, PHP).
The look-behind makes a search try only where a word starts: without it, a line of a long
word followed by a space took time in the square of the word (a 20,000-letter word: 2 s)."""


def choices(text: str, invoked: bool) -> list[str]:
    """The completion, and for an invoked multi-line one also its first line alone, to cycle
    to (a request the user made is worth a choice; a keystroke's is not)."""
    if not text:
        return []
    body = text.lstrip("\n")
    first_line = body.split("\n", 1)[0]
    if invoked and "\n" in text.strip("\n") and first_line.strip():
        return [text, text[: len(text) - len(body)] + first_line]
    return [text]


def word_before(prefix: str) -> str:
    """The identifier being typed at the end of `prefix` (what a completion item replaces)."""
    line = prefix[prefix.rfind("\n") + 1:]
    found = _WORD_END.search(line)
    return found.group() if found else ""
