"""A piece of code from somewhere in the workspace that may help the model at a cursor."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Source = Literal["scope", "definition", "usage", "import_usage", "git_diff", "open_file",
                 "recent_edit"]
"""Which context source found a snippet."""

VOLATILITY: dict[str, int] = {
    "definition": 0, "scope": 1, "import_usage": 2, "usage": 2, "open_file": 3, "git_diff": 4,
    "recent_edit": 5,
}
"""How often a source's snippets change between keystrokes, least first: the prompt puts
stable context first so that consecutive prompts share the longest prefix (KV cache)."""


@dataclass(frozen=True)
class Snippet:
    """Code for the prompt, with where it came from and how much it is worth."""

    source: Source
    path: str
    """Workspace-relative, `/`-separated path of the file the code is from."""
    text: str
    score: float
    """Value for this cursor, 0..1; higher goes in first when the budget is short."""
    start_line: int = 0
    """0-based line of `path` where `text` starts."""
    reason: str = ""
    """Why the source picked it, for `lspilot.explainCompletion` (e.g. "defines parse()")."""

    @property
    def end_line(self) -> int:
        """0-based line where `text` ends (inclusive)."""
        return self.start_line + self.text.count("\n")
