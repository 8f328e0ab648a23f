"""The `lspilot` command: serve, complete at a cursor, manage models."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from lspilot import __version__
from lspilot.models.catalog import CATALOG
from lspilot.models.store import ModelError, ModelStore
from lspilot.settings import DEFAULT_MODEL, EDIT_FORMATS

if TYPE_CHECKING:
    from lspilot.completion.pipeline import CompletionRequest
    from lspilot.context.workspace import Workspace
    from lspilot.settings import ContextSettings


class ProgressBar:
    """Download/verify progress on stderr: a live bar on a terminal, a line per 10% in logs."""

    def __init__(self) -> None:
        self._tty = sys.stderr.isatty()
        self._last: tuple[str, int] = ("", -1)
        self._started = time.monotonic()

    def __call__(self, done: int, total: int, message: str) -> None:
        """Show progress of `message`."""
        percent = int(done * 100 / total) if total else 0
        step = percent if self._tty else percent // 10 * 10
        if (message, step) == self._last:
            return
        self._last = (message, step)
        rate = done / max(time.monotonic() - self._started, 1e-3) / 1e6
        bar = "#" * (percent // 4) + "." * (25 - percent // 4)
        line = f"{message}: [{bar}] {percent:3d}% {done / 1e6:,.0f}/{total / 1e6:,.0f} MB " \
               f"({rate:,.1f} MB/s)"
        if self._tty:
            sys.stderr.write("\r" + line + ("\n" if done >= total else ""))
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()



def _json_object(text: str) -> str:
    """An argparse type: `text` must be a JSON object (kept as text for the command)."""
    import json

    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"not JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("give a JSON object, e.g. '{\"edit\": {}}'")
    return text

def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `lspilot` console script."""
    # llama.cpp's OpenMP threads spin between tokens by default; beside an editor, a compiler
    # or a second model that burns the cores they share. Read by libgomp when llama_cpp
    # loads, so it is set here, at the process's edge, before anything imports it.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=getattr(args, "log_level", "warning").upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if getattr(args, "log_level", "warning") != "debug":
        # pygls logs every message it sends at INFO; only lspilot's own records are wanted.
        logging.getLogger("pygls").setLevel(logging.WARNING)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.run(args))
    except ModelError as exc:
        print(f"lspilot: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lspilot", description=__doc__)
    parser.add_argument("--version", action="version", version=f"lspilot {__version__}")
    commands = parser.add_subparsers(dest="command")

    serve = commands.add_parser("serve", help="run the language server (stdio by default)")
    serve.add_argument("--tcp", metavar="HOST:PORT", help="listen on TCP instead of stdio")
    serve.add_argument("--model", metavar="NAME|PATH",
                       help="autocomplete model; overrides the editor's setting")
    serve.add_argument("--log-level", default="info",
                       choices=["debug", "info", "warning", "error"])
    serve.add_argument("--log-file", type=Path, help="log here instead of stderr")
    serve.set_defaults(run=_serve)

    complete = commands.add_parser("complete", help="print the completion at PATH:LINE:COL")
    complete.add_argument("cursor", metavar="PATH:LINE:COL",
                          help="file and 1-based line and column (columns count characters)")
    complete.add_argument("--model", metavar="NAME|PATH", default=None,
                          help=f"model to use (default {DEFAULT_MODEL})")
    complete.add_argument("--max-tokens", type=int, default=None)
    complete.add_argument("--show-prompt", action="store_true",
                          help="print the exact prompt, and the context snippets that went "
                          "in with their sources and scores, to stderr")
    complete.add_argument("--workspace", type=Path, default=None, metavar="DIR",
                          help="workspace folder for context from other files (default: the "
                          "file's git repository, else the files of its own folder, "
                          "without subfolders)")
    complete.add_argument("--no-context", action="store_true",
                          help="the file's own text only, no context from other files")
    complete.add_argument("--settings", metavar="JSON", type=_json_object,
                          help='settings as an editor sends them, e.g. '
                          '\'{"context": {"sources": "scope,definition,usage"}}\'')
    complete.add_argument("--log-level", default="warning",
                          choices=["debug", "info", "warning", "error"])
    complete.set_defaults(run=_complete)

    edit = commands.add_parser(
        "edit", help="edit files from an instruction with the edit model; prints a diff")
    edit.add_argument("instruction", help='what to change, e.g. "rename parse to load"')
    edit.add_argument("files", nargs="+", type=Path, metavar="FILE",
                      help="the files to edit (callers of the names the instruction mentions "
                      "are found in the workspace and edited too)")
    edit.add_argument("--apply", action="store_true",
                      help="write the files (all of them or none)")
    edit.add_argument("--model", metavar="ID", help="edit model (default: the edit role's)")
    edit.add_argument("--format", choices=EDIT_FORMATS, help="edit format (default: auto)")
    edit.add_argument("--workspace", type=Path, metavar="DIR",
                      help="workspace folder (default: the first file's git repository; "
                      "without one, the files' folder, not indexed)")
    edit.add_argument("--show-prompt", action="store_true",
                      help="print the exact messages sent to the model, and its answer, to stderr")
    edit.add_argument("--json", action="store_true",
                      help="print one JSON object (files, message, tokens, seconds) instead "
                      "of the diff")
    edit.add_argument("--settings", metavar="JSON", type=_json_object,
                      help='settings as an editor sends them, e.g. '
                      '\'{"llamaCpp": {"promptLookup": 0}}\'')
    edit.add_argument("--allow-syntax-errors", action="store_true",
                      help="apply changes that leave a file with syntax errors")
    edit.add_argument("--log-level", default="warning",
                      choices=["debug", "info", "warning", "error"])
    edit.set_defaults(run=_edit)

    bench = commands.add_parser(
        "bench", help="how right completions are on your own code: lspilot against the bare "
        "model, per language")
    bench.add_argument("dir", nargs="?", default=".", metavar="DIR",
                       help="the repository to cut holes from (default: here); a scratch "
                       "copy of its files is used, yours are never written")
    bench.add_argument("--model", action="append", metavar="ID",
                       help="a model to measure (catalog name, .gguf path or BACKEND:MODEL); "
                       "repeat to compare (default: the autocomplete model)")
    bench.add_argument("--lines", type=int, default=10, metavar="N",
                       help="line holes per language (default 10)")
    bench.add_argument("--blocks", type=int, default=5, metavar="N",
                       help="block holes per language (default 5)")
    bench.add_argument("--languages", metavar="ID,...",
                       help="only these languages (LSP ids: python,go,rust,...)")
    bench.add_argument("--trigger", choices=["automatic", "invoked"], default="automatic",
                       help="ask as while typing (default) or as when invoked by a key")
    bench.add_argument("--seed", type=int, default=13, help="which holes are cut")
    bench.add_argument("--settings", metavar="JSON", type=_json_object,
                       help='settings for both runs, as an editor sends them, e.g. '
                       '\'{"completion": {"maxTokens": 48}}\'')
    bench.add_argument("--json", type=Path, metavar="FILE",
                       help="write every hole's answers and the figures here")
    bench.set_defaults(run=_bench)

    models = commands.add_parser("models", help="list or fetch models")
    model_commands = models.add_subparsers(dest="models_command", required=True)
    listing = model_commands.add_parser("list", help="the catalog and what is cached")
    listing.set_defaults(run=_models_list)
    pull = model_commands.add_parser("pull", help="fetch and verify a catalog model")
    pull.add_argument("name", choices=sorted(CATALOG))
    pull.set_defaults(run=_models_pull)
    use = model_commands.add_parser(
        "use", help="fetch, check and choose a model for a role (the default of `serve`)")
    use.add_argument("model", metavar="ID", help="catalog name, .gguf path or BACKEND:MODEL")
    use.add_argument("--role", choices=["autocomplete", "edit"], default="autocomplete")
    use.set_defaults(run=_models_use)
    return parser


