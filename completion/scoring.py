"""How right a suggestion is for a hole: exact match and edit similarity of what is shown."""

from __future__ import annotations

from dataclasses import dataclass

from lspilot.completion.holes import Kind


@dataclass(frozen=True)
class Answer:
    """A suggestion for a case, and what it cost."""

    text: str
    raw: str = ""
    latency_ms: float = 0.0
    prompt_tokens: int = 0
    sources: tuple[str, ...] = ()
    """The context sources whose snippets went into the prompt, one entry per snippet."""
    late: tuple[str, ...] = ()
    """Sources dropped at the context deadline."""


@dataclass(frozen=True)
class Score:
    """How close a suggestion is to what was taken out."""

    exact: bool
    similarity: float


def levenshtein(a: str, b: str) -> int:
    """Edits (insert, delete, substitute one character) that turn `a` into `b`."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1,
                               previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def similarity(completion: str, expected: str) -> float:
    """1 - Levenshtein / longer length of the whitespace-trimmed strings (1.0 when both empty)."""
    a, b = completion.strip(), expected.strip()
    longest = max(len(a), len(b))
    return 1.0 - levenshtein(a, b) / longest if longest else 1.0


def shown_part(text: str, kind: Kind) -> str:
    """What is scored of a suggestion: its first line for a line hole, else all of it."""
    if kind == "line":
        return text.split("\n", 1)[0].strip()
    return "\n".join(line.rstrip() for line in text.strip("\n").split("\n")).strip()


def score(text: str, expected: str, kind: Kind) -> Score:
    """Exact match and edit similarity of the scored part of `text` against `expected`."""
    got, want = shown_part(text, kind), shown_part(expected, kind)
    return Score(got == want, round(similarity(got, want), 4))


def lost(ours: Score, bare: Score) -> bool:
    """Whether the pipeline did worse than the bare model on a case."""
    return (bare.exact and not ours.exact) or (
        not bare.exact and not ours.exact and ours.similarity < bare.similarity)


def wins_back(changed: Score, bare: Score) -> bool:
    """Whether a changed pipeline does at least as well as the bare model."""
    return changed.exact if bare.exact else changed.similarity >= bare.similarity
