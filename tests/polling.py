"""The one way tests wait for something that happens in another thread, task or process.

`wait_until` (threads, processes) and `until` (asyncio) call a probe until its value is
ready, and return that value. On timeout they fail with the last value seen, so a failure
says what the test saw instead of only that it gave up.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

T = TypeVar("T")


def _fail(what: str, timeout: float, last: object, explain: Callable[[], str] | None) -> None:
    detail = f"\n{explain()}" if explain is not None else ""
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}; "
                         f"last value seen: {last!r}{detail}")


def wait_until(probe: Callable[[], T], ready: Callable[[T], Any] = bool, *, what: str,
               timeout: float = 30.0, interval: float = 0.01,
               explain: Callable[[], str] | None = None) -> T:
    """Call `probe` until `ready(value)`; return the value, or fail with the last one seen."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if ready(value):
            return value
        if time.monotonic() > deadline:
            _fail(what, timeout, value, explain)
        time.sleep(interval)


async def until(probe: Callable[[], Awaitable[T] | T], ready: Callable[[T], Any] = bool, *,
                what: str, timeout: float = 30.0, interval: float = 0.01,
                explain: Callable[[], str] | None = None) -> T:
    """`wait_until` for a test on the event loop; `probe` may be sync or async."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = probe()
        value = cast(T, await result if inspect.isawaitable(result) else result)
        if ready(value):
            return value
        if loop.time() > deadline:
            _fail(what, timeout, value, explain)
        await asyncio.sleep(interval)
