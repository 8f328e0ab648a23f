"""What a second edit over the same files costs to read, in process: the KV cache keeps the
prompt of the first edit, so the second one reads only what changed.

The messages are an edit's (a system message, then the files, then the instruction), over
the five files of two bench/edit_tasks projects (about 1,700 tokens). Each case reads its
prompt and generates one token (the cost of reading is the point), in this order:
- `first`: nothing cached (the model was just loaded);
- `same files, new instruction`: the files' tokens come from the cache;
- `a file changed near its end`: as after an applied edit, the prompt is read again from
  the changed line on;
- `back to the first prompt`: its saved state is restored, not read again.
For each: the prompt's tokens, the tokens evaluated, and the seconds to the first token.

    .venv/bin/python -m bench.edit_cache [--model qwen2.5-coder:1.5b] [--json OUT]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from pathlib import Path

from lspilot.models.backends.base import (
    EmbeddedConfig,
    GenerationParams,
    GenerationStats,
    Message,
    make_backend,
)
from lspilot.models.catalog import CATALOG
from lspilot.models.store import ModelStore
from lspilot.settings import LlamaCppSettings

TASKS = Path(__file__).parent / "edit_tasks"
FILES = [TASKS / "move_money_class" / "files" / "shop" / name
         for name in ("catalog.py", "checkout.py", "cart.py")] + [
    TASKS / "fix_invoice_totals" / "files" / "billing" / name
    for name in ("customers.py", "pricing.py")]
SYSTEM = ("You are an expert programmer. Apply the user's instruction to the files. For each "
          "file you change, answer with its path on one line, then its complete new content "
          "in one fenced code block.")


def messages(files: dict[str, str], instruction: str) -> list[Message]:
    """An edit's messages: the files (path, fenced text), then the instruction."""
    shown = "\n\n".join(f"{path}\n```python\n{text}```" for path, text in files.items())
    return [Message("system", SYSTEM), Message("user", f"{shown}\n\n{instruction}")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="qwen2.5-coder:1.5b")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    spec = CATALOG.get(args.model)
    path = ModelStore.from_env().fetch(spec) if spec else Path(args.model)
    backend = make_backend(EmbeddedConfig(args.model, path, LlamaCppSettings(
        context_size=4096, threads=args.threads)))
    files = {str(p.relative_to(p.parents[1])): p.read_text() for p in FILES}
    changed = dict(files)
    changed["billing/pricing.py"] = changed["billing/pricing.py"].replace(
        "return amount * (1 - percent)", "return amount * (1 - percent / 100)")
    cases = [
        ("first", messages(files, "Rename apply_discount to discounted everywhere.")),
        ("same files, new instruction",
         messages(files, "Add a docstring to every function of shop/catalog.py.")),
        ("a file changed near its end",
         messages(changed, "Make volume_discount return 20 for 500 units or more.")),
        ("back to the first prompt",
         messages(files, "Rename apply_discount to discounted everywhere.")),
    ]

    async def read(case: list[Message]) -> GenerationStats:
        stats = GenerationStats()
        async for _ in backend.chat(case, GenerationParams(1), stats):
            pass
        return stats

    results = []
    print(f"{'case':<30} {'prompt':>7} {'evaluated':>9} {'seconds':>8}")
    for name, case in cases:
        stats = asyncio.run(read(case))
        results.append({"case": name, "prompt_tokens": stats.prompt_tokens,
                        "evaluated_tokens": stats.evaluated_tokens,
                        "seconds": round(stats.prompt_ms / 1000, 2)})
        print(f"{name:<30} {stats.prompt_tokens:>7} {stats.evaluated_tokens:>9} "
              f"{stats.prompt_ms / 1000:>8.2f}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
