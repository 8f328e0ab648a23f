"""Completions on the autocomplete model: the scheduler decides when the model runs, the
pipeline what it reads and what is shown, the meter counts."""

from __future__ import annotations

from collections.abc import Callable

from lspilot.completion.counters import Meter
from lspilot.completion.pipeline import Completion, CompletionRequest, complete
from lspilot.completion.scheduler import Job, Scheduler
from lspilot.context.gather import ContextProvider
from lspilot.models.slot import ModelSlot
from lspilot.settings import Settings


class Engine:
    """Runs completions for the autocomplete slot's model."""

    def __init__(self, slot: ModelSlot, settings: Settings,
                 context: ContextProvider | None = None,
                 refreshed: Callable[[str], None] | None = None) -> None:
        self.slot = slot
        self.settings = settings
        self.context = context
        """The workspace's context engine, once the workspace is known."""
        self.meter = Meter()
        self.scheduler = Scheduler(settings.completion, self.meter, refreshed=refreshed)
        self.last: Completion | None = None
        slot.switched.append(self.scheduler.forget)

    def configure(self, settings: Settings) -> None:
        """Take new settings (the slot takes its own)."""
        self.settings = settings
        self.scheduler.settings = settings.completion

    async def complete(self, request: CompletionRequest) -> Completion:
        """Complete at a cursor; a newer request for the same document supersedes this one."""
        return await self.scheduler.complete(request, self._run)

    async def _run(self, job: Job, anchor: int | None) -> Completion:
        backend = await self.slot.ready()
        settings = self.settings
        context = self.context if settings.context.enabled else None

        def seen(raw: str) -> None:
            job.raw = raw

        completion = await complete(job.request, backend, settings.completion, anchor,
                                    job.stats, context, settings.context.tokens, seen,
                                    privacy=settings.privacy)
        self.last = completion
        return completion
