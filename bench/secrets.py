"""Secret redaction on real code: its cost per prompt, and what it takes out (false positives).

Data: real packages pinned by version and sha256, fetched once with `pip download --no-deps`
into `~/.cache/lspilot/bench/` (`$LSPILOT_HOME/bench/`) and unpacked into a temporary
folder: pybtex 0.26.1 (the wheel `bench/crossfile.py` uses) and the source distributions of
requests 2.32.3, PyJWT 2.9.0, passlib 1.7.4, Werkzeug 3.0.6, google-auth 2.35.0 and Django
5.1.4, whose tests are full of hashes, base64, JWTs, test keys and passwords.

Speed: at `--cursors` cursors in the corpora's `.py` files (a fixed seed), the steps of a
prompt without workspace context, as `completion/pipeline.py` runs them: the cursor's window
fitted to the default budget with the real Qwen2.5-Coder 0.5B tokenizer, the template
rendered and the prompt counted (the baseline: the rest of prompt assembly), then
`redact_window` on that window with nothing cached (each keystroke's window is a new text).
Then typing: `--keys` keystrokes typed at one cursor in each of 20 files, with the window
anchored as the engine anchors it (the KV-cache case, the cheapest baseline) and the
redaction cache as the last keystroke left it (only the cursor's line is new), and a 2 KB
snippet redacted twice (a context snippet is sent on every keystroke: the cache answers).
Each step is timed 3 times and the fastest kept, on both sides alike (the machine is shared).

False positives: `redact` over every text file of the corpora (source, tests, docs, data):
findings per 1,000 lines, by kind, and a fixed sample of `--sample` findings with their
lines, to check by hand.

    .venv/bin/python -m bench.secrets [--cursors 200] [--keys 20] [--sample 20] [--json OUT]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

from bench.crossfile import PACKAGE, Pin
from bench.stats import compare, percentile
from lspilot.completion.pipeline import suffix_share
from lspilot.completion.redaction import redact_window
from lspilot.context import secrets
from lspilot.context.window import fit_window
from lspilot.models.backends.base import EmbeddedConfig
from lspilot.models.backends.llama_cpp import LlamaCppBackend
from lspilot.models.store import ModelStore
from lspilot.settings import Settings
from lspilot.templates import render

SDISTS = (
    Pin("requests", "2.32.3", "requests-2.32.3.tar.gz",
        "55365417734eb18255590a9ff9eb97e9e1da868d4ccd6402399eaf68af20a760"),
    Pin("pyjwt", "2.9.0", "pyjwt-2.9.0.tar.gz",
        "7e1e5b56cc735432a7369cbfa0efe50fa113ebecdc04ae6922deba8b84582d0c"),
    Pin("passlib", "1.7.4", "passlib-1.7.4.tar.gz",
        "defd50f72b65c5402ab2c573830a6978e5f202ad0d984793c8dde2c4152ebe04"),
    Pin("werkzeug", "3.0.6", "werkzeug-3.0.6.tar.gz",
        "a8dd59d4de28ca70471a34cba79bed5f7ef2e036a76b3ab0835474246eb41f8d"),
    Pin("google-auth", "2.35.0", "google_auth-2.35.0.tar.gz",
        "f4c64ed4e01e8e8b646ef34c018f8bf3338df0c8e37d8b3bba40e7f574a3278a"),
    Pin("django", "5.1.4", "Django-5.1.4.tar.gz",
        "de450c09e91879fa5a307f696e57c851955c910a438a35e6b4c895e86bedc82a"),
)
TEXT_SUFFIXES = {".py", ".pyi", ".js", ".ts", ".json", ".yaml", ".yml", ".toml", ".cfg",
                 ".ini", ".txt", ".rst", ".md", ".html", ".sh", ".properties", ".pem", ".key",
                 ".crt", ".xml", ".po", ".css"}


REPEATS = 3
"""Each step is timed this many times and the fastest kept, both sides alike: the machine is
shared, and a pause of another process is not a cost of either."""


def cache_dir() -> Path:
    """Where pinned downloads are kept."""
    home = os.environ.get("LSPILOT_HOME")
    base = Path(home) if home else Path(os.environ.get("XDG_CACHE_HOME",
                                                       Path.home() / ".cache")) / "lspilot"
    return base / "bench"


def fetch(pin: Pin, cache: Path) -> Path:
    """The pinned file (wheel or sdist), downloaded once with pip and checked."""
    path = cache / pin.filename
    if path.exists() and _sha256(path) == pin.sha256:
        return path
    cache.mkdir(parents=True, exist_ok=True)
    kind = "--only-binary=:all:" if pin.filename.endswith(".whl") else "--no-binary=:all:"
    with tempfile.TemporaryDirectory(dir=cache) as scratch:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", kind,
                        "--dest", scratch, f"{pin.name}=={pin.version}"],
                       check=True, stdout=sys.stderr)
        downloaded = Path(scratch) / pin.filename
        if not downloaded.exists() or _sha256(downloaded) != pin.sha256:
            raise SystemExit(f"{pin.filename}: missing or not the pinned file")
        downloaded.replace(path)
    return path


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def unpack(archive: Path, dest: Path) -> Path:
    """Every file of a wheel or an sdist under `dest / name`."""
    folder = dest / archive.name.split(".tar.gz")[0].removesuffix(".whl")
    if archive.name.endswith(".whl"):
        with zipfile.ZipFile(archive) as wheel:
            wheel.extractall(folder)
    else:
        with tarfile.open(archive) as sdist:
            sdist.extractall(folder, filter="data")
    return folder


def corpus_files(folders: list[Path]) -> list[tuple[Path, str]]:
    """The UTF-8 text files of the corpora, in a fixed order."""
    files = []
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if path.suffix not in TEXT_SUFFIXES or not path.is_file():
                continue
            try:
                files.append((path, path.read_text(encoding="utf-8")))
            except UnicodeDecodeError:
                continue
    return files


def speed(files: list[tuple[Path, str]], backend: LlamaCppBackend, cursors: int,
          keys: int) -> dict[str, Any]:
    """Window redaction against the rest of prompt assembly, per cursor and per keystroke."""
    settings = Settings().completion
    template = backend.template
    total = min(settings.prompt_tokens, backend.context_size - settings.max_tokens)
    budget = total - backend.count_prompt_tokens(render(template, "", ""))
    share = suffix_share(settings, False, budget)
    rng = random.Random(5)
    python = [(p, t) for p, t in files if p.suffix == ".py" and 2_000 < len(t) < 200_000]
    assembly: list[float] = []
    redaction: list[float] = []
    window_chars: list[int] = []
    found = 0
    for _ in range(cursors):
        _, text = rng.choice(python)
        offset = rng.randrange(len(text))
        times = []
        for _ in range(REPEATS):
            started = time.perf_counter()
            window = fit_window(text[:offset], text[offset:], budget, share,
                                backend.count_tokens)
            prompt = render(template, window.prefix, window.suffix)
            backend.count_prompt_tokens(prompt)
            middle = time.perf_counter()
            secrets._cache.clear()
            shown = redact_window(text, offset, window)
            times.append(((middle - started) * 1000, (time.perf_counter() - middle) * 1000))
        assembly.append(min(t[0] for t in times))
        redaction.append(min(t[1] for t in times))
        window_chars.append(len(window.prefix) + len(window.suffix))
        found += len(shown.findings)
    typing_assembly: list[float] = []
    typing_redaction: list[float] = []
    snippet_cold: list[float] = []
    snippet_warm: list[float] = []
    typed = "result = compute(value, 42)"
    for _, text in python[:: max(1, len(python) // 20)][:20]:
        offset = text.find("\n", len(text) // 2) + 1
        anchor = None
        for end in range(min(keys, len(typed))):
            now = text[:offset] + typed[:end] + text[offset:]
            cursor = offset + end
            times = []
            for _ in range(REPEATS):
                started = time.perf_counter()
                window = fit_window(now[:cursor], now[cursor:], budget, share,
                                    backend.count_tokens, anchor)
                backend.count_prompt_tokens(render(template, window.prefix, window.suffix))
                # The lines above and below were redacted on the last keystroke (cached);
                # the cursor's line is new text.
                line = now[now.rfind("\n", 0, cursor) + 1:max(now.find("\n", cursor), cursor)]
                secrets._cache.pop(line, None)
                middle = time.perf_counter()
                redact_window(now, cursor, window)
                times.append(((middle - started) * 1000, (time.perf_counter() - middle) * 1000))
            anchor = window.start_line
            typing_assembly.append(min(t[0] for t in times))
            typing_redaction.append(min(t[1] for t in times))
        snippet = text[:2_000]
        secrets._cache.clear()
        started = time.perf_counter()
        secrets.redact(snippet)
        middle = time.perf_counter()
        secrets.redact(snippet)
        snippet_cold.append((middle - started) * 1000)
        snippet_warm.append((time.perf_counter() - middle) * 1000)
    return {
        "cursors": compare("redact_window", redaction, "assembly", assembly)
        | {"window_chars_p50": percentile([float(n) for n in window_chars], 50),
           "secrets_found_in_windows": found},
        "typing": compare("redact_window", typing_redaction, "assembly", typing_assembly),
        "snippet_2kb_p50_ms": {"first": round(percentile(snippet_cold, 50), 4),
                               "again (cache)": round(percentile(snippet_warm, 50), 4)},
    }


def false_positives(files: list[tuple[Path, str]], root: Path, sample: int
                    ) -> dict[str, Any]:
    """What `redact` takes out of the corpora: per 1,000 lines, by kind, and a sample."""
    lines = 0
    found: list[tuple[str, str, int, str]] = []
    by_corpus: Counter[str] = Counter()
    lines_by_corpus: Counter[str] = Counter()
    started = time.perf_counter()
    for path, text in files:
        corpus = path.relative_to(root).parts[0]
        count = text.count("\n") + 1
        lines += count
        lines_by_corpus[corpus] += count
        for finding in secrets.redact(text).findings:
            line = text.count("\n", 0, finding.start)
            start = text.rfind("\n", 0, finding.start) + 1
            end = text.find("\n", finding.start)
            found.append((finding.kind, path.relative_to(root).as_posix(), line + 1,
                          text[start:end if end >= 0 else len(text)].strip()[:140]))
            by_corpus[corpus] += 1
    seconds = time.perf_counter() - started
    chosen = sorted(found, key=lambda f: hashlib.sha256(f"{f[1]}:{f[2]}".encode()).hexdigest())
    return {
        "files": len(files), "lines": lines, "findings": len(found),
        "per_1000_lines": round(1000 * len(found) / lines, 3),
        "by_kind": dict(Counter(f[0] for f in found).most_common()),
        "per_1000_lines_by_corpus": {c: round(1000 * by_corpus[c] / n, 3)
                                     for c, n in sorted(lines_by_corpus.items())},
        "mb_per_s": round(sum(len(t) for _, t in files) / seconds / 1e6, 2),
        "sample": [{"kind": k, "where": f"{p}:{n}", "line": line}
                   for k, p, n, line in chosen[:sample]],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cursors", type=int, default=200)
    parser.add_argument("--keys", type=int, default=20)
    parser.add_argument("--sample", type=int, default=20)
    parser.add_argument("--model", default="qwen2.5-coder:0.5b")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    cache = cache_dir()
    archives = [fetch(pin, cache) for pin in (PACKAGE, *SDISTS)]
    settings = Settings()
    path = ModelStore.from_env().resolve(args.model)
    backend = LlamaCppBackend.load(EmbeddedConfig(args.model, path, settings.llama_cpp))
    assert isinstance(backend, LlamaCppBackend)
    secrets.rule_set()  # loaded once per process, not per prompt
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        files = corpus_files([unpack(a, root) for a in archives])
        report = {"speed": speed(files, backend, args.cursors, args.keys),
                  "false_positives": false_positives(files, root, args.sample)}
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
