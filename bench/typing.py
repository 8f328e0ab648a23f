"""Replay real typing through the real server and measure what a user would see.

Functions from real source files (Python's standard library) lose their body, which is then
typed again character by character at a human pace (a short gap between characters, a
longer pause after a word and at a line end). After every keystroke the client sends
`didChange` and an automatic `textDocument/inlineCompletion`, and cancels the previous
request, as editors do. A suggestion is *shown* when its answer arrives before the next
keystroke; typed characters that match the shown suggestion count as predicted.

The same replay runs with lspilot's defaults, naive (no typed-ahead cache, no stable window,
no KV-cache reuse, no early stop: a client that calls the model on every keystroke), and on
request without the refresh after a cache hit (`--runs lspilot,norefresh,naive`). When the
server announces a newer suggestion (`lspilot/refresh`) the client asks again, as the
editors do.

    .venv/bin/python -m bench.typing [--model NAME|PATH] [--functions 3] [--json OUT]
        [--threads N] [--lspilot CMD]
"""

from __future__ import annotations

import os
import sys

# This file is named after the benchmark (bench/typing.py), which shadows the standard
# library's `typing` for scripts in this folder: drop the folder from the import path.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import argparse
import ast
import asyncio
import json
import shlex
import sysconfig
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.client import LanguageClient

from bench.stats import percentile
from lspilot.models.store import ModelStore
from lspilot.settings import Settings

SOURCES = [("json/decoder.py", "py_scanstring"), ("textwrap.py", "_fix_sentence_endings"),
           ("shlex.py", "quote"), ("csv.py", "_guess_delimiter")]
CHAR_GAP, WORD_PAUSE, LINE_PAUSE = 0.12, 0.35, 2.0
NAIVE = {"completion": {"typedAheadCache": False, "reuseWindow": False, "earlyStop": False,
                        "debounceMs": 0, "typingSuffixTokens": 32768},
         "llamaCpp": {"reuseKvCache": False}}


@dataclass
class Run:
    """What one replay saw."""

    keystrokes: int = 0
    typed_chars: int = 0
    predicted_chars: int = 0
    refreshed_shown: int = 0
    """Suggestions shown because the server announced a newer one after a pause."""
    shown_latencies_ms: list[float] = field(default_factory=list)
    inside: int = 0
    """Keystrokes that typed the next character of the suggestion on screen."""
    inside_from_cache: int = 0
    """Of those, the ones whose request the typed-ahead cache answered."""
    model_ratios: list[float] = field(default_factory=list)
    """Shown latency over the model's own time (prompt + generation) for the same completion,
    for suggestions the model made (not the cache; a request that joined one already running
    counts, with the time it waited)."""
    stats: dict[str, Any] = field(default_factory=dict)


