"""What the context sources found for one cursor, packed for the prompt."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from lspilot.context.snippet import Snippet
from lspilot.context.window import Window

CountTokens = Callable[[str], int]


@dataclass(frozen=True)
class Gathered:
    """The snippets chosen for a prompt, and how they were found."""

    repo: str = ""
    """The workspace's name, for repo-level prompt formats."""
    path: str = ""
    """The cursor's file, relative to the workspace."""
    snippets: tuple[Snippet, ...] = ()
    """What went in, in prompt order."""
    offered: tuple[Snippet, ...] = ()
    """Everything the sources offered, best first (for `lspilot.explainCompletion`)."""
    source_ms: dict[str, float] = field(default_factory=dict)
    """Time each source took."""
    late: tuple[str, ...] = ()
    """Sources skipped, or dropped unfinished, because their deadline had passed."""
    total_ms: float = 0.0


class ContextProvider(Protocol):
    """Finds the context for a cursor; the pipeline's view of the context engine."""

    def location(self, uri: str) -> tuple[str, str]:
        """The workspace's name and the document's workspace-relative path."""
        ...

    async def gather(self, uri: str, language_id: str, text: str, offset: int, window: Window,
                     budget: int, count_tokens: CountTokens, *, typing: bool = False
                     ) -> Gathered:
        """Snippets for the cursor at `offset` in `text`, fitted into `budget` tokens.

        `typing`: the request types on from the last one's cursor. Never blocks the event
        loop, and returns by the context's deadline."""
        ...
