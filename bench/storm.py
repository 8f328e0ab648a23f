"""Load on the real server: typing at a person's pace, typing storms, two documents at once,
and many editors over TCP sharing one model.

Every keystroke is what an editor sends: the previous completion request, if unanswered, is
cancelled (`$/cancelRequest`), then `didChange` and an automatic
`textDocument/inlineCompletion`. A suggestion is *shown* when a non-empty answer arrives
before the next keystroke.

- pace: one document typed at 5, 8 and 10 keys/s (a steady rhythm). Model work started vs
  finished, the server's CPU time and the part spent on work that was stopped, suggestions
  shown while typing and their latency.
- storm: 50 keys/s for 60 s. Every request answered, response p50/p95/max, model starts,
  resident memory growth, and a completion right after the storm.
- two: the storm on two documents at once.
- tcp: `lspilot serve --tcp` with 20 editors (a function's worth of document each, read once,
  then typed in at a person's pace), one model: every request answered, response p95,
  suggestions shown, models loaded, resident memory with 1 editor connected and with all,
  and a completion per editor in a new document at the end.

    .venv/bin/python -m bench.storm [--model NAME|PATH] [--only pace,storm,two,tcp]
        [--paces 5,8,10] [--pace-seconds 30] [--storm-seconds 60] [--editors 20] [--json OUT]
        [--lspilot CMD]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shlex
import socket
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.client import LanguageClient

from bench.stats import percentile
from bench.typing import position, tasks
from lspilot.models.store import ModelStore
from lspilot.settings import Settings

LSPILOT = [sys.executable, "-m", "lspilot"]
"""How the server is started (`--lspilot` replaces it, e.g. to measure another checkout)."""
ADD = "\n\ndef add(a, b):\n    return "
"""Appended after a storm: the completion there must still be sensible (`a + b`)."""


@dataclass
class Sent:
    """One completion request and what came of it."""

    sent: float
    answered: float | None = None
    text: str = ""
    next_key: float | None = None
    """When the next keystroke went out: an answer after it is never shown."""

    @property
    def shown(self) -> bool:
        """A non-empty answer that arrived while it still fit the text."""
        return bool(self.text) and self.answered is not None and (
            self.next_key is None or self.answered <= self.next_key)


@dataclass
class Editor:
    """One client with one open document, typing at its cursor."""

    client: LanguageClient
    uri: str
    text: str
    offset: int
    version: int = 1
    requests: list[Sent] = field(default_factory=list)
    _pending: tuple[str, asyncio.Future[Any]] | None = None

    def open(self) -> None:
        """didOpen."""
        self.client.text_document_did_open(types.DidOpenTextDocumentParams(
            types.TextDocumentItem(uri=self.uri, language_id="python", version=1,
                                   text=self.text)))

    def insert(self, typed: str) -> None:
        """didChange: `typed` inserted at the cursor, which moves after it."""
        here = position(self.text, self.offset)
        self.text = self.text[:self.offset] + typed + self.text[self.offset:]
        self.offset += len(typed)
        self.version += 1
        self.client.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=self.uri,
                                                                 version=self.version),
            content_changes=[types.TextDocumentContentChangePartial(
                range=types.Range(here, here), text=typed)]))

    def key(self, char: str) -> None:
        """One keystroke: cancel the unanswered request, change, ask again."""
        now = time.perf_counter()
        if self.requests:
            self.requests[-1].next_key = now
        if self._pending is not None and not self._pending[1].done():
            self.client.protocol.notify(types.CANCEL_REQUEST,
                                        types.CancelParams(id=self._pending[0]))
        self.insert(char)
        self._request(invoked=False)

    def _request(self, invoked: bool) -> Sent:
        sent = Sent(time.perf_counter())
        self.requests.append(sent)
        msg_id = f"{self.uri}#{len(self.requests)}"
        kind = (types.InlineCompletionTriggerKind.Invoked if invoked
                else types.InlineCompletionTriggerKind.Automatic)
        future = asyncio.wrap_future(self.client.protocol.send_request(
            types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionParams(
                context=types.InlineCompletionContext(kind),
                text_document=types.TextDocumentIdentifier(uri=self.uri),
                position=position(self.text, self.offset)), msg_id=msg_id))

        def answered(done: asyncio.Future[Any]) -> None:
            sent.answered = time.perf_counter()
            if not done.cancelled() and done.exception() is None:
                result = done.result()
                if result is not None and result.items:
                    sent.text = result.items[0].insert_text or ""

        future.add_done_callback(answered)
        self._pending = (msg_id, future)
        return sent

    async def invoked(self, timeout: float = 60.0) -> Sent:
        """An invoked completion at the cursor, awaited."""
        sent = self._request(invoked=True)
        assert self._pending is not None
        try:
            await asyncio.wait_for(asyncio.shield(self._pending[1]), timeout)
        except Exception:  # an error answer or none in time: the figures show it
            pass
        return sent

    async def settle(self, timeout: float = 60.0) -> None:
        """Wait until every request has its answer (or `timeout`)."""
        deadline = time.perf_counter() + timeout
        while any(r.answered is None for r in self.requests) and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)

    async def type(self, text: str, rate: float, start: float | None = None) -> None:
        """Type `text` at `rate` keys per second on a steady clock."""
        start = time.perf_counter() if start is None else start
        for index, char in enumerate(text):
            await asyncio.sleep(max(0.0, start + index / rate - time.perf_counter()))
            self.key(char)

    def end(self) -> str:
        """Append `ADD` at the end of the document and put the cursor there."""
        self.offset = len(self.text)
        self.insert(ADD)
        return ADD


async def command(client: LanguageClient, name: str, *args: Any) -> Any:
    """workspace/executeCommand."""
    return await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=name, arguments=list(args)))


OPTIONS: dict[str, Any] = {}
"""Settings every client sends besides the model (`--threads`)."""


async def ready(client: LanguageClient, model: Path, timeout: float = 300) -> None:
    """initialize with `model`, then wait until it serves."""
    await client.initialize_async(types.InitializeParams(
        capabilities=types.ClientCapabilities(),
        initialization_options={"models": {"autocomplete": str(model)}, **OPTIONS}))
    client.initialized(types.InitializedParams())
    deadline = time.perf_counter() + timeout
    while (await command(client, "lspilot.status"))["state"] != "ready":
        if time.perf_counter() > deadline:
            raise RuntimeError("the model did not load")
        await asyncio.sleep(0.1)


async def stop(client: LanguageClient) -> None:
    """shutdown, exit, and wait for the connection to end."""
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def resident_mib(pid: int) -> float:
    """A process's resident memory (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def typing_text(chars: int, task: int = 0, lines: int | None = None) -> tuple[str, str, int]:
    """A document with a function body removed, where the cursor goes, and `chars` keys of
    that body to type (repeated when the body is shorter); with `lines`, only that many
    lines of the document before the cursor and after it."""
    _, text, offset, body = tasks(task + 1)[task]
    if lines is not None:
        before, after = text[:offset].split("\n"), text[offset:].split("\n")
        head = "\n".join(before[-lines:])
        text, offset = head + "\n".join(after[:lines]), len(head)
    keys = ""
    while len(keys) < chars:
        keys += body + "\n"
    return text, keys[:chars], offset


