"""Is the pipeline at least as right as the bare model? A fair, multi-language FIM benchmark.

Data: real code that installs here, pinned by version and sha256 and cached in
`~/.cache/lspilot/bench/fim/` (`$LSPILOT_HOME/bench/fim/`): Python wheels from PyPI
(`pip download`), JavaScript and TypeScript packages from npm (`npm pack`), and Go, Rust and
Java sources from Debian's packages (`apt-get download`: `golang-*-dev` ship Go modules,
`librust-*-dev` crates, `bsh-src` the BeanShell interpreter's Java source). Each package is
unpacked, its source folders only (no bundles or compiled copies of the same code, which
would hand the context engine the answer), into a folder of its own: the workspace root a
server is started on, outside any git repository.

Cursors (`sample`, a plain function over any folder): a seeded sampler takes, per language,
- *line* holes: one line of code inside a block (indented, not a comment or a string, at
  most 100 characters) is emptied to its indentation, the cursor at its end, as an editor
  leaves a new line; lines of closing brackets alone are at most a tenth of them;
- *block* holes: the body (2 to 6 lines, at most 240 characters) of a block whose header
  ends with `{` (`:` in Python) is replaced by one line of its indentation.
Test files and generated code are not sampled. Each cursor falls in the split `tune` or
`report` by a hash of its file and line: tune on one, report on the other.

Pipeline: one `lspilot serve` per package and trigger kind, over stdio as an editor drives
it, with the server's default settings: the file with the hole is written on disk (the
index reads disk files; the original is put back after), announced with
`didChangeWatchedFiles`, opened with `didOpen`, and `textDocument/inlineCompletion` is asked
at the cursor with trigger Automatic or Invoked; the first item is the shown suggestion.

Bare model: the same model through llama-cpp-python directly, greedy, with the plain FIM
prompt of its family and no context, at the same budget (`completion.promptTokens`): the
suffix gets at most `completion.suffixShare` of it, the prefix the rest, both cut by tokens
next to the cursor; at most `completion.maxTokens` tokens. Its answer is cut the way a plain
client cuts it: for a line hole, the first line of the answer (as it comes, even if empty);
for a block hole, at most `completion.maxLines` lines, ending before the first non-blank
line indented less than the cursor (a dedent below the hole: the model left the block).
Blank lines do not stop it (bodies have them). Generation stops once the cut is known.

Scores, per language: exact match and edit similarity (1 - Levenshtein / longer length) of
the shown text's first line (line holes) or whole text, trailing spaces and the first line's
indentation aside (block holes); the share of cursors with no suggestion; latency p50/p95
(request to answer over LSP; generation time for the bare model).

Loss attribution: a cursor is lost when the bare model is exact and the pipeline is not, or
neither is exact and the bare model's similarity is higher. Each lost cursor is run again
with one stage switched off at a time, in this order, and the first stage whose removal wins
it back (exact where the bare model is exact, else a similarity at least the bare one's) is
named: a fresh server with the same settings (`state`: the window anchor left by the
earlier cursors of the file), context off, window reuse off, the typing suffix cap off,
early stop off; then, on the same raw answer, each post-processing rule alone, the syntax
check, and the whole post-processing replaced by the plain client's cut.

    .venv/bin/python -m bench.fim [--split report] [--lines 8] [--blocks 4]
        [--languages python,javascript] [--triggers automatic,invoked] [--model NAME|PATH]
        [--settings JSON] [--no-attribution] [--json bench/out/fim-report.json]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import random
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal
from unittest import mock

from lsprotocol import types
from pygls.lsp.client import LanguageClient

from bench.crossfile import Pin, similarity
from bench.crossfile import fetch as fetch_wheel
from bench.stats import percentile
from lspilot.context.languages import language_id_for, parser
from lspilot.models.store import ModelStore, default_home
from lspilot.settings import CompletionSettings, Settings, parse_settings
from lspilot.templates import FimTemplate, Special, detect_template, render

Kind = Literal["line", "block"]
Trigger = Literal["automatic", "invoked"]
LANGUAGES = ("python", "javascript", "typescript", "go", "rust", "java")
TRIGGERS: tuple[Trigger, ...] = ("automatic", "invoked")
MAX_LINE = 100
"""Longest line hole, in characters (stripped)."""
BLOCK_LINES = (2, 6)
BLOCK_CHARS = 240
"""Longest block hole, in characters: `completion.maxTokens` (64) must be able to reach it."""
CLOSER_SHARE = 0.1
"""Most share of line holes that are closing brackets alone (`}`, `});`)."""
INDEX_WAIT_S = 300.0
SETTLE_S = 0.2
"""Pause after a file changes on disk, for the server's watcher to see it."""


@dataclass(frozen=True)
class Source:
    """A package's source, fixed by version and content, and which of its folders to use."""

    language: str
    name: str
    version: str
    registry: Literal["pypi", "npm", "deb"]
    filename: str
    sha256: str
    root: str = ""
    """Folder inside the archive that is the package's root."""
    keep: tuple[str, ...] = ("",)
    """Folders or files under `root` that make the workspace (the rest is left out)."""
    inner: str = ""
    """A tarball inside the archive that holds the source (Debian's `*-src` packages)."""

    @property
    def folder(self) -> str:
        """The workspace folder's name."""
        return f"{self.language}-{self.name.replace('/', '-').lstrip('@')}"


