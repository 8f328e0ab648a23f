"""LSP's base protocol on a byte stream: headers, then a body of Content-Length bytes.

pygls reads whatever length a header announces into memory, and a header line of any
length; here both are bounded, and a malformed header costs that header, never the
connection. What a body holds is the protocol's business (`LspilotProtocol.receive`).
"""

from __future__ import annotations

import asyncio
import re
import threading
from concurrent.futures import Executor
from typing import BinaryIO, Protocol

MAX_MESSAGE_BYTES = 64 * 1024 * 1024
"""A body longer than this is read past and refused: no editor sends a message this large
(a 64 MB document is far beyond what a completion can use) and reading it would hold it
all in memory."""

MAX_HEADER_LINE = 8 * 1024
"""Header lines are read in pieces of at most this many bytes."""

_CHUNK = 1024 * 1024
_CONTENT_LENGTH = re.compile(rb"content-length:[ \t]*(\d{1,18})[ \t]*\r?\n?", re.IGNORECASE)


class Source(Protocol):
    """Where message bytes come from."""

    async def readline(self, limit: int) -> bytes:
        """Up to and including the next `\\n`, at most `limit` bytes; b"" at the end."""

    async def read(self, size: int) -> bytes:
        """Exactly `size` bytes, fewer only at the end of the stream."""


class Receiver(Protocol):
    """What takes the bodies (the protocol)."""

    def receive(self, body: bytes) -> None:
        """One message's body."""

    def refuse_oversized(self, size: int) -> None:
        """A message of `size` bytes was read past."""


class BinarySource:
    """A blocking binary stream (stdin), read on an executor's thread."""

    def __init__(self, stream: BinaryIO, executor: Executor | None) -> None:
        self._stream = stream
        self._executor = executor

    async def readline(self, limit: int) -> bytes:
        """See `Source.readline`."""
        return await asyncio.get_running_loop().run_in_executor(
            self._executor, self._stream.readline, limit)

    async def read(self, size: int) -> bytes:
        """See `Source.read`."""
        return await asyncio.get_running_loop().run_in_executor(
            self._executor, self._read, size)

    def _read(self, size: int) -> bytes:
        pieces = []
        while size > 0:
            piece = self._stream.read(size)
            if not piece:
                break
            pieces.append(piece)
            size -= len(piece)
        return b"".join(pieces)


class StreamSource:
    """An asyncio stream (a TCP connection)."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self._reader = reader

    async def readline(self, limit: int) -> bytes:
        """See `Source.readline`."""
        try:
            return await self._reader.readuntil(b"\n")
        except asyncio.IncompleteReadError as exc:
            return exc.partial
        except asyncio.LimitOverrunError as exc:
            return await self._reader.read(max(1, min(exc.consumed, limit)))

    async def read(self, size: int) -> bytes:
        """See `Source.read`."""
        try:
            return await self._reader.readexactly(size)
        except asyncio.IncompleteReadError as exc:
            return exc.partial


async def read_messages(source: Source, receiver: Receiver, stop: threading.Event,
                        max_bytes: int = MAX_MESSAGE_BYTES) -> None:
    """Hand each message body to `receiver` until the stream ends or `stop` is set."""
    length: int | None = None
    while not stop.is_set():
        line = await source.readline(MAX_HEADER_LINE)
        if not line:
            return
        if line.strip():
            match = _CONTENT_LENGTH.fullmatch(line)
            if match is not None:
                length = int(match.group(1))
            continue  # other headers (Content-Type) and junk say nothing we need
        if length is None:
            continue
        size, length = length, None
        if size > max_bytes:
            if not await _skip(source, size):
                return
            receiver.refuse_oversized(size)
            continue
        body = await source.read(size)
        if len(body) < size:
            return
        receiver.receive(body)


async def _skip(source: Source, size: int) -> bool:
    """Read past `size` bytes; False when the stream ended first."""
    while size > 0:
        piece = await source.read(min(size, _CHUNK))
        if not piece:
            return False
        size -= len(piece)
    return True