def _serve(args: argparse.Namespace) -> int:
    from lspilot.lsp.server import create_server

    if args.log_file:
        handler = logging.FileHandler(args.log_file)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root = logging.getLogger()
        root.handlers[:] = [handler]
    def on_log_level(level: str) -> None:
        logging.getLogger("lspilot").setLevel(level.upper())

    if args.tcp:
        from lspilot.lsp.tcp import serve_tcp

        host, _, port = args.tcp.rpartition(":")
        if not host or not port.isdigit():
            print(f"lspilot: --tcp wants HOST:PORT, got {args.tcp!r}", file=sys.stderr)
            return 2
        # Each editor that connects gets its own server; the models are shared.
        serve_tcp(host, int(port), ModelStore.from_env(), args.model, on_log_level)
        logging.shutdown()
        return 0
    server = create_server(ModelStore.from_env(), forced_model=args.model)
    server.on_log_level = on_log_level
    server.start_io(stdin=sys.stdin.buffer, stdout=_private_stdout())
    # Threads blocked on the client's pipes (pygls's stdin reader) must not hold the
    # process after `exit`; everything worth keeping is flushed first.
    logging.shutdown()
    sys.stderr.flush()
    os._exit(server.exit_code)


def _private_stdout() -> BinaryIO:
    """The protocol's own copy of stdout; fd 1 itself then points at stderr.

    llama-cpp-python silences llama.cpp by pointing fds 1 and 2 at /dev/null while a model
    loads (process-wide, from the loading thread): LSP messages written meanwhile would be
    lost. Native code that prints to stdout would corrupt the stream as well.
    """
    protocol_out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    return protocol_out