SOURCES = (
    Source("python", "tomlkit", "0.13.2", "pypi", "tomlkit-0.13.2-py3-none-any.whl",
           "7a974427f6e119197f670fbbbeae7bef749a6c14e793db934baefc1b5f03efde",
           keep=("tomlkit",)),
    Source("python", "humanize", "4.11.0", "pypi", "humanize-4.11.0-py3-none-any.whl",
           "b53caaec8532bcb2fff70c8826f904c35943f8cecaca29d272d9df38092736c0",
           keep=("humanize",)),
    Source("python", "tinycss2", "1.4.0", "pypi", "tinycss2-1.4.0-py3-none-any.whl",
           "3a49cf47b7675da0b15d0c6e1df8df4ebd96e9394bb905a5775adb0d884c5289",
           keep=("tinycss2",)),
    Source("javascript", "qs", "6.13.0", "npm", "qs-6.13.0.tgz",
           "abffeabbdedc8e466c1bd75227e14ceb76e77f61be475dfcee0d3bbe6dd608fd",
           root="package", keep=("lib",)),
    Source("javascript", "semver", "7.6.3", "npm", "semver-7.6.3.tgz",
           "376d2ca2c941fc5a37e9ac3ec65302e5e421e2cc1ee3dee57a854d2bd9bee125",
           root="package", keep=("classes", "functions", "internal", "ranges", "index.js")),
    Source("typescript", "immer", "10.1.1", "npm", "immer-10.1.1.tgz",
           "946cc79684ad1e080b09d4f2da14247b272aa667f3aaa100f35846148689f08f",
           root="package", keep=("src",)),
    Source("typescript", "@tanstack/query-core", "5.59.0", "npm",
           "tanstack-query-core-5.59.0.tgz",
           "2586579316ffc0957be3c4c33e2f9dfa7732b55c15013b7139244d2ab60d27fc",
           root="package", keep=("src",)),
    Source("go", "golang-github-spf13-pflag-dev", "1.0.6~git20210604-d5e0c0615ace-1", "deb",
           "golang-github-spf13-pflag-dev_1.0.6~git20210604-d5e0c0615ace-1_all.deb",
           "bd1c3c2a3e47512a64da02ebea900eb5a3f3c5d386e559d5718a3a935c0ea570",
           root="usr/share/gocode/src/github.com/spf13/pflag"),
    Source("go", "golang-github-hashicorp-go-version-dev", "1.3.0-1", "deb",
           "golang-github-hashicorp-go-version-dev_1.3.0-1_all.deb",
           "8455f2814a5105245132a25ee8519781a59bdddcce27698e03c584f66160120f",
           root="usr/share/gocode/src/github.com/hashicorp/go-version"),
    Source("go", "golang-github-google-go-cmp-dev", "0.5.9-1", "deb",
           "golang-github-google-go-cmp-dev_0.5.9-1_all.deb",
           "b68bd919daa7c1bdf02abfb68894e29e532f19b03b68c8615f50626c48f553b6",
           root="usr/share/gocode/src/github.com/google/go-cmp"),
    Source("rust", "librust-semver-dev", "1.0.14-1", "deb",
           "librust-semver-dev_1.0.14-1_amd64.deb",
           "bf3719b7aac4b7f16f0d68a7037306dbc1532758fe7a5dea01254e85cecaca8c",
           root="usr/share/cargo/registry/semver-1.0.14", keep=("src",)),
    Source("rust", "librust-smallvec-dev", "1.9.0-1", "deb",
           "librust-smallvec-dev_1.9.0-1_amd64.deb",
           "ae859283a4b8979094ab41367116cede81298050fa50fa1f729f5310bd8e0d8b",
           root="usr/share/cargo/registry/smallvec-1.9.0", keep=("src",)),
    Source("rust", "librust-hex-dev", "0.4.3-1+b2", "deb", "librust-hex-dev_0.4.3-1+b2_amd64.deb",
           "e5fa26bdfbe778fdd0d748c984416649604f0a5d37c3926cb0c48e3c4b0a1606",
           root="usr/share/cargo/registry/hex-0.4.3", keep=("src",)),
    Source("java", "bsh-src", "2.0b4-20", "deb", "bsh-src_2.0b4-20_all.deb",
           "8bc67e9514560ef9e15beff101ed1ffb54a448588c2403987f407cd11547c00d",
           inner="usr/src/bsh-src/bsh.tar.gz", keep=("src",)),
)


# --- fetching and unpacking -------------------------------------------------------------

def fetch(source: Source, cache: Path) -> Path:
    """The source's archive, downloaded once with its registry's own client and checked."""
    if source.registry == "pypi":
        return fetch_wheel(Pin(source.name, source.version, source.filename, source.sha256),
                           cache)
    path = cache / source.filename
    if path.exists() and _sha256(path) == source.sha256:
        return path
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as scratch:
        if source.registry == "npm":
            command = ["npm", "pack", "--silent", f"{source.name}@{source.version}",
                       "--pack-destination", scratch]
        else:
            command = ["apt-get", "download", f"{source.name}={source.version}"]
        subprocess.run(command, cwd=scratch, check=True, stdout=sys.stderr)
        downloaded = Path(scratch) / source.filename
        if not downloaded.exists():
            raise SystemExit(f"{source.registry} did not fetch {source.filename}: "
                             f"{sorted(p.name for p in Path(scratch).iterdir())}")
        digest = _sha256(downloaded)
        if digest != source.sha256:
            raise SystemExit(f"{source.filename}: sha256 {digest}, expected {source.sha256}")
        downloaded.replace(path)
    return path


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def unpack(source: Source, archive: Path, dest: Path) -> Path:
    """The kept folders of the package under `dest / source.folder`; returns that folder."""
    folder = dest / source.folder
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch)
        if source.registry == "pypi":
            with zipfile.ZipFile(archive) as wheel:
                wheel.extractall(out)
        elif source.registry == "npm":
            with tarfile.open(archive) as tgz:
                tgz.extractall(out, filter="data")
        else:
            subprocess.run(["dpkg-deb", "-x", str(archive), str(out)], check=True)
        if source.inner:
            inner = out / source.inner
            with tarfile.open(inner) as tgz:
                tgz.extractall(out / "inner", filter="data")
            out = out / "inner"
        root = out / source.root
        for keep in source.keep:
            path = root / keep
            target = folder / keep
            if path.is_dir():
                shutil.copytree(path, target, dirs_exist_ok=True)
            elif path.is_file():
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target)
    return folder


def workspaces(sources: Sequence[Source], cache: Path, dest: Path) -> dict[str, Path]:
    """Each source fetched and unpacked under `dest`: workspace folder name -> path."""
    return {s.folder: unpack(s, fetch(s, cache), dest) for s in sources}


# --- sampling cursors -------------------------------------------------------------------

