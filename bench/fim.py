"""Is the pipeline at least as right as the bare model? A fair, multi-language FIM benchmark.

Data: real code that installs here, pinned by version and sha256 and cached in
`~/.cache/lspilot/bench/fim/` (`$LSPILOT_HOME/bench/fim/`): Python wheels from PyPI
(`pip download`), JavaScript and TypeScript packages from npm (`npm pack`), and Go, Rust and
Java sources from Debian's packages (`apt-get download`: `golang-*-dev` ship Go modules,
`librust-*-dev` crates, `bsh-src` the BeanShell interpreter's Java source). Each package is
unpacked, its source folders only (no bundles or compiled copies of the same code, which
would hand the context engine the answer), into a folder of its own: the workspace root a
server is started on, outside any git repository.

Cases: `lspilot.completion.holes.sample` per package (line holes and block bodies, split
`tune`/`report` by a hash of the place), spread over a language's packages.

Pipeline: `lspilot.editor_client.serve`, one `lspilot serve` per package and trigger kind
over stdio as an editor drives it, with the server's default settings (and `--settings`);
`--open-unrelated N` keeps N files of other packages open beside the cases, as tabs of an
unrelated project.

Bare model: `lspilot.completion.baseline` (the same model and backend, the plain FIM prompt
at the same budget, its answer cut as a plain client cuts it).

Scores (`lspilot.completion.scoring`), per language: exact match and edit similarity of the
shown text's first line (line holes) or whole text (block holes); the share of cases with no
suggestion, overall and where the bare model is exact; latency p50/p95 (request to answer
over LSP; generation for the bare model), in the table as ratios to the bare model's, as
the machine is shared and absolute times mean little.

Loss attribution: a case is lost when the bare model is exact and the pipeline is not, or
neither is exact and the bare model's similarity is higher. Each lost case is run again
with one stage switched off at a time, in this order, and the first stage whose removal wins
it back (exact where the bare model is exact, else a similarity at least the bare one's) is
named: a fresh server with the same settings (`state`: the window anchor left by the
earlier cases of the file), context off, window reuse off, the typing suffix cap off,
early stop off; then, on the same raw answer, each post-processing rule alone, the syntax
check, and the whole post-processing replaced by the plain client's cut.

Source lift (`--lift-from RUN.json`): for each context source, the cases of an earlier run
whose prompt held one of its snippets are run again with that source alone switched off
(`context.sources`); a case without its snippets has the same prompt either way, so the
difference over those cases is the source's whole effect on the run.

    .venv/bin/python -m bench.fim [--split report] [--lines 8] [--blocks 4]
        [--languages python,javascript] [--triggers automatic,invoked] [--model NAME|PATH]
        [--settings JSON] [--no-attribution] [--bare-from RUN.json] [--open-unrelated N]
        [--lift-from RUN.json] [--json bench/out/fim-report.json]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
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

from bench.crossfile import Pin
from bench.crossfile import fetch as fetch_wheel
from bench.stats import percentile
from lspilot.completion.baseline import bare_complete, plain_cut
from lspilot.completion.holes import Case, Kind, sample, source_files
from lspilot.completion.scoring import Answer, Score, lost, score, shown_part, wins_back
from lspilot.context.languages import language_id_for
from lspilot.editor_client import Trigger, serve
from lspilot.models.slot import store_loader
from lspilot.models.store import ModelStore, default_home
from lspilot.settings import CONTEXT_SOURCES, CompletionSettings, Settings, parse_settings

LANGUAGES = ("python", "javascript", "typescript", "go", "rust", "java")
TRIGGERS: tuple[Trigger, ...] = ("automatic", "invoked")


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


def replay_postprocess(cursor: Case, raw: str, settings: CompletionSettings,
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


def attribute_postprocess(loss: Loss, cursor: Case, bare: Score,
                          settings: CompletionSettings) -> None:
    """Replay the raw answer with each post-processing rule off, and the plain client's cut."""
    loss.replayed = replay_postprocess(cursor, loss.raw, settings) == loss.ours
    for name, _, _ in POSTPROCESS_RULES:
        text = replay_postprocess(cursor, loss.raw, settings, without=name)
        if text is not None:
            loss.stages[name] = text
    loss.stages["post-processing (plain cut)"] = plain_cut(
        loss.raw, cursor.kind, cursor.indent_width, settings.max_lines)[0]