def delta(after: dict[str, Any], before: dict[str, Any], key: str) -> float:
    """How much a counter grew (0 when the server does not report it)."""
    return float(after.get(key, 0)) - float(before.get(key, 0))


def latencies(requests: list[Sent]) -> list[float]:
    """Milliseconds from request to answer, for the answered ones."""
    return [(r.answered - r.sent) * 1000 for r in requests if r.answered is not None]


def summary(requests: list[Sent]) -> dict[str, float]:
    """Answered requests, response times, and suggestions shown while typing."""
    shown = [r for r in requests if r.shown]
    times = latencies(requests)
    return {"requests": len(requests), "answered": len(times),
            "response_p50_ms": percentile(times, 50), "response_p95_ms": percentile(times, 95),
            "response_max_ms": max(times, default=0.0), "shown": len(shown),
            "shown_p50_ms": percentile(latencies(shown), 50),
            "shown_p95_ms": percentile(latencies(shown), 95)}


async def stdio_client(name: str) -> tuple[LanguageClient, int]:
    """A client on a fresh `lspilot serve` over stdio, and the server's pid."""
    client = LanguageClient(name, "1")
    await client.start_io(*LSPILOT, "serve", "--log-level", "warning")
    assert client._server is not None
    return client, client._server.pid


async def pace(model: Path, rate: float, seconds: float) -> dict[str, float]:
    """One document typed at `rate` keys/s for `seconds`."""
    client, pid = await stdio_client("lspilot-pace")
    await ready(client, model)
    text, keys, offset = typing_text(int(rate * seconds))
    editor = Editor(client, "file:///storm/pace.py", text, offset)
    editor.open()
    await editor.invoked(600)  # a person opens the file: the model reads it once
    before, cpu = await command(client, "lspilot.stats"), cpu_seconds(pid)
    await editor.type(keys, rate)
    await editor.settle()
    after, cpu = await command(client, "lspilot.stats"), cpu_seconds(pid) - cpu
    await stop(client)
    starts, finished = delta(after, before, "modelStarts"), delta(after, before, "modelCalls")
    figures = summary(editor.requests[1:])
    return {"keys_per_second": rate, "keystrokes": len(keys), "model_starts": starts,
            "model_finished": finished, "model_stopped": delta(after, before, "modelStopped"),
            "finished_per_start": finished / max(1.0, starts),
            "server_cpu_s": cpu, "model_cpu_s": delta(after, before, "modelCpuMs") / 1000,
            "stopped_cpu_s": delta(after, before, "stoppedCpuMs") / 1000,
            "followed": delta(after, before, "joined"),
            "stopped_as_contradicted": delta(after, before, "joinsAbandoned"),
            "cache_hits": delta(after, before, "cacheHits"),
            "evaluated_tokens": delta(after, before, "evaluatedTokens"),
            "needed_tokens": delta(after, before, "neededTokens"),
            "shown_per_100_keys": 100 * figures["shown"] / max(1, len(keys)), **figures}