@dataclass(frozen=True)
class Cursor:
    """A hole in a file: where the cursor is, and what was taken out."""

    language: str
    """LSP language id."""
    package: str
    """The workspace folder (the server's root) holding the file."""
    path: str
    """The file, relative to the workspace folder."""
    kind: Kind
    line: int
    """0-based line of the cursor."""
    column: int
    """Code-point index of the cursor in its line."""
    expected: str
    split: str
    text: str = field(repr=False, compare=False)
    """The file with the hole."""

    @property
    def offset(self) -> int:
        """Code-point offset of the cursor in `text`."""
        lines = self.text.split("\n")
        return sum(len(line) + 1 for line in lines[: self.line]) + self.column

    @property
    def key(self) -> str:
        """A stable name for reports."""
        return f"{self.package}/{self.path}:{self.line + 1}:{self.kind}"


_SKIP_PARTS = {"test", "tests", "__tests__", "testdata", "benches", "bench", "examples",
               "fuzz", "node_modules", "dist"}
_CLOSER_CHARS = set(")]};,")
_BRACE_HEADERS = ("{",)


def source_files(folder: Path) -> list[Path]:
    """Files of a language lspilot parses, tests and generated code aside, sorted."""
    found = []
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or not language_id_for(path.name) or parser(
                language_id_for(path.name)) is None:
            continue
        rel = path.relative_to(folder)
        name = path.name.lower()
        if set(p.lower() for p in rel.parts[:-1]) & _SKIP_PARTS or name.startswith("test_") \
                or "_test." in name or ".test." in name or ".spec." in name \
                or name.endswith(".d.ts"):
            continue
        try:
            head = path.read_text(encoding="utf-8")[:2000]
        except UnicodeDecodeError:
            continue
        if "Generated By:JavaCC" in head or "Generated By:JJTree" in head \
                or "Code generated" in head or "@generated" in head:
            continue
        found.append(path)
    return found


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def _width(line: str) -> int:
    return len(_indent(line).expandtabs(4))


def _non_code_lines(text: str, language_id: str) -> set[int]:
    """Lines whose first non-blank character is in a comment or a string."""
    ts_parser = parser(language_id)
    if ts_parser is None:
        return set()
    data = text.encode("utf-8")
    root = ts_parser.parse(data).root_node
    skip: set[int] = set()
    at = 0
    for number, line in enumerate(text.split("\n")):
        raw = line.encode("utf-8")
        stripped = raw.lstrip(b" \t")
        if stripped:
            byte = at + len(raw) - len(stripped)
            node = root.descendant_for_byte_range(byte, byte + 1)
            while node is not None:
                if "comment" in node.type or "string" in node.type:
                    skip.add(number)
                    break
                node = node.parent
        at += len(raw) + 1
    return skip


@dataclass(frozen=True)
class Hole:
    """Lines `start` to `end` (exclusive) to take out; `kind` says which sampler found them."""

    kind: Kind
    start: int
    end: int
    closer: bool = False


def holes(text: str, language_id: str) -> list[Hole]:
    """Every line hole and block hole of a file that the rules above keep."""
    lines = text.split("\n")
    skip = _non_code_lines(text, language_id)
    found: list[Hole] = []
    for number, line in enumerate(lines):
        body = line.strip()
        if number in skip or not body or not _indent(line) or len(body) > MAX_LINE:
            continue
        if body.startswith(("//", "#", "/*", "*")):
            continue
        closer = set(body) <= _CLOSER_CHARS
        if not closer and not any(c.isalnum() for c in body):
            continue
        found.append(Hole("line", number, number + 1, closer))
    for number, line in enumerate(lines):
        header = line.rstrip()
        if number in skip or not header.strip():
            continue
        opener = (":",) if language_id == "python" else _BRACE_HEADERS
        if not header.endswith(opener) or header.lstrip().startswith(("#", "//", "*", "/*")):
            continue
        base = _width(line)
        end = number + 1
        while end < len(lines) and (not lines[end].strip() or _width(lines[end]) > base):
            end += 1
        last = end
        while last > number + 1 and not lines[last - 1].strip():
            last -= 1
        body_lines = lines[number + 1:last]
        filled = [b for b in body_lines if b.strip()]
        if not body_lines or not body_lines[0].strip() or not (
                BLOCK_LINES[0] <= len(filled) <= BLOCK_LINES[1]):
            continue
        if number + 1 in skip or len("\n".join(b.strip() for b in filled)) > BLOCK_CHARS:
            continue
        if language_id != "python" and (end >= len(lines)
                                        or not lines[end].strip().startswith("}")):
            continue
        found.append(Hole("block", number + 1, last))
    return found


def cut(text: str, hole: Hole) -> tuple[str, int, int, str]:
    """The text with the hole emptied to its first line's indentation, the cursor's line
    and column, and what was taken out (its first line's indentation aside)."""
    lines = text.split("\n")
    indent = _indent(lines[hole.start])
    taken = "\n".join(lines[hole.start:hole.end])
    rest = [*lines[: hole.start], indent, *lines[hole.end:]]
    return "\n".join(rest), hole.start, len(indent), taken[len(indent):].rstrip()


def split_of(package: str, path: str, line: int) -> str:
    """`tune` or `report`, by a hash of the place (half each)."""
    digest = hashlib.sha256(f"{package}/{path}:{line}".encode()).digest()
    return "tune" if digest[0] % 2 == 0 else "report"


def sample(folder: Path, lines: int, blocks: int, *, split: str | None = None, seed: int = 13,
           package: str | None = None) -> list[Cursor]:
    """`lines` line holes and `blocks` block holes per language found under `folder`.

    Files are visited round-robin in a seeded order, so a small sample is spread over files;
    `split` keeps only cursors of that split. The same arguments give the same cursors.
    """
    package = package or folder.name
    by_language: dict[str, dict[str, list[tuple[Cursor, bool]]]] = defaultdict(dict)
    for path in source_files(folder):
        rel = path.relative_to(folder).as_posix()
        language_id = language_id_for(path.name)
        text = path.read_text(encoding="utf-8")
        found = []
        for hole in holes(text, language_id):
            if split is not None and split_of(package, rel, hole.start) != split:
                continue
            cut_text, line, column, expected = cut(text, hole)
            found.append((Cursor(language_id, package, rel, hole.kind, line, column, expected,
                                 split_of(package, rel, hole.start), cut_text), hole.closer))
        if found:
            by_language[language_id][rel] = found
    rng = random.Random(seed)
    picked: list[Cursor] = []
    for language_id in sorted(by_language):
        files = by_language[language_id]
        for kind, wanted in (("line", lines), ("block", blocks)):
            pools = {rel: [c for c in cursors if c[0].kind == kind]
                     for rel, cursors in files.items()}
            for pool in pools.values():
                rng.shuffle(pool)
            order = sorted(r for r in pools if pools[r])
            rng.shuffle(order)
            closers_left = int(wanted * CLOSER_SHARE)
            taken: list[Cursor] = []
            while len(taken) < wanted and any(pools[r] for r in order):
                for rel in order:
                    while pools[rel]:
                        cursor, closer = pools[rel].pop()
                        if closer and closers_left <= 0:
                            continue
                        closers_left -= closer
                        taken.append(cursor)
                        break
                    if len(taken) >= wanted:
                        break
            picked.extend(taken)
    return picked