def settle(loss: Loss, cursor: Case, bare: Score) -> None:
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

    cursor: Case
    bare: Answer
    ours: dict[Trigger, Answer] = field(default_factory=dict)

    def scores(self) -> dict[str, Score]:
        """`bare` and each trigger's score."""
        found = {"bare": score(self.bare.text, self.cursor.expected, self.cursor.kind)}
        for trigger, answer in self.ours.items():
            found[trigger] = score(answer.text, self.cursor.expected, self.cursor.kind)
        return found


Opened = dict[str, Sequence[tuple[Path, str]]]
"""Files kept open beside the cases, by package: (path, language id)."""


def run_pipeline(cursors: Sequence[Case], roots: dict[str, Path], model: Path,
                 triggers: Sequence[Trigger], settings: dict[str, Any], verbose: bool = True,
                 opened: Opened | None = None) -> dict[tuple[str, Trigger], Answer]:
    """Every case through a server per package and trigger: (case key, trigger) -> answer."""
    found: dict[tuple[str, Trigger], Answer] = {}
    by_package: dict[str, list[Case]] = defaultdict(list)
    for cursor in cursors:
        by_package[cursor.package].append(cursor)

    def progress(trigger: Trigger) -> Callable[[Case, Answer], None]:
        def show(cursor: Case, answer: Answer) -> None:
            if verbose:
                s = score(answer.text, cursor.expected, cursor.kind)
                mark = "exact" if s.exact else f"{s.similarity:.2f} "
                print(f"  {trigger:9} {cursor.key:60} {mark} {answer.latency_ms:6.0f} ms "
                      f"{shown_part(answer.text, cursor.kind)[:50]!r}", flush=True)
        return show

    for package, group in by_package.items():
        for trigger in triggers:
            answers = asyncio.run(serve(group, roots[package], str(model), trigger, settings,
                                        opened=(opened or {}).get(package, ()),
                                        progress=progress(trigger)))
            for cursor, answer in zip(group, answers, strict=True):
                found[(cursor.key, trigger)] = answer
    return found


def _merge(*layers: dict[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for layer in layers:
        for section, values in layer.items():
            merged.setdefault(section, {}).update(values)
    return merged


def attribute(rows: Sequence[Row], roots: dict[str, Path], model: Path,
              settings: dict[str, Any], completion: CompletionSettings,
              stages: Sequence[str] | None = None, opened: Opened | None = None
              ) -> list[Loss]:
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
                                 _merge(settings, changed), verbose=False, opened=opened)
            for row, loss in todo:
                loss.stages[name] = again[(row.cursor.key, trigger)].text
    for row, _, loss in losses:
        bare = row.scores()["bare"]
        attribute_postprocess(loss, row.cursor, bare, completion)
        settle(loss, row.cursor, bare)
    return [loss for _, _, loss in losses]


def rule_lift(rows: Sequence[Row], completion: CompletionSettings) -> dict[str, Any]:
    """Each post-processing rule made a no-op on every (case, trigger) pair's raw answer
    (no model call): the pairs it wins (exact only with it), loses (exact only without it),
    the suggestions it empties and how many of those were exact, and the mean similarity
    with and without it. The raw answer is the one generated with every rule on (early
    stop reads them), so a rule's effect on when generation stops is not in these."""
    pairs = [(row.cursor, answer) for row in rows for answer in row.ours.values()
             if answer.raw]
    shown = {id(answer): replay_postprocess(cursor, answer.raw, completion)
             for cursor, answer in pairs}
    lifts: dict[str, Any] = {}
    for name, _, _ in POSTPROCESS_RULES:
        won = lost_ = emptied = emptied_exact = 0
        with_it: list[float] = []
        without_it: list[float] = []
        for cursor, answer in pairs:
            on_text = shown[id(answer)] or ""
            off_text = replay_postprocess(cursor, answer.raw, completion, without=name)
            if off_text is None:
                break
            on, off = (score(t, cursor.expected, cursor.kind) for t in (on_text, off_text))
            won += on.exact and not off.exact
            lost_ += off.exact and not on.exact
            if not on_text.strip() and off_text.strip():
                emptied += 1
                emptied_exact += off.exact
            with_it.append(on.similarity)
            without_it.append(off.similarity)
        lifts[name] = {"pairs": len(with_it), "won": won, "lost": lost_, "emptied": emptied,
                       "emptied_exact": emptied_exact,
                       "similarity_with": _mean(with_it), "similarity_without": _mean(without_it)}
    return lifts


def print_rule_lift(lifts: dict[str, Any]) -> None:
    """One line per post-processing rule."""
    print(f"\n{'rule':30} {'pairs':>5} {'won':>4} {'lost':>4} {'emptied':>7} {'of them exact':>13} "
          f"{'sim with':>8} {'without':>8}")
    for name, f in lifts.items():
        if not f["pairs"]:
            continue
        print(f"{name:30} {f['pairs']:5} {f['won']:4} {f['lost']:4} {f['emptied']:7} "
              f"{f['emptied_exact']:13} {f['similarity_with']:8.3f} {f['similarity_without']:8.3f}")


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
    """The per-language table, one line per runner; latency as a ratio to the bare model's
    in the same run (the machine is shared: absolute times say little)."""
    print(f"\n{'language':11} {'runner':10} {'n':>3} {'exact':>6} {'lines':>6} {'blocks':>6} "
          f"{'sim':>5} {'none':>5} {'none|bare ok':>12} {'p50 xbare':>9} {'p95 xbare':>9}")
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
                  f"{_ratio(f['latency_p50_ms'], entry['bare']['latency_p50_ms']):>9} "
                  f"{_ratio(f['latency_p95_ms'], entry['bare']['latency_p95_ms']):>9}")