def parse_cursor(spec: str) -> tuple[Path, int, int]:
    """`PATH:LINE:COL` (1-based) -> (path, line, column)."""
    path, sep1, rest = spec.rpartition(":")
    head, sep2, line = path.rpartition(":")
    if not (sep1 and sep2 and line.isdigit() and rest.isdigit()) or int(line) < 1 \
            or int(rest) < 1:
        raise ValueError(f"expected PATH:LINE:COL with 1-based numbers, got {spec!r}")
    return Path(head), int(line), int(rest)


def cursor_offset(text: str, line: int, column: int) -> int:
    """The offset of a 1-based line and column; raises ValueError when out of the file."""
    lines = text.split("\n")
    if line > len(lines):
        raise ValueError(f"line {line} is past the end of the file ({len(lines)} lines)")
    length = len(lines[line - 1].rstrip("\r"))
    if column > length + 1:
        raise ValueError(f"column {column} is past the end of line {line} ({length} characters)")
    return sum(len(t) + 1 for t in lines[: line - 1]) + column - 1


def _complete(args: argparse.Namespace) -> int:
    import dataclasses
    import json

    from lspilot.completion.explain import describe, explanation
    from lspilot.completion.pipeline import CompletionRequest, complete
    from lspilot.context.languages import language_id_for
    from lspilot.models.backends.base import BackendError
    from lspilot.models.roles import RoleFile
    from lspilot.models.slot import store_loader
    from lspilot.settings import Settings, parse_settings

    try:
        path, line, column = parse_cursor(args.cursor)
        text = path.read_text(encoding="utf-8")
        offset = cursor_offset(text, line, column)
    except (ValueError, OSError) as exc:
        print(f"lspilot: {exc}", file=sys.stderr)
        return 2
    store = ModelStore.from_env()
    settings, errors = parse_settings(json.loads(args.settings) if args.settings else {},
                                      RoleFile.in_store(store).apply(Settings()))
    if errors:
        print("lspilot: " + "; ".join(errors), file=sys.stderr)
        return 2
    if args.max_tokens:
        settings = dataclasses.replace(settings, completion=dataclasses.replace(
            settings.completion, max_tokens=args.max_tokens))
    name = args.model or settings.models.autocomplete
    try:
        backend = store_loader(store)(name, settings, ProgressBar())
    except BackendError as exc:
        print(f"lspilot: {exc}", file=sys.stderr)
        return 1
    request = CompletionRequest(uri=path.resolve().as_uri(), text=text, offset=offset,
                                language_id=language_id_for(path.name), trigger="invoked")
    workspace = None
    if settings.context.enabled and not args.no_context:
        workspace = _workspace_for(path, args.workspace, request, settings.context)

    async def run() -> None:
        if workspace is not None:
            await workspace.refresh_git()
        result = await complete(request, backend, settings.completion, None, None, workspace,
                                settings.context.tokens, privacy=settings.privacy)
        if args.show_prompt:
            print(describe(explanation(result, backend.count_tokens)), file=sys.stderr)
            print(f"--- raw middle ---\n{result.raw}\n---", file=sys.stderr)
        print(result.text)
        print(f"lspilot: {name}, {result.stats.generated_tokens} tokens in "
              f"{result.total_ms:.0f} ms", file=sys.stderr)
        await backend.aclose()

    try:
        asyncio.run(run())
    finally:
        if workspace is not None:
            workspace.stop()
    return 0