# --- scoring ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Score:
    """How close a suggestion is to what was taken out."""

    exact: bool
    similarity: float


def shown_part(text: str, kind: Kind) -> str:
    """What is scored of a suggestion: its first line for a line hole, else all of it."""
    if kind == "line":
        return text.split("\n", 1)[0].strip()
    return "\n".join(line.rstrip() for line in text.strip("\n").split("\n")).strip()


def score(text: str, expected: str, kind: Kind) -> Score:
    """Exact match and edit similarity of the scored part of `text` against `expected`."""
    got, want = shown_part(text, kind), shown_part(expected, kind)
    return Score(got == want, round(similarity(got, want), 4))


def lost(ours: Score, bare: Score) -> bool:
    """Whether the pipeline did worse than the bare model on a cursor."""
    return (bare.exact and not ours.exact) or (
        not bare.exact and not ours.exact and ours.similarity < bare.similarity)


def wins_back(ablated: Score, bare: Score) -> bool:
    """Whether a changed pipeline does at least as well as the bare model."""
    return ablated.exact if bare.exact else ablated.similarity >= bare.similarity


def plain_cut(raw: str, kind: Kind, indent_width: int, max_lines: int) -> tuple[str, bool]:
    """A plain client's cut of a raw answer, and whether nothing after it can change it."""
    if kind == "line":
        head, newline, _ = raw.partition("\n")
        return head, bool(newline)
    lines = raw.split("\n")
    kept = [lines[0]]
    for line in lines[1:-1]:
        if len(kept) >= max_lines or (line.strip() and _width(line) < indent_width):
            return "\n".join(kept).rstrip(), True
        kept.append(line)
    done = len(kept) >= max_lines or (len(lines) > 1 and bool(lines[-1].strip())
                                      and _width(lines[-1]) < indent_width)
    if len(lines) > 1 and not done and len(kept) < max_lines:
        kept.append(lines[-1])
    return "\n".join(kept[:max_lines]).rstrip(), done


# --- the bare model ---------------------------------------------------------------------

@dataclass(frozen=True)
class Answer:
    """A suggestion for a cursor, and what it cost."""

    text: str
    raw: str = ""
    latency_ms: float = 0.0
    prompt_tokens: int = 0


class Bare:
    """The model through llama-cpp-python, with the plain FIM prompt and a plain client's cut."""

    def __init__(self, model: Path, settings: CompletionSettings, context_size: int = 4096,
                 threads: int = 0) -> None:
        import os

        import llama_cpp

        threads = threads or os.cpu_count() or 1
        self.settings = settings
        self._llm = llama_cpp.Llama(model_path=str(model), n_ctx=context_size, n_batch=512,
                                    n_threads=threads, n_threads_batch=threads, verbose=False)
        self.template: FimTemplate = detect_template(self._special)
        self._stops = {self._ids(t)[0] for t in self.template.stop if self._special(t)}
        self._stops.add(self._llm.token_eos())

    def _ids(self, text: str) -> list[int]:
        return list(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def _special(self, text: str) -> bool:
        ids = self._ids(text)
        return len(ids) == 1 and self._llm.detokenize(ids, special=True).decode(
            "utf-8", "replace") == text

    def _text_ids(self, text: str) -> list[int]:
        return list(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def prompt(self, prefix: str, suffix: str) -> list[int]:
        """The plain prompt's tokens: prefix and suffix cut by tokens to the budget."""
        specials = [s for s in render(self.template, "a", "b").segments
                    if isinstance(s, Special)]
        total = min(self.settings.prompt_tokens, self._llm.n_ctx() - self.settings.max_tokens)
        budget = total - len(specials)
        before, after = self._text_ids(prefix), self._text_ids(suffix)
        after = after[: min(len(after), int(budget * self.settings.suffix_share))]
        before = before[max(0, len(before) - (budget - len(after))):]
        ids: list[int] = []
        for segment in render(self.template, "\0prefix", "\0suffix").segments:
            if isinstance(segment, Special):
                ids.append(self._ids(segment.text)[0])
            else:
                ids.extend(before if segment == "\0prefix" else after)
        return ids

    def complete(self, cursor: Cursor) -> Answer:
        """The bare model's answer at a cursor, cut as a plain client cuts it."""
        text, offset = cursor.text, cursor.offset
        started = time.perf_counter()
        ids = self.prompt(text[:offset], text[offset:])
        out: list[int] = []
        raw = ""
        indent = len(cursor.text.split("\n")[cursor.line][: cursor.column].expandtabs(4))
        for token in self._llm.generate(ids, temp=0.0, top_k=1, repeat_penalty=1.0,
                                        reset=True):
            if token in self._stops or len(out) >= self.settings.max_tokens:
                break
            out.append(token)
            raw = self._llm.detokenize(out, special=False).decode("utf-8", "replace")
            if plain_cut(raw, cursor.kind, indent, self.settings.max_lines)[1]:
                break
        shown = plain_cut(raw, cursor.kind, indent, self.settings.max_lines)[0]
        return Answer(shown, raw, (time.perf_counter() - started) * 1000, len(ids))

    def close(self) -> None:
        """Release the model."""
        self._llm.close()


# --- the real server --------------------------------------------------------------------

def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _options(model: Path, settings: dict[str, Any]) -> dict[str, Any]:
    options: dict[str, Any] = {"models": {"autocomplete": str(model)}}
    for section, values in settings.items():
        options.setdefault(section, {}).update(values)
    return options


def _merge(*layers: dict[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for layer in layers:
        for section, values in layer.items():
            merged.setdefault(section, {}).update(values)
    return merged


async def serve(cursors: Sequence[Cursor], root: Path, model: Path, trigger: Trigger,
                settings: dict[str, Any], progress: Callable[[Cursor, Answer], None]
                | None = None) -> list[Answer]:
    """Ask one `lspilot serve`, rooted at `root`, for a suggestion at each cursor in turn."""
    client = LanguageClient("lspilot-fim", "1")

    @client.feature(types.WINDOW_SHOW_MESSAGE)
    def show_message(params: types.ShowMessageParams) -> None:
        print(f"server: {params.message}", file=sys.stderr)

    @client.feature("lspilot/status")
    def status(params: Any) -> None:
        """State changes; not needed here."""

    await client.start_io(sys.executable, "-m", "lspilot", "serve", "--log-level", "warning")
    answers: list[Answer] = []
    try:
        await client.initialize_async(types.InitializeParams(
            capabilities=types.ClientCapabilities(), root_uri=root.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name=root.name)],
            initialization_options=_options(model, settings)))
        client.initialized(types.InitializedParams())
        # The first completion loads the model; it is outside the workspace and not scored.
        warmup = (root.parent / "warmup.py").as_uri()
        client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(
            uri=warmup, language_id="python", version=1, text="def add(a, b):\n    return ")))
        await _inline(client, warmup, 1, 11, "invoked")
        client.text_document_did_close(types.DidCloseTextDocumentParams(
            types.TextDocumentIdentifier(uri=warmup)))
        await _index_ready(client)
        for cursor in cursors:
            answers.append(await _ask(client, cursor, root, trigger))
            if progress is not None:
                progress(cursor, answers[-1])
    finally:
        await client.shutdown_async(None)
        client.exit(None)
        await client.stop()
    return answers


