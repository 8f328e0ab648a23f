"""Lazy placeholders: the model wrote "... existing code ..." instead of the code itself.

Written into a file, such a line deletes what it stands for, so a reply that has one is
refused. A line counts only when the original text did not have it: code that already says
`# ...` is left alone.
"""

from __future__ import annotations

import re

_LEADER = re.compile(r"^(?:#+|//+|/\*+|\*|--|;+|<!--|\{/\*)\s*")
_TRAILER = re.compile(r"\s*(?:\*/\}?|-->)\s*$")
_DOTS = re.compile(r"\.\.\.|…")
_WORDS = re.compile(
    r"existing|unchanged|rest of|remain|same as|as before|previous|other (?:code|methods|"
    r"functions|lines|imports|fields)|omitted|for brevity|your code|code here|no changes?"
    r"|etc\b|keep (?:the )?(?:rest|existing)|not shown|truncated", re.IGNORECASE)


def is_placeholder(line: str, language_id: str = "", previous: str = "") -> bool:
    """Whether `line` stands for code left out rather than being code.

    `previous` is the nearest non-blank line before it: in Python a bare `...` after a line
    ending with `:` is a body (`def f(): ...` on two lines), not a placeholder.
    """
    text = line.strip()
    if not text:
        return False
    if _DOTS.fullmatch(text):
        return not (language_id == "python" and previous.rstrip().endswith(":"))
    leader = _LEADER.match(text)
    if leader is None:
        return False
    comment = _TRAILER.sub("", text[leader.end():]).strip()
    if not comment.strip(".… ()[]"):
        return bool(_DOTS.search(comment))  # `# ...`, `// …`, `/* ... */`
    if _DOTS.search(comment) and _WORDS.search(comment):
        return True
    return bool(re.search(r"\b(?:rest of (?:the )?(?:file|code|class|function|method|module)"
                          r"|(?:existing|unchanged|remaining) (?:code|lines|methods|functions)"
                          r"|(?:is|are|remains?|stays?|left) unchanged"
                          r"|same as (?:before|above)|omitted for brevity)\b"
                          r"|\b(?:unchanged|omitted|for brevity|as before)\W*$", comment,
                          re.IGNORECASE))


def placeholder(original: str, new: str, language_id: str = "") -> str | None:
    """The first placeholder line `new` adds to `original` (stripped), or None."""
    known = {line.strip() for line in original.splitlines()}
    previous = ""
    for line in new.splitlines():
        if line.strip() not in known and is_placeholder(line, language_id, previous):
            return line.strip()
        if line.strip():
            previous = line
    return None
