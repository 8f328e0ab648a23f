"""LSP framing with bounds: a malformed header costs only itself, an oversized body is read
past (not held), and the end of the stream ends reading."""

from __future__ import annotations

import io
import threading

import pytest

from lspilot.lsp.wire import BinarySource, read_messages


class Recorder:
    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.refused: list[int] = []

    def receive(self, body: bytes) -> None:
        self.bodies.append(body)

    def refuse_oversized(self, size: int) -> None:
        self.refused.append(size)


async def read_all(stream: bytes, max_bytes: int = 1000) -> Recorder:
    recorder = Recorder()
    await read_messages(BinarySource(io.BufferedReader(io.BytesIO(stream)), None), recorder,
                        threading.Event(), max_bytes)
    return recorder


def msg(body: bytes, headers: bytes | None = None) -> bytes:
    return (headers or b"Content-Length: %d\r\n" % len(body)) + b"\r\n" + body


@pytest.mark.parametrize(("stream", "bodies", "refused"), [
    (msg(b"{}") + msg(b"[1]"), [b"{}", b"[1]"], []),
    (msg(b"{}", b"content-length:2\r\nContent-Type: x\r\n"), [b"{}"], []),  # any case
    (msg(b"x" * 1001) + msg(b"{}"), [b"{}"], [1001]),                      # oversized
    (b"junk\r\n" + b"j" * 20_000 + b"\r\n" + msg(b"{}"), [b"{}"], []),       # junk headers
    (b"Content-Length: " + b"9" * 40 + b"\r\n\r\n" + msg(b"{}"), [b"{}"], []),
    (b"\r\n\r\n" + msg(b"{}"), [b"{}"], []),                                # blank lines
    (msg(b""), [b""], []),                                                   # empty body
    (msg(b"{}")[:-1], [], []),                                               # cut short
    (b"Content-Length: 5000\r\n\r\n" + b"x" * 10, [], []),                   # cut oversized
])
async def test_framing(stream: bytes, bodies: list[bytes], refused: list[int]) -> None:
    recorder = await read_all(stream)
    assert (recorder.bodies, recorder.refused) == (bodies, refused)