async def _inline(client: LanguageClient, uri: str, line: int, character: int,
                  trigger: Trigger) -> str:
    kind = (types.InlineCompletionTriggerKind.Invoked if trigger == "invoked"
            else types.InlineCompletionTriggerKind.Automatic)
    result = await client.text_document_inline_completion_async(types.InlineCompletionParams(
        context=types.InlineCompletionContext(kind),
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=types.Position(line, character)))
    if not isinstance(result, types.InlineCompletionList) or not result.items:
        return ""
    text = result.items[0].insert_text
    return text if isinstance(text, str) else text.value


async def _index_ready(client: LanguageClient) -> None:
    deadline = time.perf_counter() + INDEX_WAIT_S
    while time.perf_counter() < deadline:
        status = await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="lspilot.status"))
        if not isinstance(status, dict) or status.get("state") != "ready":
            raise SystemExit(f"the server is not ready after a completion: {status}")
        context = status.get("context")
        if not isinstance(context, dict) or context.get("state", "ready") == "ready":
            return
        await asyncio.sleep(0.2)


def _watched(client: LanguageClient, uri: str) -> None:
    client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams(
        changes=[types.FileEvent(uri=uri, type=types.FileChangeType.Changed)]))


async def _ask(client: LanguageClient, cursor: Cursor, root: Path, trigger: Trigger) -> Answer:
    path = root / cursor.path
    uri = path.as_uri()
    original = path.read_text(encoding="utf-8")
    path.write_text(cursor.text, encoding="utf-8")
    try:
        _watched(client, uri)
        client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(
            uri=uri, language_id=cursor.language, version=1, text=cursor.text)))
        await asyncio.sleep(SETTLE_S)
        line = cursor.text.split("\n")[cursor.line]
        started = time.perf_counter()
        text = await _inline(client, uri, cursor.line, _utf16(line[: cursor.column]), trigger)
        latency_ms = (time.perf_counter() - started) * 1000
        last = await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="lspilot.lastCompletion"))
        client.text_document_did_close(types.DidCloseTextDocumentParams(
            types.TextDocumentIdentifier(uri=uri)))
    finally:
        path.write_text(original, encoding="utf-8")
        _watched(client, uri)
    last = last if isinstance(last, dict) else {}
    return Answer(text, str(last.get("raw", "")), round(latency_ms, 1),
                  int(last.get("promptTokens") or 0))


# --- loss attribution -------------------------------------------------------------------

SERVER_STAGES: tuple[tuple[str, dict[str, Any], tuple[Trigger, ...]], ...] = (
    ("state", {}, ("automatic", "invoked")),
    ("context", {"context": {"enabled": False}}, ("automatic", "invoked")),
    ("window reuse", {"completion": {"reuseWindow": False}}, ("automatic", "invoked")),
    ("suffix cap", {"completion": {"typingSuffixTokens": 32_768}}, ("automatic",)),
    ("early stop", {"completion": {"earlyStop": False}}, ("automatic", "invoked")),
)
"""Stages switched off by a setting, run again through a fresh server; (name, settings,
triggers it applies to)."""

POSTPROCESS_RULES: tuple[tuple[str, str, Callable[..., Any]], ...] = (
    ("rule: first-line indent", "_first_line_indent", lambda text, cursor: text),
    ("rule: cut lines", "_cut_lines", lambda lines, cursor: lines),
    ("rule: unmatched closer", "_cut_unmatched_closer", lambda text, suffix: text),
    ("rule: line-suffix overlap", "_trim_line_suffix_overlap", lambda text, rest: text),
    ("rule: normalize indentation", "_normalize_indentation", lambda text, cursor: text),
    ("rule: repetition", "_is_repetition", lambda text, cursor: False),
    ("syntax check", "keep_valid", lambda language_id, prefix, text, suffix: text),
)
"""Post-processing rules, each replaced by a no-op on the same raw answer: (name, the
function's name in `lspilot.completion.postprocess`, the no-op)."""


