"""What happened to completion requests since the server started: counts, acceptance and
latency, kept local (nothing leaves the machine)."""

from __future__ import annotations

import dataclasses
from collections import OrderedDict, deque
from dataclasses import dataclass, field

SHOWN_IDS = 256
"""Shown completions remembered for an acceptance report; older ones are forgotten."""


@dataclass
class Counters:
    """Counts of requests and of what the model did for them."""

    requests: int = 0
    completed: int = 0
    cancelled: int = 0
    failed: int = 0
    cache_hits: int = 0
    model_starts: int = 0
    """Requests that reached the model, finished or not."""
    model_calls: int = 0
    """Requests the model finished."""
    model_stopped: int = 0
    """Model work stopped before it finished (superseded, contradicted or cancelled)."""
    model_cpu_ms: float = 0.0
    """CPU time the model's work took (in-process backends), finished or not."""
    stopped_cpu_ms: float = 0.0
    refreshes: int = 0
    """Background calls after a typed-ahead cache hit, when the user paused."""
    refreshed: int = 0
    """Of those, the ones whose suggestion differed from the one served (the editor is told)."""
    """Of that, the time spent on work that was stopped: spent for nothing shown."""
    shown: int = 0
    accepted: int = 0
    accepted_chars: int = 0
    evaluated_tokens: int = 0
    needed_tokens: int = 0
    """Prompt tokens the requests that reached the model needed evaluated (KV cache aside),
    whether or not they were stopped before evaluating them."""
    joined: int = 0
    """Requests that waited for a superseded request's generation to finish, typed on from
    it, instead of starting another."""
    joins_abandoned: int = 0
    """Of those, the ones that stopped waiting when the model's text contradicted the user's."""


@dataclass
class Meter:
    """The counters, the ids of shown completions awaiting acceptance, and latencies."""

    counters: Counters = field(default_factory=Counters)
    latencies: deque[float] = field(default_factory=lambda: deque(maxlen=500))
    """Milliseconds from request to shown completion, newest last."""
    _shown: OrderedDict[int, int] = field(default_factory=OrderedDict)
    _next_id: int = 0

    def shown_id(self, text: str) -> int:
        """An id for a shown completion, reported back by the editor on acceptance."""
        self._next_id += 1
        self._shown[self._next_id] = len(text)
        while len(self._shown) > SHOWN_IDS:
            self._shown.popitem(last=False)
        return self._next_id

    def accepted(self, shown_id: int) -> bool:
        """Count an accepted completion (once); False for an unknown or repeated id."""
        chars = self._shown.pop(shown_id, None)
        if chars is None:
            return False
        self.counters.accepted += 1
        self.counters.accepted_chars += chars
        return True

    def figures(self) -> dict[str, float | int]:
        """Every counter by field name, and the p50/p95 latency of shown completions."""
        figures: dict[str, float | int] = dataclasses.asdict(self.counters)
        ordered = sorted(self.latencies)
        for name, q in (("latency_ms_p50", 0.5), ("latency_ms_p95", 0.95)):
            figures[name] = round(ordered[int(q * (len(ordered) - 1))], 1) if ordered else 0
        return figures
