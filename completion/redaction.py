"""Secrets kept out of prompts and out of completions: the pipeline's redaction stage.

Every piece of text a FIM prompt holds passes here before `templates.render`: the cursor's
window (prefix and suffix) and each context snippet (definitions, usages, git diff, open
files, recent edits). `context.secrets.redact` does the finding; this module maps its
findings onto the window and the snippets, and cuts a completion before a secret the
document does not already hold.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from lspilot.completion.cursor import CursorContext
from lspilot.context.gather import Gathered
from lspilot.context.secrets import Finding, known_kinds, redact
from lspilot.context.snippet import Snippet
from lspilot.context.window import Window

LEAD_CHARS = 8192
"""How far above the window to look for the BEGIN line of a private key that the window
starts inside (a 4096-bit RSA key in PEM is about 3.3 KB)."""


@dataclass(frozen=True)
class Redaction:
    """A secret kept out of a prompt, for `lspilot.explainCompletion` (never its value)."""

    kind: str
    source: str
    """`window` for the cursor's own file, else the context source of the snippet."""
    path: str
    line: int
    """0-based line of `path` where the secret starts."""


@dataclass(frozen=True)
class RedactedWindow:
    """The window's prefix and suffix as the prompt gets them."""

    prefix: str
    suffix: str
    findings: tuple[Finding, ...] = ()
    """Secrets found, with offsets in the document's text."""


def redact_window(text: str, offset: int, window: Window) -> RedactedWindow:
    """The window's text with its secrets replaced, looking above it for a key's BEGIN line.

    The prefix and suffix are redacted as one text, so a secret the cursor stands in is
    found whole; its placeholder goes where it starts, and the rest of it is dropped. Only
    the text of the window and, when a private key's BEGIN line is within `LEAD_CHARS`
    above it, the lines from there count: the same window always redacts the same way, and
    text typed at the cursor changes nothing before it (the KV cache keeps its tokens).
    """
    start = offset - len(window.prefix)
    end = offset + len(window.suffix)
    lead = start
    begin = text.rfind("-----BEGIN", max(0, start - LEAD_CHARS), start)
    if begin >= 0:
        lead = text.rfind("\n", 0, begin) + 1
    findings = window_findings(text, lead, end, offset)
    if not findings:
        return RedactedWindow(window.prefix, window.suffix)
    cut, cursor = start - lead, offset - lead
    region = text[lead:end]
    prefix: list[str] = []
    suffix: list[str] = []

    def copy(a: int, b: int) -> None:
        if a < cursor:
            prefix.append(region[a:min(b, cursor)])
        if b > cursor:
            suffix.append(region[max(a, cursor):b])

    at = cut
    found: list[Finding] = []
    for finding in findings:
        if finding.end <= cut:
            continue  # a key wholly above the window
        begins = max(finding.start, cut)
        copy(at, begins)
        (prefix if begins < cursor else suffix).append(finding.placeholder)
        at = finding.end
        found.append(Finding(finding.kind, finding.start + lead, finding.end + lead))
    copy(at, len(region))
    return RedactedWindow("".join(prefix), "".join(suffix), tuple(found))


def window_findings(text: str, lead: int, end: int, offset: int) -> tuple[Finding, ...]:
    """The secrets in `text[lead:end]`, offsets relative to `lead`.

    While typing, only the cursor's line changes: the lines above and below it are
    redacted as texts of their own, which the cache answers on the next keystroke. The
    rules that span lines (a private key, a `curl` command) see the region whole.
    """
    region = text[lead:end]
    lowered = region.lower()
    if "private key" in lowered or "curl" in lowered:
        return redact(region).findings
    line_start = max(text.rfind("\n", lead, offset) + 1, lead)
    line_end = text.find("\n", offset, end)
    line_end = end if line_end < 0 else line_end
    found: list[Finding] = []
    for start, stop in ((lead, line_start), (line_start, line_end), (line_end, end)):
        shift = start - lead
        found += [Finding(f.kind, f.start + shift, f.end + shift)
                  for f in redact(text[start:stop]).findings]
    return tuple(found)


def redact_snippet(snippet: Snippet) -> Snippet:
    """The snippet with its secrets replaced (the same snippet when it has none)."""
    redacted = redact(snippet.text)
    if not redacted.findings:
        return snippet
    return dataclasses.replace(snippet, text=redacted.text)


def redact_gathered(gathered: Gathered) -> tuple[Gathered, tuple[Redaction, ...]]:
    """The context with every snippet redacted, and what was kept out of the chosen ones.

    The offered snippets are redacted the same way, so that the explanation still tells
    the chosen ones from those left out.
    """
    redactions: list[Redaction] = []
    for snippet in gathered.snippets:
        for finding in redact(snippet.text).findings:
            redactions.append(Redaction(finding.kind, snippet.source, snippet.path,
                                        snippet.start_line
                                        + snippet.text.count("\n", 0, finding.start)))
    redacted = dataclasses.replace(
        gathered, snippets=tuple(redact_snippet(s) for s in gathered.snippets),
        offered=tuple(redact_snippet(s) for s in gathered.offered))
    return redacted, tuple(redactions)


def window_redactions(text: str, window: RedactedWindow, path: str) -> tuple[Redaction, ...]:
    """Where the window's secrets were, as lines of the cursor's file."""
    return tuple(Redaction(f.kind, "window", path, text.count("\n", 0, f.start))
                 for f in window.findings)


_PLACEHOLDER = re.compile(r"<([a-z0-9][a-z0-9-]*)>")


def cut_secrets(completion: str, cursor: CursorContext) -> str:
    """The completion up to the first secret-shaped value the document does not hold.

    The model may have learned a key anywhere (its training data included); a value our
    rules would keep out of a prompt is never inserted unless the user's file already has
    it. A placeholder the model copied from the prompt (`<password>`) is cut too.
    """
    if not completion:
        return completion
    head, tail = cursor.line_prefix, cursor.line_suffix
    probe = head + completion + tail
    stop = len(completion)
    document = cursor.prefix + cursor.suffix
    for finding in redact(probe).findings:
        begins, ends = finding.start - len(head), finding.end - len(head)
        if ends <= 0 or begins >= len(completion):
            continue  # wholly in the text around the completion
        if probe[finding.start:finding.end] not in document:
            stop = min(stop, max(0, begins))
    kinds = known_kinds()
    for match in _PLACEHOLDER.finditer(completion):
        if match.group(1) in kinds and match.group() not in document:
            stop = min(stop, match.start())
    return completion[:stop].rstrip() if stop < len(completion) else completion