def _ratio(value: float, base: float) -> str:
    return f"{value / base:.2f}" if base else "-"


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


def cases(sources: Sequence[Source], roots: dict[str, Path], languages: Sequence[str],
          lines: int, blocks: int, split: str, seed: int) -> list[Case]:
    """The benchmark's cases: per language, `lines` line holes and `blocks` block holes spread
    over its packages, in a stable order."""
    cursors: list[Case] = []
    for language in languages:
        found = [c for s in sources if s.language == language
                 for c in sample(roots[s.folder], lines, blocks, split=split, seed=seed)]
        # The sample is per package; keep the language's share spread over packages.
        cursors += _spread([c for c in found if c.kind == "line"], lines) + \
            _spread([c for c in found if c.kind == "block"], blocks)
    return sorted(cursors, key=lambda c: (c.package, c.path, c.line))


def bare_run(cursors: Sequence[Case], model: Path, settings: Settings,
             known: dict[str, Answer]) -> list[Answer]:
    """The bare model's answer at each case (`known` ones reused: it is deterministic)."""

    async def run() -> list[Answer]:
        todo = [c for c in cursors if c.key not in known]
        backend = store_loader(ModelStore.from_env())(str(model), settings,
                                                      lambda *_: None) if todo else None
        answered: list[Answer] = []
        try:
            for cursor in cursors:
                if cursor.key in known or backend is None:
                    answer = known[cursor.key]
                else:
                    answer = await bare_complete(backend, cursor.text, cursor.offset,
                                                 cursor.kind, settings.completion)
                answered.append(answer)
                found = score(answer.text, cursor.expected, cursor.kind)
                print(f"  {'bare':9} {cursor.key:60} "
                      f"{'exact' if found.exact else f'{found.similarity:.2f} '} "
                      f"{answer.latency_ms:6.0f} ms "
                      f"{shown_part(answer.text, cursor.kind)[:50]!r}", flush=True)
        finally:
            if backend is not None:
                await backend.aclose()
        return answered

    return asyncio.run(run())


def evaluate(cursors: Sequence[Case], roots: dict[str, Path], model: Path,
             triggers: Sequence[Trigger] = ("automatic", "invoked"),
             settings: dict[str, Any] | None = None, attribution: bool = True,
             stages: Sequence[str] | None = None,
             checkpoint: Callable[[dict[str, Any]], None] | None = None,
             bare_answers: Callable[[], dict[str, Answer]] | None = None,
             opened: Opened | None = None) -> dict[str, Any]:
    """Run the cases through the pipeline and the bare model; the figures and the losses.

    `checkpoint` gets the result without the losses before the attribution starts.
    `bare_answers` gives (by case key) the bare model's answers from an earlier run of
    the same cases and settings (it is deterministic), to reuse; it is called after the
    pipeline's runs, so a run still going on beside this one may have written them by then.
    """
    settings = settings or {}
    parsed, errors = parse_settings(settings)
    if errors:
        raise SystemExit("; ".join(errors))
    answers = run_pipeline(cursors, roots, model, triggers, settings, opened=opened)
    print(f"{len(cursors)} cases; bare model ...", flush=True)
    answered = bare_run(cursors, model, parsed,
                        bare_answers() if bare_answers is not None else {})
    rows = [Row(cursor, b, {t: answers[(cursor.key, t)] for t in triggers})
            for cursor, b in zip(cursors, answered, strict=True)]
    result: dict[str, Any] = {
        "figures": table(rows, triggers), "losses": [], "loss_stages": {},
        "rules": rule_lift(rows, parsed.completion),
        "rows": [{"cursor": asdict(r.cursor) | {"text": None}, "bare": asdict(r.bare),
                  "ours": {t: asdict(a) for t, a in r.ours.items()},
                  "scores": {k: asdict(s) for k, s in r.scores().items()}} for r in rows]}
    if checkpoint is not None:
        checkpoint(result)
    if attribution:
        losses = attribute(rows, roots, model, settings, parsed.completion, stages, opened)
        result |= {"losses": [asdict(loss) for loss in losses],
                   "loss_stages": _stage_counts(losses)}
    return result


