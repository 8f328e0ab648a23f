"""End-to-end inline-completion latency through the LSP vs the bare llama-cpp-python call.

For 20 cursors in real source files (modules of Python's own standard library), the time
from sending `textDocument/inlineCompletion` to receiving the answer from `lspilot serve`,
next to the time of one `Llama.create_completion` call on the same prompt tokens for the
same number of generated tokens, in this process with the same runtime settings. Both
sides see the same sequence of prompts, so their KV caches reuse the same prefixes.

    .venv/bin/python -m bench.latency [--model NAME|PATH] [--positions 20] [--json OUT]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import sysconfig
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import llama_cpp
from lsprotocol import types
from pygls.lsp.client import LanguageClient

from bench.stats import compare
from lspilot.models.store import ModelStore
from lspilot.settings import Settings

SOURCES = ["textwrap.py", "json/decoder.py", "csv.py", "shlex.py", "fractions.py"]
STATEMENT = re.compile(r"^(\s+)(return |if |for |while |\w+ = )\S")


@dataclass
class Sample:
    """One cursor's measurements."""

    file: str
    line: int
    lsp_ms: float
    bare_ms: float
    prompt_tokens: int
    generated_tokens: int
    completion: str


def cursors(count: int) -> list[tuple[str, str, int, int]]:
    """(file, text, line, column): the line is cut after its first word, as if being typed."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    per_file = -(-count // len(SOURCES))
    found = []
    for name in SOURCES:
        lines = (stdlib / name).read_text().split("\n")
        candidates = [i for i, line in enumerate(lines) if STATEMENT.match(line) and i > 30]
        step = max(1, len(candidates) // per_file)
        for index in candidates[step // 2::step][:per_file]:
            match = STATEMENT.match(lines[index])
            assert match
            column = match.end() - 1
            edited = [*lines[:index], lines[index][:column], *lines[index + 1:]]
            found.append((name, "\n".join(edited), index, column))
    return found[:count]


async def run(model: str, count: int) -> list[Sample]:
    path = ModelStore.from_env().resolve(model)
    runtime = Settings().llama_cpp
    threads = runtime.threads or __import__("os").cpu_count() or 1
    bare = llama_cpp.Llama(model_path=str(path), n_ctx=runtime.context_size,
                           n_batch=runtime.batch_size, n_threads=threads,
                           n_threads_batch=threads, verbose=False)
    client = LanguageClient("lspilot-bench", "1")
    await client.start_io(sys.executable, "-m", "lspilot", "serve", "--log-level", "warning")
    await client.initialize_async(types.InitializeParams(
        capabilities=types.ClientCapabilities(),
        initialization_options={"models": {"autocomplete": str(path)}}))
    client.initialized(types.InitializedParams())
    samples = []
    for number, (name, text, line, column) in enumerate(cursors(count + 1)):
        uri = f"file:///bench/{number}/{name}"
        client.text_document_did_open(types.DidOpenTextDocumentParams(
            types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)))
        started = time.perf_counter()
        await client.text_document_inline_completion_async(types.InlineCompletionParams(
            context=types.InlineCompletionContext(types.InlineCompletionTriggerKind.Invoked),
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line, column)))
        lsp_ms = (time.perf_counter() - started) * 1000
        last = await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="lspilot.lastCompletion"))
        tokens = bare.tokenize(last["prompt"].encode(), add_bos=False, special=True)
        assert len(tokens) == last["promptTokens"], "the bare call must see the same tokens"
        started = time.perf_counter()
        bare.create_completion(prompt=tokens, max_tokens=max(1, last["generatedTokens"]),
                               temperature=0.0, top_k=1)
        bare_ms = (time.perf_counter() - started) * 1000
        if number == 0:
            continue  # warm-up: first touch of both processes' weights
        sample = Sample(name, line + 1, round(lsp_ms, 1), round(bare_ms, 1),
                        last["promptTokens"], last["generatedTokens"], last["completion"])
        samples.append(sample)
        print(f"{name:16} line {line + 1:5}: lsp {lsp_ms:7.0f} ms  bare {bare_ms:7.0f} ms  "
              f"x{lsp_ms / bare_ms:5.2f}  {sample.prompt_tokens:5} prompt / "
              f"{sample.generated_tokens:3} generated tokens", flush=True)
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    return samples


def report(samples: list[Sample]) -> dict[str, float]:
    """p50/p95 of each side and the overhead ratios."""
    figures = compare("lsp", [s.lsp_ms for s in samples], "bare", [s.bare_ms for s in samples])
    print(f"\nLSP end to end: p50 {figures['lsp_p50_ms']:.0f} ms, "
          f"p95 {figures['lsp_p95_ms']:.0f} ms")
    print(f"bare llama-cpp-python: p50 {figures['bare_p50_ms']:.0f} ms, "
          f"p95 {figures['bare_p95_ms']:.0f} ms")
    print(f"ratio: p50 {figures['ratio_of_p50']:.3f}, p95 {figures['ratio_of_p95']:.3f}, "
          f"median per request {figures['median_ratio']:.3f}, total "
          f"{figures['total_ratio']:.3f}  (server overhead = ratio - 1; target < 0.10)")
    return figures


def main() -> None:
    """Run the benchmark and print (and optionally save) the figures."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=Settings().models.autocomplete)
    parser.add_argument("--positions", type=int, default=20)
    parser.add_argument("--json", type=Path, help="write samples and figures here")
    args = parser.parse_args()
    samples = asyncio.run(run(args.model, args.positions))
    figures = report(samples)
    if args.json:
        args.json.write_text(json.dumps({"figures": figures,
                                         "samples": [asdict(s) for s in samples]}, indent=2))


if __name__ == "__main__":
    main()