def replay_postprocess(cursor: Cursor, raw: str, settings: CompletionSettings,
                       without: str | None = None) -> str | None:
    """The pipeline's post-processing of `raw` at the cursor, with one rule made a no-op.

    None when the rule is gone from the module (the code moved on: update the table).
    """
    from lspilot.completion import postprocess as module
    from lspilot.completion.cursor import cursor_at

    at = cursor_at(cursor.text, cursor.offset)
    multiline = module.is_multiline(at, cursor.language)
    patches: contextlib.ExitStack = contextlib.ExitStack()
    with patches:
        if without is not None:
            rule = next(r for r in POSTPROCESS_RULES if r[0] == without)
            if not hasattr(module, rule[1]):
                return None
            patches.enter_context(mock.patch.object(module, rule[1], rule[2]))
        return str(module.postprocess(raw, at, multiline, settings.max_lines, cursor.language))


@dataclass
class Loss:
    """A cursor the pipeline lost, and what each stage switched off gives there."""

    cursor: str
    language: str
    kind: Kind
    trigger: Trigger
    expected: str
    bare: str
    ours: str
    raw: str
    replayed: bool
    """Whether post-processing the raw answer again gives the shown text (it should)."""
    stages: dict[str, str] = field(default_factory=dict)
    """Stage -> the suggestion with it switched off."""
    winners: list[str] = field(default_factory=list)
    stage: str = "unattributed"
    """The first stage whose removal wins the cursor back."""


def attribute_postprocess(loss: Loss, cursor: Cursor, bare: Score,
                          settings: CompletionSettings) -> None:
    """Replay the raw answer with each post-processing rule off, and the plain client's cut."""
    loss.replayed = replay_postprocess(cursor, loss.raw, settings) == loss.ours
    for name, _, _ in POSTPROCESS_RULES:
        text = replay_postprocess(cursor, loss.raw, settings, without=name)
        if text is not None:
            loss.stages[name] = text
    indent = len(cursor.text.split("\n")[cursor.line][: cursor.column].expandtabs(4))
    loss.stages["post-processing (plain cut)"] = plain_cut(loss.raw, cursor.kind, indent,
                                                           settings.max_lines)[0]


def settle(loss: Loss, cursor: Cursor, bare: Score) -> None:
    """Name the winners and the first stage (in pipeline order) whose removal wins it back."""
    order = [name for name, _, _ in SERVER_STAGES] + [name for name, _, _ in POSTPROCESS_RULES] \
        + ["post-processing (plain cut)"]
    loss.winners = [name for name in order if name in loss.stages
                    and wins_back(score(loss.stages[name], cursor.expected, cursor.kind), bare)]
    loss.stage = loss.winners[0] if loss.winners else "unattributed"


# --- running and reporting --------------------------------------------------------------

@dataclass
class Row:
    """One cursor's results for the bare model and the pipeline under each trigger."""

    cursor: Cursor
    bare: Answer
    ours: dict[Trigger, Answer] = field(default_factory=dict)

    def scores(self) -> dict[str, Score]:
        """`bare` and each trigger's score."""
        found = {"bare": score(self.bare.text, self.cursor.expected, self.cursor.kind)}
        for trigger, answer in self.ours.items():
            found[trigger] = score(answer.text, self.cursor.expected, self.cursor.kind)
        return found


def run_pipeline(cursors: Sequence[Cursor], roots: dict[str, Path], model: Path,
                 triggers: Sequence[Trigger], settings: dict[str, Any], verbose: bool = True
                 ) -> dict[tuple[str, Trigger], Answer]:
    """Every cursor through a server per package and trigger: (cursor key, trigger) -> answer."""
    found: dict[tuple[str, Trigger], Answer] = {}
    by_package: dict[str, list[Cursor]] = defaultdict(list)
    for cursor in cursors:
        by_package[cursor.package].append(cursor)

    def progress(trigger: Trigger) -> Callable[[Cursor, Answer], None]:
        def show(cursor: Cursor, answer: Answer) -> None:
            if verbose:
                s = score(answer.text, cursor.expected, cursor.kind)
                mark = "exact" if s.exact else f"{s.similarity:.2f} "
                print(f"  {trigger:9} {cursor.key:60} {mark} {answer.latency_ms:6.0f} ms "
                      f"{shown_part(answer.text, cursor.kind)[:50]!r}", flush=True)
        return show

    for package, group in by_package.items():
        for trigger in triggers:
            answers = asyncio.run(serve(group, roots[package], model, trigger, settings,
                                        progress(trigger)))
            for cursor, answer in zip(group, answers, strict=True):
                found[(cursor.key, trigger)] = answer
    return found


def attribute(rows: Sequence[Row], roots: dict[str, Path], model: Path,
              settings: dict[str, Any], completion: CompletionSettings,
              stages: Sequence[str] | None = None) -> list[Loss]:
    """Every lost (cursor, trigger), run again with each stage off and attributed.

    `stages` names the server stages to run again (all by default: each costs a run of the
    lost cursors); post-processing is always replayed, which costs no model call.
    """
    losses: list[tuple[Row, Trigger, Loss]] = []
    for row in rows:
        scores = row.scores()
        for trigger, answer in row.ours.items():
            if lost(scores[trigger], scores["bare"]):
                losses.append((row, trigger, Loss(
                    row.cursor.key, row.cursor.language, row.cursor.kind, trigger,
                    row.cursor.expected, row.bare.text, answer.text, answer.raw, False)))
    for name, changed, applies in SERVER_STAGES:
        if stages is not None and name not in stages:
            continue
        for trigger in TRIGGERS:
            todo = [(row, loss) for row, t, loss in losses if t == trigger and t in applies]
            if not todo:
                continue
            print(f"attribution: {name}, {trigger}, {len(todo)} cursors", flush=True)
            again = run_pipeline([row.cursor for row, _ in todo], roots, model, (trigger,),
                                 _merge(settings, changed), verbose=False)
            for row, loss in todo:
                loss.stages[name] = again[(row.cursor.key, trigger)].text
    for row, _, loss in losses:
        bare = row.scores()["bare"]
        attribute_postprocess(loss, row.cursor, bare, completion)
        settle(loss, row.cursor, bare)
    return [loss for _, _, loss in losses]


