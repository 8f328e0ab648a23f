"""Server-initiated `$/progress`: begin, reports and end, sent only once the client accepted
the token (and not at all to a client without work-done progress)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from typing import Any

from lsprotocol import types

log = logging.getLogger(__name__)


class WorkDone:
    """One progress sequence. Reports and the end queue behind the token's creation; a
    report identical to the last one is not sent again."""

    def __init__(self, ls: Any, title: str, *, cancellable: bool = False,
                 on_cancel: Callable[[], None] | None = None) -> None:
        self._ls = ls
        self.token = f"lspilot-{uuid.uuid4().hex[:12]}"
        self._last: tuple[str | None, int | None] = (None, None)
        self._ended = False
        loop = asyncio.get_running_loop()
        self._created: asyncio.Future[bool] = loop.create_future()
        if on_cancel is not None:
            ls.progress_cancellers[self.token] = on_cancel
        if not ls.client_supports_progress:
            self._created.set_result(False)
            return
        task = loop.create_task(self._create(title, cancellable))
        ls.background(task)

    async def _create(self, title: str, cancellable: bool) -> None:
        try:
            await self._ls.work_done_progress.create_async(self.token)
        except Exception as exc:  # the client refused; progress is optional
            log.info("client refused progress token: %s", exc)
            self._created.set_result(False)
            return
        self._ls.progress(types.ProgressParams(self.token, types.WorkDoneProgressBegin(
            title=title, percentage=0, cancellable=cancellable)))
        self._created.set_result(True)

    async def shown(self, timeout: float) -> None:
        """Wait (at most `timeout` seconds) until the client accepted the token, or refused."""
        try:
            await asyncio.wait_for(asyncio.shield(self._created), timeout)
        except TimeoutError:
            log.info("client did not answer the progress request in %s s", timeout)

    def report(self, message: str, percentage: int | None = None) -> None:
        """Tell how far the work got."""
        if self._ended or (message, percentage) == self._last:
            return
        self._last = (message, percentage)
        self._after_created(types.WorkDoneProgressReport(message=message,
                                                         percentage=percentage))

    def end(self, message: str) -> None:
        """Close the sequence (once)."""
        if self._ended:
            return
        self._ended = True
        self._ls.progress_cancellers.pop(self.token, None)
        self._after_created(types.WorkDoneProgressEnd(message=message))

    def _after_created(self, value: Any) -> None:
        def send(created: asyncio.Future[bool]) -> None:
            if created.result():
                self._ls.progress(types.ProgressParams(self.token, value))

        if self._created.done():
            send(self._created)
        else:
            self._created.add_done_callback(send)
