"""A real HTTP server on loopback that serves completions well or badly, on demand.

It speaks the three server APIs lspilot calls (OpenAI-compatible `/v1/models` and
`/v1/completions`, llama.cpp's `/health`, `/props`, `/completion` and `/infill`, Ollama's
`/api/tags` and `/api/generate`), with the framing of the recordings in
`tests/replay_server.py`. It is written on raw asyncio streams so that it can fail the way
real servers and networks do: answer nothing for a while, answer 500, send garbage, cut the
connection in the middle of a chunked answer, or stream 10 MB. Stopping it closes the port
(connection refused); starting it again reopens the same port.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Literal

from tests.replay_server import (
    OLLAMA_MODEL,
    OLLAMA_TAGS,
    free_port,
    llama_server_events,
    ollama_chunks,
)

Fault = Literal["healthy", "stall", "error500", "garbage", "cut", "huge", "huge_line"]
OPENAI_MODEL = "tiny"
HUGE_BYTES = 10 * 2**20


@dataclass
class Behaviour:
    """How completion requests are answered right now, and what was asked."""

    fault: Fault = "healthy"
    pieces: list[str] = field(default_factory=lambda: ["a", " +", " b"])
    stall_s: float = 15.0
    completions: int = 0
    """Completion requests received."""
    huge_sent: int = 0
    """Bytes of huge answers the server managed to write before the client hung up."""


def _events(path: str, pieces: list[str]) -> tuple[list[dict[str, Any]], bool]:
    """The streamed objects of a healthy answer on `path`, and whether they go as SSE."""
    if path == "/v1/completions":
        chunks: list[dict[str, Any]] = [
            {"id": "cmpl-1", "object": "text_completion", "created": 1, "model": OPENAI_MODEL,
             "choices": [{"text": p, "index": 0, "logprobs": None, "finish_reason": None}]}
            for p in pieces]
        chunks.append({"id": "cmpl-1", "object": "text_completion", "created": 1,
                       "model": OPENAI_MODEL, "choices": [{"text": "", "index": 0,
                                                           "logprobs": None,
                                                           "finish_reason": "stop"}]})
        return chunks, True
    if path == "/api/generate":
        return ollama_chunks(pieces), False
    return llama_server_events(pieces), True


def _piece_event(path: str, piece: str) -> dict[str, Any]:
    return _events(path, [piece])[0][0]


def _frame(item: dict[str, Any] | str, sse: bool) -> bytes:
    text = item if isinstance(item, str) else json.dumps(item)
    return (f"data: {text}\n\n" if sse else f"{text}\n").encode()


def _chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


class FaultServer:
    """The server, run on its own event loop in a thread."""

    def __init__(self, behaviour: Behaviour | None = None) -> None:
        self.behaviour = behaviour or Behaviour()
        self.port = free_port()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        """The base URL."""
        return f"http://127.0.0.1:{self.port}"

    def _call(self, coro: Any) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return future.result(timeout=30)

    def start(self) -> None:
        """Listen (again) on the port; nothing when it listens already."""
        async def start() -> None:
            if self._server is None:
                self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self._call(start())

    def stop(self) -> None:
        """Close the port and every connection: the next connect is refused."""
        async def stop() -> None:
            if self._server is not None:
                self._server.close()
                self._server = None
            for task in list(self._handlers):
                task.cancel()
            await asyncio.gather(*self._handlers, return_exceptions=True)
        self._call(stop())

    def close(self) -> None:
        """Stop, and end the thread."""
        self.stop()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            await self._answer(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            writer.transport.abort()  # stopped: what is still buffered is dropped
        finally:
            self._handlers.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        method, path, _ = head.split("\r\n", 1)[0].split(" ", 2)
        headers = {k.strip().lower(): v.strip() for k, _, v in
                   (line.partition(":") for line in head.split("\r\n")[1:] if line)}
        raw = await reader.readexactly(int(headers.get("content-length", "0")))
        body = json.loads(raw) if raw else {}
        completion = method == "POST" and (
            path in ("/v1/completions", "/completion", "/infill")
            or (path == "/api/generate" and "prompt" in body))
        if not completion:
            await self._plain(writer, path, body)
            return
        behaviour = self.behaviour
        behaviour.completions += 1
        number, fault = behaviour.completions, behaviour.fault
        sse = path != "/api/generate"
        if fault == "stall":
            await asyncio.sleep(behaviour.stall_s)
            fault = "healthy"
        if fault == "error500":
            error = {"error": {"message": f"out of memory at request {number}", "code": 500}}
            await self._send(writer, 500, json.dumps(error).encode(), "application/json")
            return
        if fault == "garbage":
            page = f"<html><body>502 Bad Gateway (request {number})</body></html>"
            await self._send(writer, 200, _frame(page, sse), "text/event-stream")
            return
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: " +
                     (b"text/event-stream" if sse else b"application/x-ndjson") +
                     b"\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
        if fault == "cut":
            writer.write(_chunk(_frame(_piece_event(path, behaviour.pieces[0]), sse)))
            await writer.drain()
            writer.transport.abort()  # no closing chunk: the answer ends mid-way
            return
        if fault in ("huge", "huge_line"):
            await self._huge(writer, path, sse, one_line=fault == "huge_line")
            return
        items, _ = _events(path, behaviour.pieces)
        for item in items:
            writer.write(_chunk(_frame(item, sse)))
        if sse and path == "/v1/completions":
            writer.write(_chunk(_frame("[DONE]", sse)))
        writer.write(b"0\r\n\r\n")
        await writer.drain()

    async def _huge(self, writer: asyncio.StreamWriter, path: str, sse: bool,
                    one_line: bool) -> None:
        """10 MB: as many small events (a server ignoring the token limit), or one line."""
        if one_line:
            data = _frame(_piece_event(path, "x" * HUGE_BYTES), sse)
            for start in range(0, len(data), 1 << 16):
                writer.write(_chunk(data[start:start + (1 << 16)]))
                await writer.drain()
                self.behaviour.huge_sent += 1 << 16
        else:
            event = _frame(_piece_event(path, "xxxxxxxx "), sse)
            batch, sent = _chunk(event * 256), 0
            while sent < HUGE_BYTES:
                writer.write(batch)
                await writer.drain()
                sent += len(batch)
                self.behaviour.huge_sent += len(batch)
        writer.write(b"0\r\n\r\n")
        await writer.drain()

    async def _plain(self, writer: asyncio.StreamWriter, path: str, body: Any) -> None:
        """Everything but completions: model lists, health, loading an Ollama model."""
        answers: dict[str, Any] = {
            "/v1/models": {"object": "list", "data": [{"id": OPENAI_MODEL, "object": "model",
                                                        "owned_by": "me"}]},
            "/health": {"status": "ok"},
            "/props": {"default_generation_settings": {"n_ctx": 4096}, "total_slots": 1},
            "/api/tags": OLLAMA_TAGS,
            "/api/generate": {"model": OLLAMA_MODEL, "created_at": "2023-08-04T19:22:45Z",
                              "response": "", "done": True},
        }
        if path not in answers:
            await self._send(writer, 404, b'{"error": "not found"}', "application/json")
            return
        await self._send(writer, 200, json.dumps(answers[path]).encode(), "application/json")

    @staticmethod
    async def _send(writer: asyncio.StreamWriter, status: int, body: bytes, kind: str) -> None:
        reason = {200: "OK", 404: "Not Found", 500: "Internal Server Error"}[status]
        writer.write(f"HTTP/1.1 {status} {reason}\r\nContent-Type: {kind}\r\n"
                     f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
        await writer.drain()


@contextlib.contextmanager
def fault_server(behaviour: Behaviour | None = None) -> Iterator[FaultServer]:
    """A started fault server, closed at the end."""
    server = FaultServer(behaviour)
    server.start()
    try:
        yield server
    finally:
        server.close()