def table(rows: Sequence[Row], triggers: Sequence[Trigger]) -> dict[str, dict[str, Any]]:
    """Per language (and `all`), per kind of hole and in total: the figures of each runner."""
    groups: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        groups[row.cursor.language].append(row)
        groups["all"].append(row)
    result: dict[str, dict[str, Any]] = {}
    for language, group in groups.items():
        entry: dict[str, Any] = {"n": len(group),
                                 "lines": sum(r.cursor.kind == "line" for r in group),
                                 "blocks": sum(r.cursor.kind == "block" for r in group)}
        for runner in ("bare", *triggers):
            answers = [r.bare if runner == "bare" else r.ours[runner]  # type: ignore[index]
                       for r in group]
            scores = [r.scores()[runner] for r in group]
            bare_right = [r.scores()["bare"].exact for r in group]
            empty_where_bare_right = [not a.text.strip() for a, right in
                                      zip(answers, bare_right, strict=True) if right]
            entry[runner] = {
                "exact": statistics.fmean(s.exact for s in scores),
                "exact_lines": _mean([s.exact for s, r in zip(scores, group, strict=True)
                                      if r.cursor.kind == "line"]),
                "exact_blocks": _mean([s.exact for s, r in zip(scores, group, strict=True)
                                       if r.cursor.kind == "block"]),
                "similarity": statistics.fmean(s.similarity for s in scores),
                "no_suggestion": statistics.fmean(not a.text.strip() for a in answers),
                "no_suggestion_where_bare_right": _mean(empty_where_bare_right),
                "latency_p50_ms": percentile([a.latency_ms for a in answers], 50),
                "latency_p95_ms": percentile([a.latency_ms for a in answers], 95),
            }
        result[language] = entry
    return result


def _mean(values: Sequence[bool | float]) -> float | None:
    return statistics.fmean(values) if values else None


def print_table(figures: dict[str, dict[str, Any]], triggers: Sequence[Trigger]) -> None:
    """The per-language table, one line per runner."""
    print(f"\n{'language':11} {'runner':10} {'n':>3} {'exact':>6} {'lines':>6} {'blocks':>6} "
          f"{'sim':>5} {'none':>5} {'none|bare ok':>12} {'p50 ms':>7} {'p95 ms':>7}")
    order = [lang for lang in LANGUAGES if lang in figures] + \
        sorted(set(figures) - set(LANGUAGES) - {"all"}) + ["all"]
    for language in order:
        if language not in figures:
            continue
        entry = figures[language]
        for runner in ("bare", *triggers):
            f = entry[runner]

            def pct(value: float | None) -> str:
                return "    -" if value is None else f"{100 * value:5.1f}"

            print(f"{language:11} {runner:10} {entry['n']:3} {pct(f['exact']):>6} "
                  f"{pct(f['exact_lines']):>6} {pct(f['exact_blocks']):>6} "
                  f"{f['similarity']:5.2f} {pct(f['no_suggestion']):>5} "
                  f"{pct(f['no_suggestion_where_bare_right']):>12} "
                  f"{f['latency_p50_ms']:7.0f} {f['latency_p95_ms']:7.0f}")


def print_losses(losses: Sequence[Loss]) -> dict[str, int]:
    """Lost cursors by the stage that lost them; returns the counts."""
    counts: dict[str, int] = defaultdict(int)
    for loss in losses:
        counts[loss.stage] += 1
    if not losses:
        print("\nno cursor lost to the bare model")
        return dict(counts)
    print(f"\n{len(losses)} (cursor, trigger) lost to the bare model; first stage whose "
          "removal wins it back:")
    for stage, count in sorted(counts.items(), key=lambda item: -item[1]):
        print(f"  {count:3}  {stage}")
    for loss in losses:
        print(f"  {loss.stage:28} {loss.trigger:9} {loss.cursor}\n"
              f"      expected {shown_part(loss.expected, loss.kind)[:70]!r}\n"
              f"      bare     {shown_part(loss.bare, loss.kind)[:70]!r}\n"
              f"      ours     {shown_part(loss.ours, loss.kind)[:70]!r}"
              + ("" if loss.replayed else "  (post-processing replay differs)"))
    return dict(counts)


def evaluate(cursors: Sequence[Cursor], roots: dict[str, Path], model: Path,
             triggers: Sequence[Trigger] = ("automatic", "invoked"),
             settings: dict[str, Any] | None = None, attribution: bool = True,
             stages: Sequence[str] | None = None,
             checkpoint: Callable[[dict[str, Any]], None] | None = None,
             bare_answers: Callable[[], dict[str, Answer]] | None = None) -> dict[str, Any]:
    """Run the cursors through the pipeline and the bare model; the figures and the losses.

    `checkpoint` gets the result without the losses before the attribution starts.
    `bare_answers` gives (by cursor key) the bare model's answers from an earlier run of
    the same cursors and settings (it is deterministic), to reuse; it is called after the
    pipeline's runs, so a run still going on beside this one may have written them by then.
    """
    answers = run_pipeline(cursors, roots, model, triggers, settings)
    settings = settings or {}
    parsed, errors = parse_settings(settings)
    if errors:
        raise SystemExit("; ".join(errors))
    completion = parsed.completion
    print(f"{len(cursors)} cursors; bare model ...", flush=True)
    known = bare_answers() if bare_answers is not None else {}
    bare = None if all(c.key in known for c in cursors) else \
        Bare(model, completion, parsed.llama_cpp.context_size, parsed.llama_cpp.threads)
    answered: list[Answer] = []
    try:
        for cursor in cursors:
            answered.append(known[cursor.key] if cursor.key in known or bare is None
                            else bare.complete(cursor))
            found = score(answered[-1].text, cursor.expected, cursor.kind)
            print(f"  {'bare':9} {cursor.key:60} "
                  f"{'exact' if found.exact else f'{found.similarity:.2f} '} "
                  f"{answered[-1].latency_ms:6.0f} ms "
                  f"{shown_part(answered[-1].text, cursor.kind)[:50]!r}", flush=True)
    finally:
        if bare is not None:
            bare.close()
    rows = [Row(cursor, b, {t: answers[(cursor.key, t)] for t in triggers})
            for cursor, b in zip(cursors, answered, strict=True)]
    result: dict[str, Any] = {
        "figures": table(rows, triggers), "losses": [], "loss_stages": {},
        "rows": [{"cursor": asdict(r.cursor) | {"text": None}, "bare": asdict(r.bare),
                  "ours": {t: asdict(a) for t, a in r.ours.items()},
                  "scores": {k: asdict(s) for k, s in r.scores().items()}} for r in rows]}
    if checkpoint is not None:
        checkpoint(result)
    if attribution:
        losses = attribute(rows, roots, model, settings, completion, stages)
        result |= {"losses": [asdict(loss) for loss in losses],
                   "loss_stages": _stage_counts(losses)}
    return result


