"""The same 20 completions through the embedded backend and through `llama_cpp.server` over
HTTP (the OpenAI-compatible backend): latency p50/p95 of each, and the HTTP overhead.

Each cursor (bench/latency.py's: lines of Python's standard library cut after their first
word) is turned into one prompt with the model's exact tokenizer; both backends then stream
the completion of that same prompt, greedily, for at most `--max-tokens` tokens, in the
same order, so that both KV caches reuse the same prefixes. The embedded side runs first
in this process; then `llama_cpp.server` is started on loopback with the same model,
context, batch and thread settings, and the HTTP side runs against it.

    .venv/bin/python -m bench.backends [--model NAME|PATH] [--positions 20] [--json OUT]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

from bench.latency import cursors
from bench.stats import compare
from lspilot.completion.cursor import cursor_at
from lspilot.context.window import fit_window
from lspilot.models.backends.base import (
    Backend,
    EmbeddedConfig,
    GenerationParams,
    GenerationStats,
    OpenAIConfig,
    make_backend,
)
from lspilot.models.store import ModelStore
from lspilot.settings import ServersSettings, Settings
from lspilot.templates import Prompt, render


@dataclass
class Sample:
    """One prompt through both backends."""

    file: str
    line: int
    prompt_tokens: int
    embedded_ms: float
    http_ms: float
    embedded_tokens: int
    http_tokens: int
    same_text: bool


def prompts(backend: Backend, count: int) -> list[tuple[str, int, Prompt]]:
    """(file, line, prompt) for `count` + 1 cursors (the first one warms up)."""
    settings = Settings().completion
    found = []
    for name, text, line, column in cursors(count + 1):
        offset = sum(len(t) + 1 for t in text.split("\n")[:line]) + column
        cursor = cursor_at(text, offset)
        fim = backend.count_prompt_tokens(render(backend.template, "", ""))
        budget = min(settings.prompt_tokens, backend.context_size - settings.max_tokens) - fim
        window = fit_window(cursor.prefix, cursor.suffix, budget, settings.suffix_share,
                            backend.count_tokens)
        found.append((name, line + 1, render(backend.template, window.prefix, window.suffix)))
    return found


async def timed(backend: Backend, prompt: Prompt, max_tokens: int) -> tuple[float, str, int]:
    """Milliseconds to stream the whole completion, its text and its token count."""
    stats = GenerationStats()
    started = time.perf_counter()
    text = "".join([p async for p in backend.stream(prompt, GenerationParams(max_tokens),
                                                     stats)])
    return (time.perf_counter() - started) * 1000, text, stats.generated_tokens


def start_server(path: Path, alias: str, port: int, threads: int) -> subprocess.Popen[bytes]:
    """`llama_cpp.server` with the embedded side's runtime settings."""
    runtime = Settings().llama_cpp
    config = {"host": "127.0.0.1", "port": port, "models": [{
        "model": str(path), "model_alias": alias, "n_ctx": runtime.context_size,
        "n_batch": runtime.batch_size, "n_threads": threads, "n_threads_batch": threads,
        # The server's default (logits_all=true, for logprobs) computes the vocabulary's
        # logits for every prompt token: 40% slower prompts here. Completions need none.
        "logits_all": False, "verbose": False}]}
    config_file = Path(tempfile.mkstemp(suffix=".json")[1])
    config_file.write_text(json.dumps(config))
    process = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--config_file",
                                str(config_file)], stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("llama_cpp.server did not start")
        time.sleep(0.2)


async def run(model: str, count: int, max_tokens: int, threads: int) -> list[Sample]:
    """Both sides over the same prompts."""
    path = ModelStore.from_env().resolve(model)
    runtime = dataclasses.replace(Settings().llama_cpp, threads=threads)
    embedded = make_backend(EmbeddedConfig(model, path, runtime))
    work = prompts(embedded, count)
    embedded_runs = []
    for number, (_, _, prompt) in enumerate(work):
        embedded_runs.append(await timed(embedded, prompt, max_tokens))
        print(f"embedded {number}/{len(work) - 1}: {embedded_runs[-1][0]:.0f} ms",
              file=sys.stderr, flush=True)
    token_counts = [embedded.count_prompt_tokens(prompt) for _, _, prompt in work]
    await embedded.aclose()

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = start_server(path, "bench", port, threads)
    try:
        http = make_backend(OpenAIConfig("openai:bench", "bench", ServersSettings(
            openai_url=f"http://127.0.0.1:{port}/v1", read_timeout=300.0)))
        http_runs = []
        for number, (_, _, prompt) in enumerate(work):
            http_runs.append(await timed(http, prompt, max_tokens))
            print(f"http {number}/{len(work) - 1}: {http_runs[-1][0]:.0f} ms", file=sys.stderr,
                  flush=True)
        await http.aclose()
    finally:
        server.terminate()
        server.wait()

    samples = []
    for number, ((name, line, _), tokens, (e_ms, e_text, e_n), (h_ms, h_text, h_n)) in \
            enumerate(zip(work, token_counts, embedded_runs, http_runs, strict=True)):
        if number == 0:
            continue  # warm-up: first touch of each side's weights
        sample = Sample(name, line, tokens, round(e_ms, 1), round(h_ms, 1), e_n, h_n,
                        e_text == h_text)
        samples.append(sample)
        print(f"{name:16} line {line:5}: embedded {e_ms:7.0f} ms  http {h_ms:7.0f} ms  "
              f"x{h_ms / e_ms:5.2f}  {tokens:5} prompt / {e_n:3} | {h_n:3} generated tokens"
              f"{'' if sample.same_text else '  (texts differ)'}", flush=True)
    return samples


def report(samples: list[Sample]) -> dict[str, float]:
    """p50/p95 of each path and the overhead ratios."""
    figures = compare("http", [s.http_ms for s in samples],
                      "embedded", [s.embedded_ms for s in samples])
    figures["same_text"] = sum(s.same_text for s in samples)
    print(f"\nembedded: p50 {figures['embedded_p50_ms']:.0f} ms, "
          f"p95 {figures['embedded_p95_ms']:.0f} ms")
    print(f"llama_cpp.server over HTTP: p50 {figures['http_p50_ms']:.0f} ms, "
          f"p95 {figures['http_p95_ms']:.0f} ms")
    print(f"ratio http/embedded: p50 {figures['ratio_of_p50']:.3f}, p95 "
          f"{figures['ratio_of_p95']:.3f}, median per request {figures['median_ratio']:.3f}"
          f"  (HTTP overhead = ratio - 1; target < 0.15); same text in "
          f"{figures['same_text']}/{figures['n']}")
    return figures


def main() -> None:
    """Run the benchmark and print (and optionally save) the figures."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=Settings().models.autocomplete)
    parser.add_argument("--positions", type=int, default=20)
    parser.add_argument("--max-tokens", type=int, default=Settings().completion.max_tokens)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                        help="CPU threads of both sides (1 is steadier on a busy machine)")
    parser.add_argument("--json", type=Path, help="write samples and figures here")
    args = parser.parse_args()
    samples = asyncio.run(run(args.model, args.positions, args.max_tokens, args.threads))
    figures = report(samples)
    if args.json:
        args.json.write_text(json.dumps({"figures": figures,
                                         "samples": [asdict(s) for s in samples]}, indent=2))


if __name__ == "__main__":
    main()