async def storm(model: Path, rate: float, seconds: float, documents: int) -> dict[str, Any]:
    """`documents` documents typed at once at `rate` keys/s each for `seconds`."""
    client, pid = await stdio_client("lspilot-storm")
    await ready(client, model)
    editors = []
    for number in range(documents):
        text, keys, offset = typing_text(int(rate * seconds), number)
        editor = Editor(client, f"file:///storm/{number}.py", text, offset)
        editor.open()
        await editor.invoked(600)
        editors.append((editor, keys))
    before = await command(client, "lspilot.stats")
    rss = (await command(client, "lspilot.status"))["rssBytes"] / 2**20
    cpu = cpu_seconds(pid)
    start = time.perf_counter()
    await asyncio.gather(*(e.type(keys, rate, start + n / rate / documents)
                           for n, (e, keys) in enumerate(editors)))
    typed = time.perf_counter() - start
    for editor, _ in editors:
        await editor.settle()
    after = await command(client, "lspilot.stats")
    rss_after = (await command(client, "lspilot.status"))["rssBytes"] / 2**20
    cpu = cpu_seconds(pid) - cpu
    requests = [r for e, _ in editors for r in e.requests[1:]]
    figures: dict[str, Any] = {
        "documents": documents, "keys_per_second_each": rate, "seconds": typed,
        **summary(requests), "model_starts": delta(after, before, "modelStarts"),
        "model_finished": delta(after, before, "modelCalls"), "server_cpu_s": cpu,
        "rss_mib_before": rss, "rss_mib_after": rss_after,
        "rss_growth": (rss_after - rss) / rss}
    for number, (editor, _) in enumerate(editors):
        editor.end()
        after_storm = await editor.invoked()
        figures[f"after_storm_{number}"] = after_storm.text
        figures[f"after_storm_{number}_ms"] = latencies([after_storm])[0] \
            if after_storm.answered else None
    await stop(client)
    return figures


