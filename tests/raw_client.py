"""A bare JSON-RPC client for the real `lspilot serve` over stdio, for hostile traffic.

pytest-lsp's client speaks only well-formed, typed LSP; the fuzz suite and its benchmark
also send what no editor should: params that do not parse, invalid UTF-8, deep nesting,
wrong lengths. This client writes any bytes, answers the server's own requests with
`null`, and records every response, notification and request the server sends.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Mapping
from typing import Any

SERVE = [sys.executable, "-m", "lspilot", "serve", "--log-level", "warning"]


def frame(body: bytes, length: int | None = None) -> bytes:
    """`body` with its LSP header (`length` overrides the Content-Length it announces)."""
    return b"Content-Length: %d\r\n\r\n" % (len(body) if length is None else length) + body


def encode(message: Mapping[str, Any]) -> bytes:
    """A message as JSON bytes; lone surrogates are written as JSON escapes, as editors do."""
    return json.dumps(message, ensure_ascii=True).encode("ascii")


class RawClient:
    """One server process and what it said."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.responses: dict[int | str | None, list[dict[str, Any]]] = {}
        """Responses by id (a list: a server must answer each request once)."""
        self.notifications: list[dict[str, Any]] = []
        self.server_requests: list[dict[str, Any]] = []
        self.garbage: list[bytes] = []
        """Bodies from the server that were not JSON (must stay empty)."""
        self.arrived: dict[int | str | None, float] = {}
        """When the first response to each id arrived (`time.perf_counter`)."""
        self._waiters: dict[int | str | None, asyncio.Future[dict[str, Any]]] = {}
        self._next_id = 0
        self._reader = asyncio.get_running_loop().create_task(self._read())

    @classmethod
    async def start(cls, command: list[str] | None = None,
                    env: Mapping[str, str] | None = None) -> RawClient:
        """Start `lspilot serve` (stderr goes to the test's stderr)."""
        process = await asyncio.create_subprocess_exec(
            *(command or SERVE), stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, env={**os.environ, **(env or {})},
            limit=256 * 1024 * 1024)
        return cls(process)

    @property
    def pid(self) -> int:
        """The server's process id."""
        return self.process.pid

    def alive(self) -> bool:
        """Whether the server process still runs."""
        return self.process.returncode is None

    def new_id(self) -> int:
        """A fresh request id."""
        self._next_id += 1
        return self._next_id

    def write(self, data: bytes) -> None:
        """Bytes onto the server's stdin, as they are."""
        assert self.process.stdin is not None
        self.process.stdin.write(data)

    async def drain(self) -> None:
        """Wait until the written bytes are handed to the pipe."""
        assert self.process.stdin is not None
        await self.process.stdin.drain()

    def send(self, message: Mapping[str, Any]) -> None:
        """One framed message."""
        self.write(frame(encode(message)))

    def notify(self, method: str, params: Any = None) -> None:
        """A notification."""
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def send_request(self, method: str, params: Any = None, *,
                     msg_id: int | str | None = None, omit_params: bool = False) -> int | str:
        """A request; returns its id (await `response(id)` for the answer)."""
        msg_id = self.new_id() if msg_id is None else msg_id
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": msg_id, "method": method}
        if not omit_params:
            message["params"] = params
        self.send(message)
        return msg_id

    def expect(self, msg_id: int | str | None) -> asyncio.Future[dict[str, Any]]:
        """A future for the (first) response with `msg_id`."""
        if msg_id in self.responses:
            future: asyncio.Future[dict[str, Any]] = \
                asyncio.get_running_loop().create_future()
            future.set_result(self.responses[msg_id][0])
            return future
        return self._waiters.setdefault(msg_id, asyncio.get_running_loop().create_future())

    async def response(self, msg_id: int | str | None, timeout: float = 30) -> dict[str, Any]:
        """The response to `msg_id`; TimeoutError if none comes within `timeout` seconds."""
        return await asyncio.wait_for(asyncio.shield(self.expect(msg_id)), timeout)

    async def request(self, method: str, params: Any = None, timeout: float = 30,
                      **options: Any) -> dict[str, Any]:
        """Send a request and wait for its response."""
        msg_id = self.send_request(method, params, **options)
        await self.drain()
        return await self.response(msg_id, timeout)

    def shown(self) -> list[str]:
        """The `window/showMessage` texts so far."""
        return [str(n["params"]["message"]) for n in self.notifications
                if n.get("method") == "window/showMessage"]

    async def _read(self) -> None:
        stdout = self.process.stdout
        assert stdout is not None
        while True:
            length = None
            while True:
                line = await stdout.readline()
                if not line:
                    return
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
                elif line in (b"\r\n", b"\n") and length is not None:
                    break
            body = await stdout.readexactly(length)
            try:
                message = json.loads(body)
            except ValueError:
                self.garbage.append(body)
                continue
            self._dispatch(message)

    def _dispatch(self, message: dict[str, Any]) -> None:
        if "method" in message and "id" in message:
            self.server_requests.append(message)
            result: Any = None
            if message["method"] == "workspace/configuration":
                result = [None for _ in message.get("params", {}).get("items", [])]
            self.send({"jsonrpc": "2.0", "id": message["id"], "result": result})
        elif "method" in message:
            self.notifications.append(message)
        else:
            msg_id = message.get("id")
            self.arrived.setdefault(msg_id, time.perf_counter())
            self.responses.setdefault(msg_id, []).append(message)
            waiter = self._waiters.pop(msg_id, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(message)

    async def initialize(self, options: Any = None, encoding: str | None = None,
                         capabilities: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """`initialize` (offering one position encoding if given), then `initialized`."""
        caps: dict[str, Any] = dict(capabilities or {"window": {"workDoneProgress": True}})
        if encoding is not None:
            caps["general"] = {"positionEncodings": [encoding]}
        answer = await self.request("initialize", {
            "processId": os.getpid(), "rootUri": None, "capabilities": caps,
            "initializationOptions": options}, timeout=60)
        self.notify("initialized", {})
        return answer

    async def close(self, timeout: float = 10) -> int:
        """`shutdown` and `exit` if the server still runs; its exit status."""
        if self.alive():
            try:
                await self.request("shutdown", None, timeout=timeout)
            except TimeoutError:
                pass
            try:
                self.notify("exit")
                await self.drain()
            except ConnectionError:
                pass
        try:
            code = await asyncio.wait_for(self.process.wait(), timeout)
        except TimeoutError:
            self.process.kill()
            code = await self.process.wait()
        self._reader.cancel()
        return code


def resident_kib(pid: int) -> int:
    """A process's resident memory in KiB (Linux)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")