def tasks(count: int) -> list[tuple[str, str, int, str]]:
    """(name, text with the body removed, offset where the body goes, the body)."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    found = []
    for name, function in SOURCES[:count]:
        text = (stdlib / name).read_text()
        node = next(n for n in ast.walk(ast.parse(text))
                    if isinstance(n, ast.FunctionDef) and n.name == function)
        lines = text.split("\n")
        first = node.body[0]
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
            first = node.body[1]  # keep the docstring: it is part of what the user wrote
        start = sum(len(line) + 1 for line in lines[: first.lineno - 1])
        end_line = node.end_lineno or first.lineno
        end = sum(len(line) + 1 for line in lines[:end_line])
        body = text[start:end].rstrip("\n")
        body = body[:600]  # a few lines are enough; keeps the replay minutes long
        body = body[: body.rfind("\n")] if "\n" in body else body
        found.append((name, text[:start] + text[end:], start, body))
    return found


def pause_after(char: str) -> float:
    """How long a person waits after typing `char`."""
    if char == "\n":
        return LINE_PAUSE
    if not char.isalnum() and char != "_":
        return WORD_PAUSE
    return CHAR_GAP


def position(text: str, offset: int) -> types.Position:
    """LSP position (utf-16; the sources are ASCII) of an offset."""
    before = text[:offset]
    return types.Position(before.count("\n"), offset - (before.rfind("\n") + 1))


LSPILOT = [sys.executable, "-m", "lspilot"]
"""How the server is started (`--lspilot` replaces it, e.g. to measure another checkout)."""


RUNS: dict[str, dict[str, Any]] = {
    "lspilot": {},
    "norefresh": {"completion": {"refreshAfterHit": False}},
    "naive": NAIVE,
}
"""Replays by name: lspilot's defaults; the same without asking again after a cache hit and
a pause; a client that calls the model on every keystroke."""


async def replay(model: Path, functions: int, settings: dict[str, Any],
                 threads: int = 0) -> Run:
    client = LanguageClient("lspilot-typing", "1")
    await client.start_io(*LSPILOT, "serve", "--log-level", "warning")
    options: dict[str, Any] = {"models": {"autocomplete": str(model)}, **settings}
    if threads:
        llama = options.setdefault("llamaCpp", {})
        options["llamaCpp"] = {**llama, "threads": threads}
    await client.initialize_async(types.InitializeParams(
        capabilities=types.ClientCapabilities(), initialization_options=options))
    client.initialized(types.InitializedParams())
    run = Run()
    hits = 0
    refreshed = asyncio.Event()

    @client.feature("lspilot/refresh")
    def on_refresh(params: Any) -> None:
        refreshed.set()  # an editor asks again (one document at a time here)

    for number, (name, text, offset, body) in enumerate(tasks(functions)):
        uri = f"file:///typing/{number}/{name}"
        client.text_document_did_open(types.DidOpenTextDocumentParams(
            types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)))
        version, shown = 1, ""
        pending: tuple[str, asyncio.Future[Any]] | None = None
        for index, char in enumerate(body):
            if pending is not None and not pending[1].done():
                # the editor drops the outdated request and tells the server so
                client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id=pending[0]))
            run.keystrokes += 1
            run.typed_chars += 1
            inside = shown.startswith(char)
            if inside:
                run.predicted_chars += 1
                run.inside += 1
                shown = shown[1:]
            else:
                shown = ""
            here = position(text, offset)
            text = text[:offset] + char + text[offset:]
            offset += 1
            version += 1
            end = types.Position(here.line, here.character)
            client.text_document_did_change(types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[types.TextDocumentContentChangePartial(
                    range=types.Range(here, end), text=char)]))
            sent = time.perf_counter()
            msg_id = f"{number}-{index}"
            future = asyncio.wrap_future(client.protocol.send_request(
                types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionParams(
                    context=types.InlineCompletionContext(
                        types.InlineCompletionTriggerKind.Automatic),
                    text_document=types.TextDocumentIdentifier(uri=uri),
                    position=position(text, offset)), msg_id=msg_id))
            future.add_done_callback(lambda f: f.cancelled() or f.exception())
            pending = (msg_id, future)
            gap = pause_after(char) if index + 1 < len(body) else 5.0
            try:
                result = await asyncio.wait_for(asyncio.shield(future), gap)
            except Exception:  # not back in time, or cancelled by a newer keystroke
                continue
            finally:
                waited = time.perf_counter() - sent
            latency_ms = waited * 1000
            # Cache answers are instant, so one arrived in time if it happened: the server's
            # hit counter tells whether this request was one.
            counters = await client.workspace_execute_command_async(
                types.ExecuteCommandParams(command="lspilot.stats"))
            from_cache = counters["cacheHits"] > hits
            if from_cache:
                hits = counters["cacheHits"]
                run.inside_from_cache += inside
            if result is not None and result.items and result.items[0].insert_text:
                shown = result.items[0].insert_text
                run.shown_latencies_ms.append(latency_ms)
                last = None if from_cache else await client.workspace_execute_command_async(
                    types.ExecuteCommandParams(command="lspilot.lastCompletion"))
                # A request that joined a generation already running shows the rest of its
                # completion after what was typed since: the end of the server's text.
                if last and last["completion"].endswith(shown) and last["promptMs"] > 0:
                    run.model_ratios.append(latency_ms / (last["promptMs"] + last["generateMs"]))
            shown = await rest_of_gap(client, uri, text, offset, gap - waited, refreshed, shown,
                                      run)
        if pending is not None and not pending[1].done():
            client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id=pending[0]))
    run.stats = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="lspilot.stats"))
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    return run


async def rest_of_gap(client: LanguageClient, uri: str, text: str, offset: int, left: float,
                      refreshed: asyncio.Event, shown: str, run: Run) -> str:
    """Wait out the gap before the next keystroke; when the server announces a newer
    suggestion meanwhile, ask for it as an editor does, and show it if it comes in time."""
    deadline = time.perf_counter() + max(0.0, left)
    refreshed.clear()
    while (remaining := deadline - time.perf_counter()) > 0:
        try:
            await asyncio.wait_for(refreshed.wait(), remaining)
        except TimeoutError:
            break
        refreshed.clear()
        try:
            result = await asyncio.wait_for(client.text_document_inline_completion_async(
                types.InlineCompletionParams(
                    context=types.InlineCompletionContext(
                        types.InlineCompletionTriggerKind.Automatic),
                    text_document=types.TextDocumentIdentifier(uri=uri),
                    position=position(text, offset))), max(0.01, deadline - time.perf_counter()))
        except Exception:  # not back before the next keystroke
            break
        if result is not None and result.items and result.items[0].insert_text:
            shown = result.items[0].insert_text
            run.refreshed_shown += 1
    await asyncio.sleep(max(0.0, deadline - time.perf_counter()))
    return shown


def summary(run: Run) -> dict[str, Any]:
    """The figures the issue asks for."""
    stats = run.stats
    calls = max(1, stats["modelStarts"])
    return {
        "keystrokes": run.keystrokes,
        "shown_p50_ms": percentile(run.shown_latencies_ms, 50),
        "shown_p95_ms": percentile(run.shown_latencies_ms, 95),
        "shown": len(run.shown_latencies_ms),
        "model_calls_per_100_keystrokes": 100 * stats["modelStarts"] / run.keystrokes,
        "finished_model_calls_per_100_keystrokes": 100 * stats["modelCalls"] / run.keystrokes,
        "cache_answered_share": stats["cacheHits"] / run.keystrokes,
        "cache_share_inside_suggestions": run.inside_from_cache / max(1, run.inside),
        "evaluated_tokens_per_model_call": stats["evaluatedTokens"] / calls,
        "evaluated_tokens_per_keystroke": stats["evaluatedTokens"] / run.keystrokes,
        "needed_tokens_per_model_call": stats["neededTokens"] / calls,
        "requests_that_waited_for_a_finishing_one": stats["joined"],
        "of_which_stopped_when_it_went_another_way": stats["joinsAbandoned"],
        "shown_over_model_time_p50": (percentile(run.model_ratios, 50) if run.model_ratios
                                       else None),
        "shown_over_model_time_samples": len(run.model_ratios),
        "predicted_chars_ratio": run.predicted_chars / max(1, run.typed_chars),
        "predicted_chars_per_keystroke": run.predicted_chars / max(1, run.keystrokes),
        "refreshes": stats.get("refreshes", 0),
        "refreshed_and_shown": run.refreshed_shown,
        "server_model_latency_p50_ms": stats["latencyMsP50"],
    }


def main() -> None:
    """Run both replays and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=Settings().models.autocomplete)
    parser.add_argument("--functions", type=int, default=3)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--runs", default="lspilot,naive",
                        help=f"which replays, comma-separated: {', '.join(RUNS)}")
    parser.add_argument("--threads", type=int, default=0,
                        help="llamaCpp.threads (default: the setting's, all cores)")
    parser.add_argument("--lspilot", help="command that runs lspilot (default: this Python's "
                        "`-m lspilot`), e.g. `env PYTHONPATH=OLD python -P -m lspilot`")
    args = parser.parse_args()
    if args.lspilot:
        LSPILOT[:] = shlex.split(args.lspilot)
    model = ModelStore.from_env().resolve(args.model)
    results = {}
    wanted = args.runs.split(",")
    for label in wanted:
        run = asyncio.run(replay(model, args.functions, RUNS[label], args.threads))
        results[label] = summary(run)
        print(f"\n{label}:")
        for key, value in results[label].items():
            print(f"  {key:34} {'-' if value is None else f'{value:10.3f}':>10}")
    if not {"lspilot", "naive"} <= set(results):
        if args.json:
            args.json.write_text(json.dumps({"results": results}, indent=2))
        return
    ours, naive_figures = results["lspilot"], results["naive"]
    ratio = naive_figures["evaluated_tokens_per_keystroke"] / max(
        1e-9, ours["evaluated_tokens_per_keystroke"])
    needed = naive_figures["needed_tokens_per_model_call"] / max(
        1e-9, ours["needed_tokens_per_model_call"])
    print(f"\nprompt tokens evaluated per keystroke: {ratio:.1f}x fewer than naive")
    print(f"prompt tokens a keystroke's request needs evaluated: {needed:.1f}x fewer than "
          "naive (target 3x)")
    print(f"keystrokes inside a shown suggestion answered from the cache: "
          f"{ours['cache_share_inside_suggestions']:.0%} (target 30%)")
    over = ours["shown_over_model_time_p50"]
    print("shown latency over the model's own time, p50: "
          + (f"{over:.2f} (target 1.5) over {ours['shown_over_model_time_samples']} suggestions"
             if over is not None else "no suggestion shown was the model's last completion"))
    if args.json:
        args.json.write_text(json.dumps({"results": results}, indent=2))


if __name__ == "__main__":
    main()