async def tcp(model: Path, editors: int, rate: float, seconds: float) -> dict[str, Any]:
    """`editors` clients on one `lspilot serve --tcp`, each typing in its own document."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    log = Path(tempfile.mkdtemp(prefix="lspilot-storm-")) / "serve.log"
    server = await asyncio.create_subprocess_exec(
        *LSPILOT, "serve", "--tcp", f"127.0.0.1:{port}", "--log-level", "info", "--log-file",
        str(log), stderr=asyncio.subprocess.DEVNULL)
    try:
        clients = []
        for _ in range(50):
            try:
                first = LanguageClient("lspilot-tcp-0", "1")
                await first.start_tcp("127.0.0.1", port)
                break
            except OSError:
                await asyncio.sleep(0.2)
        else:
            raise RuntimeError("the TCP server did not start")
        clients.append(first)
        await ready(first, model)
        rss_one = resident_mib(server.pid)
        for number in range(1, editors):
            client = LanguageClient(f"lspilot-tcp-{number}", "1")
            await client.start_tcp("127.0.0.1", port)
            await ready(client, model)
            clients.append(client)
        opened = []
        for number, client in enumerate(clients):
            # A function's worth of text each: 20 editors' first prompts are read one after
            # the other by the one model, before any typing.
            text, keys, offset = typing_text(int(rate * seconds), number % 4, lines=30)
            editor = Editor(client, f"file:///editor{number}/typed.py", text, offset)
            editor.open()
            opened.append((editor, keys))
        await asyncio.gather(*(e.invoked(600) for e, _ in opened))
        cpu = cpu_seconds(server.pid)
        start = time.perf_counter()
        phase = random.Random(0)
        await asyncio.gather(*(e.type(keys, rate, start + phase.random() / rate)
                               for e, keys in opened))
        for editor, _ in opened:
            await editor.settle(120)
        cpu = cpu_seconds(server.pid) - cpu
        rss_all = resident_mib(server.pid)
        stats = [await command(c, "lspilot.stats") for c in clients]
        requests = [r for e, _ in opened for r in e.requests[1:]]
        figures: dict[str, Any] = {
            "editors": editors, "keys_per_second_each": rate, **summary(requests),
            "editors_shown_something": sum(any(r.shown for r in e.requests) for e, _ in opened),
            "model_starts": sum(s["modelStarts"] for s in stats),
            "model_finished": sum(s["modelCalls"] for s in stats), "server_cpu_s": cpu,
            "rss_mib_one_editor": rss_one, "rss_mib_all_editors": rss_all}
        ends = await asyncio.gather(*(finish(e) for e, _ in opened))
        figures["sensible_after"] = sum("a + b" in text for text in ends)
        for client in clients:
            await stop(client)
        figures["server_alive_after_all_left"] = server.returncode is None
        # llama.cpp logs each model it loads: one copy for every editor is the point.
        figures["model_loads"] = log.read_text().count("lspilot.models.backends.llama_cpp: loaded")
        return figures
    finally:
        if server.returncode is None:
            server.terminate()
            await server.wait()


async def finish(editor: Editor) -> str:
    """An invoked completion in a new document of the editor's holding only `ADD`."""
    fresh = Editor(editor.client, editor.uri.replace(".py", "-after.py"), ADD.lstrip(),
                   len(ADD.lstrip()))
    fresh.open()
    return (await fresh.invoked(600)).text


def show(label: str, figures: dict[str, Any]) -> None:
    """Print one section's figures."""
    print(f"\n{label}:")
    for key, value in figures.items():
        shown = f"{value:12.3f}" if isinstance(value, float) else f"{value!r:>12}"
        print(f"  {key:32} {shown}")


def run(section: Callable[[], Awaitable[Any]]) -> Any:
    """Run one section on a fresh event loop."""
    return asyncio.run(section())  # type: ignore[arg-type]


def main() -> None:
    """Run the chosen sections and print their figures."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=Settings().models.autocomplete)
    parser.add_argument("--only", default="pace,storm,two,tcp")
    parser.add_argument("--paces", default="5,8,10")
    parser.add_argument("--pace-seconds", type=float, default=30)
    parser.add_argument("--storm-rate", type=float, default=50)
    parser.add_argument("--storm-seconds", type=float, default=60)
    parser.add_argument("--two-seconds", type=float, default=20)
    parser.add_argument("--editors", type=int, default=20)
    parser.add_argument("--editor-rate", type=float, default=5)
    parser.add_argument("--editor-seconds", type=float, default=20)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--threads", type=int, default=0,
                        help="llamaCpp.threads (default: the setting's, all cores)")
    parser.add_argument("--lspilot", help="command that runs lspilot (default: this Python's "
                        "`-m lspilot`), e.g. `env PYTHONPATH=OLD python -P -m lspilot`")
    args = parser.parse_args()
    if args.lspilot:
        LSPILOT[:] = shlex.split(args.lspilot)
    if args.threads:
        OPTIONS["llamaCpp"] = {"threads": args.threads}
    model = ModelStore.from_env().resolve(args.model)
    wanted = args.only.split(",")
    results: dict[str, Any] = {}
    if "pace" in wanted:
        for rate in (float(r) for r in args.paces.split(",")):
            results[f"pace_{rate:g}"] = run(lambda r=rate: pace(model, r, args.pace_seconds))
            show(f"pace {rate:g} keys/s", results[f"pace_{rate:g}"])
    if "storm" in wanted:
        results["storm"] = run(lambda: storm(model, args.storm_rate, args.storm_seconds, 1))
        show(f"storm {args.storm_rate:g} keys/s", results["storm"])
    if "two" in wanted:
        results["two"] = run(lambda: storm(model, args.storm_rate, args.two_seconds, 2))
        show(f"two documents at {args.storm_rate:g} keys/s each", results["two"])
    if "tcp" in wanted:
        results["tcp"] = run(lambda: tcp(model, args.editors, args.editor_rate,
                                         args.editor_seconds))
        show(f"{args.editors} editors over TCP", results["tcp"])
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
