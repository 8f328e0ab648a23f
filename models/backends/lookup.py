"""Prompt-lookup drafts that follow the text being copied.

An edit in the "whole" or "block" format has the model copy code from its prompt with a
few changes, so most of what it writes is already there: a draft taken from the prompt is
checked by the model in one batch, and every token it confirms costs a fraction of a
decoding step.

llama-cpp-python's `LlamaPromptLookupDecoding` drafts after the *first* place in the
context where the last two tokens occur. In code, two tokens such as `self.` or a newline
and an indent occur dozens of times, so its draft usually follows the wrong place and the
model rejects it. This drafter follows the place that matches the *longest* run of the
latest tokens, and among equally long matches the one right after the place its last draft
came from (the copy goes on where it was), else the latest one with a whole draft after it.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt
from llama_cpp.llama_speculative import LlamaDraftModel

LONGEST_MATCH = 32
"""Tokens compared backwards from the latest one; a longer match than this is as good."""
MIN_MATCH = 2
"""Tokens that must match before a draft is offered: one token repeats too often in code."""
FOLLOW_SLACK = 2
"""Tokens past the end of the last draft where a match may start and still go on with the
copy (a draft taken whole is followed by one token the model writes itself)."""


@runtime_checkable
class Drafter(Protocol):
    """A draft model the backend can start afresh for each answer."""

    def __call__(self, input_ids: npt.NDArray[np.intc], /, **kwargs: Any) -> npt.NDArray[np.intc]:
        ...

    def reset(self) -> None:
        ...


class CopyLookup(LlamaDraftModel):
    """Draft up to `num_pred_tokens` tokens that followed the best match of the latest ones."""

    def __init__(self, num_pred_tokens: int = 20) -> None:
        self.num_pred_tokens = num_pred_tokens
        self._follow = -1
        """Where the last draft ended in the context: a copy goes on from there."""

    def reset(self) -> None:
        """Forget the last draft's place (a new answer starts)."""
        self._follow = -1

    def __call__(self, input_ids: npt.NDArray[np.intc], /, **kwargs: Any) -> npt.NDArray[np.intc]:
        found, _ = best_match(np.asarray(input_ids), self._follow, self.num_pred_tokens)
        if found < 0:
            self._follow = -1
            return np.array([], dtype=np.intc)
        end = min(found + self.num_pred_tokens, len(input_ids))
        self._follow = end
        return np.asarray(input_ids[found:end], dtype=np.intc)


def best_match(ids: npt.NDArray[np.intc], follow: int = -1, want: int = 1) -> tuple[int, int]:
    """Where the tokens after the longest earlier match of the latest tokens start, and the
    match's length (at most `LONGEST_MATCH`); (-1, 0) when there is none.

    A match must be at least `MIN_MATCH` tokens long and have a token after it. Among
    matches of the same length, those with `want` tokens after them come first (a repeating
    pattern's latest match is followed only by the tokens written since); of these, the one
    that starts at `follow` or up to `FOLLOW_SLACK` tokens after it wins (the copy goes on),
    else the latest.
    """
    n = len(ids)
    if n < MIN_MATCH + 1:
        return -1, 0
    last = ids[-1]
    # Candidate ends: earlier positions holding the latest token (not the latest itself).
    ends = np.flatnonzero(ids[:-1] == last)
    if ends.size == 0:
        return -1, 0
    length = np.ones(ends.size, dtype=np.int32)
    alive = np.ones(ends.size, dtype=bool)
    for back in range(1, min(LONGEST_MATCH, n - 1)):
        at = ends - back
        ok = alive & (at >= 0)
        ok[ok] = ids[at[ok]] == ids[n - 1 - back]
        alive = ok
        if not alive.any():
            break
        length += alive
    best = int(length.max())
    if best < MIN_MATCH:
        return -1, 0
    starts = ends[length == best] + 1
    full = starts[starts <= n - want]
    pool = full if full.size else starts
    if follow >= 0:
        ahead = pool[pool >= follow]
        if ahead.size and ahead[0] - follow <= FOLLOW_SLACK:
            return int(ahead[0]), best
    return (int(full[-1]) if full.size else int(starts[0])), best
