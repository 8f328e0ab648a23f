"""Prompt-lookup decoding against plain decoding on a whole-file rewrite, in process.

An edit in the "whole" format makes the model copy a file with a small change, so most
tokens of the answer are in the prompt already: prompt-lookup decoding (llama-cpp-python's
`LlamaPromptLookupDecoding`) drafts the tokens that followed the last n-gram in the prompt
and has the model check a whole draft in one batch. It needs logits for every position
(`logits_all=True`, passed explicitly: llama-cpp-python sizes its `scores` array from that
argument, n_ctx x n_vocab x 4 bytes, 2.3 GiB at 4,096 for Qwen's 151,936 tokens).

Modes, each in a fresh process (so that resident memory is per mode), same prompt, greedy,
both through the backend as the edit role loads it (`EmbeddedConfig.draft`):
- `plain`: no draft (no logits kept);
- `lookup`: `--draft` tokens drafted per step (`llamaCpp.promptLookup`) by the backend's
  drafter (`models/backends/lookup.py`: it follows the longest match of the latest tokens);
  the backend reads the prompt keeping only the last token's logits, and drafts only for
  chat;
- `builtin`: the same, drafted by llama-cpp-python's `LlamaPromptLookupDecoding` (the first
  place where the last two tokens occur), which `lookup` replaced.
Each mode rewrites the file twice: `cold` reads the prompt, `warm` gets it from the KV
cache, so its time is the generation alone.

The file is bench/edit_tasks/move_money_class/files/shop/cart.py (154 lines) and the
instruction changes one constant.

    .venv/bin/python -m bench.prompt_lookup [--model qwen2.5-coder:1.5b] [--draft 20]
        [--mode plain --mode builtin --mode lookup] [--json OUT]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

FILE = Path(__file__).parent / "edit_tasks" / "move_money_class" / "files" / "shop" / "cart.py"
INSTRUCTION = "Change FREE_SHIPPING_THRESHOLD to 7500. Change nothing else."
SYSTEM = ("You are an expert programmer. Apply the user's instruction to the file. Answer with "
          "the file's path on one line, then the complete new content of the file in one "
          "fenced code block, and nothing else. Never leave anything out.")
MODES = ("plain", "builtin", "lookup")


def memory() -> dict[str, float]:
    """Resident memory now and at its peak, in MiB (Linux /proc)."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024
    return {"rss_mib": fields.get("VmRSS", 0.0), "peak_rss_mib": fields.get("VmHWM", 0.0)}


def measure(model: Path, mode: str, draft: int, threads: int, context: int,
            again: bool) -> dict[str, Any]:
    """Load the model for `mode`, rewrite the file (twice with `again`), report what it took."""
    from llama_cpp.llama_speculative import LlamaPromptLookupDecoding

    from lspilot.models.backends.base import (
        EmbeddedConfig,
        GenerationParams,
        GenerationStats,
        Message,
    )
    from lspilot.models.backends.llama_cpp import LlamaCppBackend
    from lspilot.settings import LlamaCppSettings

    lookup = mode != "plain"
    loaded = time.perf_counter()
    backend = LlamaCppBackend.load(EmbeddedConfig(
        model.name, model, LlamaCppSettings(context_size=context, threads=threads),
        draft=draft if lookup else 0))
    load_s = time.perf_counter() - loaded
    if mode == "builtin":
        # llama-cpp-python's own drafter, for comparison: what `lookup` replaced.
        class Builtin(LlamaPromptLookupDecoding):
            def reset(self) -> None:
                """It keeps no state between answers."""

        backend._draft = Builtin(num_pred_tokens=draft)
    text = FILE.read_text()
    messages = [Message("system", SYSTEM),
                Message("user", f"shop/cart.py\n```python\n{text}```\n\n{INSTRUCTION}")]
    expected = text.replace("FREE_SHIPPING_THRESHOLD = 5000", "FREE_SHIPPING_THRESHOLD = 7500")

    def rewrite() -> dict[str, Any]:
        stats = GenerationStats()

        async def answer() -> str:
            pieces = backend.chat(messages, GenerationParams(2048), stats)
            return "".join([piece async for piece in pieces])

        wall, cpu = time.perf_counter(), time.process_time()
        reply = asyncio.run(answer())
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        return {"prompt_tokens": stats.prompt_tokens, "evaluated": stats.evaluated_tokens,
                "generated_tokens": stats.generated_tokens,
                "prompt_s": round(stats.prompt_ms / 1000, 2),
                "generate_s": round(stats.generate_ms / 1000, 2), "wall_s": round(wall, 2),
                "cpu_s": round(cpu, 2),
                "tokens_per_s": round(stats.generated_tokens / (stats.generate_ms / 1000), 2),
                "rewrote_correctly": expected.strip() in reply,
                "reply_sha": hashlib.sha256(reply.encode()).hexdigest()[:12]}

    load_before = os.getloadavg()[0]
    cold = rewrite()
    # The same prompt again: it comes from the KV cache, so this run is the generation alone
    # (wall and CPU time), the fairer figure on a machine shared with other work.
    warm = rewrite() if again else {}
    return {"mode": mode, "draft": draft if lookup else 0, "load_s": round(load_s, 2),
            "cold": cold, "warm": warm, **{k: round(v) for k, v in memory().items()},
            "load_average": [round(load_before, 1), round(os.getloadavg()[0], 1)]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="qwen2.5-coder:1.5b")
    parser.add_argument("--mode", action="append", choices=MODES)
    parser.add_argument("--draft", type=int, default=20, help="tokens drafted per lookup")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--context", type=int, default=4096)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        [mode] = args.mode
        print(json.dumps(measure(Path(args.model), mode, args.draft, args.threads,
                                 args.context, again=True)))
        return
    from lspilot.models.catalog import CATALOG
    from lspilot.models.store import ModelStore

    spec = CATALOG.get(args.model)
    model = ModelStore.from_env().fetch(spec) if spec else Path(args.model)
    results = []
    for mode in args.mode or MODES:
        child = subprocess.run(
            [sys.executable, "-m", "bench.prompt_lookup", "--child", "--model", str(model),
             "--mode", mode, "--draft", str(args.draft), "--threads", str(args.threads),
             "--context", str(args.context)],
            capture_output=True, text=True, check=True)
        results.append(json.loads(child.stdout.strip().splitlines()[-1]))
        print(json.dumps(results[-1]), flush=True)
    base = results[0]
    print(f"\n{'mode':<12} {'run':<5} {'prompt s':>8} {'gen s':>7} {'tok/s':>6} {'wall s':>7} "
          f"{'CPU s':>7} {'RSS MiB':>8} {'peak MiB':>8}  same reply as {base['mode']}")
    for r in results:
        for run in ("cold", "warm"):
            if not r[run]:
                continue
            m = r[run]
            print(f"{r['mode']:<12} {run:<5} {m['prompt_s']:>8} {m['generate_s']:>7} "
                  f"{m['tokens_per_s']:>6} {m['wall_s']:>7} {m['cpu_s']:>7} {r['rss_mib']:>8} "
                  f"{r['peak_rss_mib']:>8}  {m['reply_sha'] == base['cold']['reply_sha']}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