def _stage_counts(losses: Sequence[Loss]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for loss in losses:
        counts[loss.stage] += 1
    return dict(counts)


def unrelated(sources: Sequence[Source], roots: dict[str, Path], count: int) -> Opened:
    """For each package, `count` source files of the other packages to keep open: those of
    its own language first (they share its keywords and idioms), in a fixed order."""
    if count <= 0:
        return {}
    files = {s.folder: sorted(source_files(roots[s.folder]),
                              key=lambda p: hashlib.sha256(str(p.name).encode()).hexdigest())
             for s in sources}
    opened: Opened = {}
    for source in sources:
        others = sorted((s for s in sources if s.folder != source.folder),
                        key=lambda s: (s.language != source.language, s.folder))
        pool = [path for other in others for path in files[other.folder]]
        opened[source.folder] = [(path, language_id_for(path.name)) for path in pool[:count]]
    return opened


def source_lift(rows: Sequence[Row], roots: dict[str, Path], model: Path,
                settings: dict[str, Any], opened: Opened | None = None) -> dict[str, Any]:
    """Each source switched off alone, on the (case, trigger) pairs whose prompt held one of
    its snippets; the others' prompts would not change. Per source: the pairs, exact and
    similarity with and without it, and how many pairs it wins and loses."""
    base = parse_settings(settings)[0].context.source_names
    lifts: dict[str, Any] = {}
    for name in CONTEXT_SOURCES:
        if name not in base:
            continue
        off = _merge(settings, {"context": {"sources": ",".join(
            n for n in CONTEXT_SOURCES if n in base and n != name)}})
        with_it: list[tuple[Case, Trigger, Answer]] = [
            (row.cursor, trigger, answer) for row in rows
            for trigger, answer in row.ours.items() if name in answer.sources]
        entry: dict[str, Any] = {"pairs": len(with_it), "cases": []}
        for trigger in TRIGGERS:
            todo = [(c, a) for c, t, a in with_it if t == trigger]
            if not todo:
                continue
            print(f"lift: {name} off, {trigger}, {len(todo)} cases", flush=True)
            again = run_pipeline([c for c, _ in todo], roots, model, (trigger,), off,
                                 verbose=False, opened=opened)
            for cursor, answer in todo:
                without = again[(cursor.key, trigger)]
                on, gone = (score(a.text, cursor.expected, cursor.kind)
                            for a in (answer, without))
                entry["cases"].append({"case": cursor.key, "language": cursor.language,
                                       "trigger": trigger, "with": answer.text,
                                       "without": without.text, "exact_with": on.exact,
                                       "exact_without": gone.exact,
                                       "similarity_with": on.similarity,
                                       "similarity_without": gone.similarity})
        cases = entry["cases"]
        entry |= {
            "exact_with": sum(c["exact_with"] for c in cases),
            "exact_without": sum(c["exact_without"] for c in cases),
            "similarity_with": _mean([c["similarity_with"] for c in cases]),
            "similarity_without": _mean([c["similarity_without"] for c in cases]),
            "won": sum(c["exact_with"] and not c["exact_without"] for c in cases),
            "lost": sum(c["exact_without"] and not c["exact_with"] for c in cases),
            "pairs_total": sum(len(row.ours) for row in rows)}
        lifts[name] = entry
    return lifts


def print_lift(lifts: dict[str, Any]) -> None:
    """One line per source: where it put snippets, and what switching it off changes."""
    print(f"\n{'source':12} {'pairs':>11} {'exact with':>10} {'without':>8} {'won':>4} "
          f"{'lost':>4} {'sim with':>8} {'without':>8}")
    for name, f in lifts.items():
        sim_with = "-" if f["similarity_with"] is None else f"{f['similarity_with']:.3f}"
        sim_without = "-" if f["similarity_without"] is None \
            else f"{f['similarity_without']:.3f}"
        print(f"{name:12} {f['pairs']:4}/{f['pairs_total']:<6} {f['exact_with']:10} "
              f"{f['exact_without']:8} {f['won']:4} {f['lost']:4} {sim_with:>8} "
              f"{sim_without:>8}")


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
    parser_.add_argument("--open-unrelated", type=int, default=0, metavar="N",
                         help="keep N files of other packages open beside the cases")
    parser_.add_argument("--lift-from", type=Path, metavar="RUN.json",
                         help="measure each context source's lift on an earlier run's cases "
                         "(same cases and settings): writes the lift table to --json")
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
        cursors = cases(sources, roots, languages, args.lines, args.blocks, args.split,
                        args.seed)
        out = args.json or Path("bench/out") / f"fim-{args.split}.json"
        out.parent.mkdir(parents=True, exist_ok=True)

        def checkpoint(partial: dict[str, Any]) -> None:
            print_table(partial["figures"], triggers)
            out.write_text(json.dumps(partial, indent=1) + "\n")

        stages = [] if args.stages == "none" else args.stages.split(",") if args.stages \
            else None
        opened = unrelated(sources, roots, args.open_unrelated)
        if args.lift_from:
            earlier = json.loads(args.lift_from.read_text())
            by_key = {c.key: c for c in cursors}
            rows = [Row(by_key[_key(r["cursor"])], _answer(r["bare"]),
                        {t: _answer(a) for t, a in r["ours"].items()})
                    for r in earlier["rows"] if _key(r["cursor"]) in by_key]
            lifts = source_lift(rows, roots, model, args.settings, opened)
            print_lift(lifts)
            out.write_text(json.dumps({"lift": lifts, "from": str(args.lift_from),
                                       "settings": args.settings}, indent=1) + "\n")
            return
        if args.attribute_from:
            # Only the attribution, for the lost cursors of an earlier run of the same cursors.
            earlier = json.loads(args.attribute_from.read_text())
            by_key = {c.key: c for c in cursors}
            rows = [Row(by_key[_key(r["cursor"])], _answer(r["bare"]),
                        {t: _answer(a) for t, a in r["ours"].items()})
                    for r in earlier["rows"] if _key(r["cursor"]) in by_key]
            completion = parse_settings(args.settings)[0].completion
            losses = attribute(rows, roots, model, args.settings, completion, stages, opened)
            earlier |= {"losses": [asdict(loss) for loss in losses],
                        "loss_stages": _stage_counts(losses)}
            print_losses(losses)
            out.write_text(json.dumps(earlier, indent=1) + "\n")
            return

        def reused() -> dict[str, Answer]:
            if not args.bare_from or not args.bare_from.exists():
                return {}
            earlier = json.loads(args.bare_from.read_text())
            return {_key(row["cursor"]): _answer(row["bare"]) for row in earlier["rows"]}

        result = evaluate(cursors, roots, model, triggers, args.settings,
                          not args.no_attribution, stages, checkpoint, reused, opened)
    print_table(result["figures"], triggers)
    print_rule_lift(result["rules"])
    print_losses([Loss(**loss) for loss in result["losses"]])
    result |= {"model": model.name, "split": args.split, "seed": args.seed,
               "settings": args.settings, "open_unrelated": args.open_unrelated,
               "wall_s": round(time.perf_counter() - started, 1),
               "sources": [asdict(s) for s in sources]}
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"\nwrote {out}")


def _answer(found: dict[str, Any]) -> Answer:
    """An answer from its JSON form."""
    fields: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v
                              for k, v in found.items()}
    return Answer(**fields)


def _key(cursor: dict[str, Any]) -> str:
    """A cursor's key from its JSON form."""
    return f"{cursor['package']}/{cursor['path']}:{cursor['line'] + 1}:{cursor['kind']}"


def _spread(cursors: list[Case], wanted: int) -> list[Case]:
    """`wanted` cursors taken round-robin over packages (each package's own order kept)."""
    by_package: dict[str, list[Case]] = defaultdict(list)
    for cursor in cursors:
        by_package[cursor.package].append(cursor)
    queues = [list(group) for _, group in sorted(by_package.items())]
    taken: list[Case] = []
    while len(taken) < wanted and any(queues):
        for queue in queues:
            if queue and len(taken) < wanted:
                taken.append(queue.pop(0))
    return taken


if __name__ == "__main__":
    main()
