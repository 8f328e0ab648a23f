"""Give freed memory back to the system (glibc; elsewhere these are no-ops).

glibc's malloc keeps the pages of freed heap memory for reuse rather than returning them,
and after a large block is freed it raises the size from which blocks get their own
mapping (up to 32 MB), so a document's megabyte-sized transients (its JSON message, its
text being edited, its encodings) then land in the heap and stay there: opening three
5 MB documents grew the process by 100 MB for good. `bound_transients` fixes that size,
so such blocks always go back when freed; `give_back` trims the heap when a document
closes.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys
from collections.abc import Callable

log = logging.getLogger(__name__)


M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
"""mallopt's parameters (glibc's malloc.h)."""
MMAP_THRESHOLD = 256 * 1024
"""Blocks from this size get their own mapping, returned to the system when freed."""


def _libc_function(name: str) -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        function: Callable[..., int] = getattr(libc, name)
    except (OSError, AttributeError):
        return None
    return function


_TRIM = _libc_function("malloc_trim")
_MALLOPT = _libc_function("mallopt")


def bound_transients() -> None:
    """Give every block from `MMAP_THRESHOLD` up its own mapping, for the whole process
    (glibc only); setting the thresholds also stops glibc from raising them."""
    if _MALLOPT is not None:
        _MALLOPT(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
        _MALLOPT(M_TRIM_THRESHOLD, 4 * MMAP_THRESHOLD)


def give_back() -> None:
    """Return freed heap pages to the system (glibc only)."""
    if _TRIM is not None:
        _TRIM(0)