def _stage_counts(losses: Sequence[Loss]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for loss in losses:
        counts[loss.stage] += 1
    return dict(counts)


@contextlib.contextmanager
def prepared(sources: Sequence[Source], cache: Path) -> Iterator[dict[str, Path]]:
    """The sources unpacked into a temporary folder outside any git repository."""
    with tempfile.TemporaryDirectory(prefix="lspilot-fim-") as scratch:
        dest = Path(scratch)
        if any((folder / ".git").exists() for folder in dest.parents):
            raise SystemExit(f"{dest} is inside a git repository; set TMPDIR elsewhere")
        yield workspaces(sources, cache, dest)


def main() -> None:
    """Sample the cursors, run both, print the table and the losses, write JSON."""
    parser_ = argparse.ArgumentParser(description=__doc__,
                                      formatter_class=argparse.RawDescriptionHelpFormatter)
    parser_.add_argument("--split", default="report", choices=("tune", "report"))
    parser_.add_argument("--lines", type=int, default=8, help="line holes per language")
    parser_.add_argument("--blocks", type=int, default=4, help="block holes per language")
    parser_.add_argument("--languages", default=",".join(LANGUAGES))
    parser_.add_argument("--triggers", default="automatic,invoked")
    parser_.add_argument("--model", default=Settings().models.autocomplete)
    parser_.add_argument("--settings", type=json.loads, default={},
                         help="settings for the server (and the bare model's budget), as JSON")
    parser_.add_argument("--no-attribution", action="store_true")
    parser_.add_argument("--attribute-from", type=Path,
                         help="only attribute the losses of an earlier run's JSON (the same "
                         "cursors); writes it with the losses to --json")
    parser_.add_argument("--bare-from", type=Path,
                         help="reuse the bare model's answers of an earlier run's JSON "
                         "(same cursors and settings: the bare model is deterministic)")
    parser_.add_argument("--stages", default="",
                         help="server stages to run lost cursors again without, comma-"
                         "separated (default all: " + ", ".join(n for n, _, _ in SERVER_STAGES)
                         + "; `none`: post-processing replays only, which cost no model call)")
    parser_.add_argument("--seed", type=int, default=13)
    parser_.add_argument("--cache", type=Path, default=default_home() / "bench" / "fim")
    parser_.add_argument("--json", type=Path)
    args = parser_.parse_args()
    languages = args.languages.split(",")
    triggers: list[Trigger] = [t for t in ("automatic", "invoked")
                               if t in args.triggers.split(",")]
    model = ModelStore.from_env().resolve(args.model)
    sources = [s for s in SOURCES if s.language in languages]
    started = time.perf_counter()
    with prepared(sources, args.cache) as roots:
        cursors: list[Cursor] = []
        for language in languages:
            found = [c for s in sources if s.language == language
                     for c in sample(roots[s.folder], args.lines, args.blocks, split=args.split,
                                     seed=args.seed)]
            # The sample is per package; keep the language's share spread over packages.
            lines = [c for c in found if c.kind == "line"]
            blocks = [c for c in found if c.kind == "block"]
            cursors += _spread(lines, args.lines) + _spread(blocks, args.blocks)
        cursors.sort(key=lambda c: (c.package, c.path, c.line))
        out = args.json or Path("bench/out") / f"fim-{args.split}.json"
        out.parent.mkdir(parents=True, exist_ok=True)

        def checkpoint(partial: dict[str, Any]) -> None:
            print_table(partial["figures"], triggers)
            out.write_text(json.dumps(partial, indent=1) + "\n")

        stages = [] if args.stages == "none" else args.stages.split(",") if args.stages \
            else None
        if args.attribute_from:
            # Only the attribution, for the lost cursors of an earlier run of the same cursors.
            earlier = json.loads(args.attribute_from.read_text())
            by_key = {c.key: c for c in cursors}
            rows = [Row(by_key[_key(r["cursor"])], Answer(**r["bare"]),
                        {t: Answer(**a) for t, a in r["ours"].items()})
                    for r in earlier["rows"] if _key(r["cursor"]) in by_key]
            completion = parse_settings(args.settings)[0].completion
            losses = attribute(rows, roots, model, args.settings, completion, stages)
            earlier |= {"losses": [asdict(loss) for loss in losses],
                        "loss_stages": _stage_counts(losses)}
            print_losses(losses)
            out.write_text(json.dumps(earlier, indent=1) + "\n")
            return

        def reused() -> dict[str, Answer]:
            if not args.bare_from or not args.bare_from.exists():
                return {}
            earlier = json.loads(args.bare_from.read_text())
            return {_key(row["cursor"]): Answer(**row["bare"]) for row in earlier["rows"]}

        result = evaluate(cursors, roots, model, triggers, args.settings,
                          not args.no_attribution, stages, checkpoint, reused)
    print_table(result["figures"], triggers)
    print_losses([Loss(**loss) for loss in result["losses"]])
    result |= {"model": model.name, "split": args.split, "seed": args.seed,
               "settings": args.settings, "wall_s": round(time.perf_counter() - started, 1),
               "sources": [asdict(s) for s in sources]}
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"\nwrote {out}")


def _key(cursor: dict[str, Any]) -> str:
    """A cursor's key from its JSON form."""
    return f"{cursor['package']}/{cursor['path']}:{cursor['line'] + 1}:{cursor['kind']}"


def _spread(cursors: list[Cursor], wanted: int) -> list[Cursor]:
    """`wanted` cursors taken round-robin over packages (each package's own order kept)."""
    by_package: dict[str, list[Cursor]] = defaultdict(list)
    for cursor in cursors:
        by_package[cursor.package].append(cursor)
    queues = [list(group) for _, group in sorted(by_package.items())]
    taken: list[Cursor] = []
    while len(taken) < wanted and any(queues):
        for queue in queues:
            if queue and len(taken) < wanted:
                taken.append(queue.pop(0))
    return taken


if __name__ == "__main__":
    main()