def _workspace_for(path: Path, folder: Path | None, request: CompletionRequest,
                   settings: ContextSettings) -> Workspace:
    """The context engine for a one-off completion: index the workspace, then return."""
    from lspilot.context.workspace import Workspace
    from lspilot.lsp.documents import Document

    shallow = False
    if folder is None:
        folder = next((p for p in path.resolve().parents if (p / ".git").exists()), None)
    if folder is None:
        # No repository says where the project ends: a file in a home folder must not make
        # the whole home folder indexed. Its own folder's files only, then.
        folder, shallow = path.resolve().parent, True
        print(f"lspilot: {path} is in no git repository: context from the files of its own "
              "folder only (not its subfolders); --workspace DIR to use a whole folder",
              file=sys.stderr)

    # The file as the server holds an open document: its tree parsed within the same bounds.
    document = Document(request.uri, request.language_id, 0, request.text)
    workspace = Workspace(folder, settings, lambda: [document], shallow=shallow)
    workspace.start()
    if workspace.index is not None and not workspace.index.wait_ready(120):
        print("lspilot: the workspace index is not ready after 120 s; going on without it",
              file=sys.stderr)
    return workspace


def _edit(args: argparse.Namespace) -> int:
    from lspilot.edit_cli import edit_files

    return edit_files(args, ProgressBar())


def _bench(args: argparse.Namespace) -> int:
    from lspilot.bench_cli import run_bench

    return run_bench(args, ProgressBar())


def _models_list(args: argparse.Namespace) -> int:
    from lspilot.models.roles import RoleFile

    store = ModelStore.from_env()
    for spec in CATALOG.values():
        state = "cached" if store.is_cached(spec) else "not downloaded"
        default = " (default)" if spec.name == DEFAULT_MODEL else ""
        print(f"{spec.name:22} {spec.size / 1e6:7,.0f} MB  {state:15} {spec.description}{default}")
    print(f"cache: {store.home / 'models'}")
    for role, model_id in RoleFile.in_store(store).read().items():
        print(f"{role}: {model_id}")
    return 0


def _models_use(args: argparse.Namespace) -> int:
    """Fetch the model, check it fits and loads (or that its server serves it), then keep it."""
    from lspilot.models.backends.base import BackendError
    from lspilot.models.roles import RoleFile
    from lspilot.models.slot import store_loader
    from lspilot.settings import Settings

    store = ModelStore.from_env()
    print(f"loading {args.model} ...", file=sys.stderr)
    try:
        backend = store_loader(store)(args.model, Settings(), ProgressBar())
    except BackendError as exc:
        print(f"lspilot: {exc}", file=sys.stderr)
        return 1
    template = backend.template.family
    asyncio.run(backend.aclose())
    RoleFile.in_store(store).write(args.role, args.model)
    print(f"{args.role}: {args.model} ({template} template)")
    return 0


def _models_pull(args: argparse.Namespace) -> int:
    path = ModelStore.from_env().fetch(CATALOG[args.name], ProgressBar())
    print(path)
    return 0
