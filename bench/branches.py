"""How well does the first-line branch choice pick? The branches of bench/fim's line holes.

At each line hole of `bench.fim`'s cases (the same packages, split and seed), the bare
model's plain prompt (`completion.baseline.plain_prompt`, the pipeline's budget) and the
lines that start with each of its `--count` likeliest first tokens, each followed greedily
to its end (`LlamaCppBackend.line_branches`). Each rule below then picks one line, offline,
and is scored by exact match of that line against the hole's:

- `greedy`: the likeliest first token's line (plain greedy decoding);
- `likeliest of K`: the likeliest whole line of the first K branches, as the backend's
  `first_line_branches` weighs them (a line that writes the line below again is passed
  over, closing brackets excepted; a blank or comment line never replaces the greedy line);
- `... + end xW`: the same, each line's log probability plus W times the log probability
  that the answer ends right after it (the line read as the whole middle);
- `... per token`: the same, by the mean log probability per token;
- `... + read on xW`: the same, each line's log probability plus W times the log
  probability of the line and the code after the cursor (`completion.pipeline.lookahead`:
  the next two lines with text) read left to right after the prefix, as plain code: what
  the backend does with `GenerationParams.lookahead` (W = `LOOKAHEAD_WEIGHT`);
- `any of K`: the share where one of the first K lines is the hole's (what a perfect
  choice among them would reach).

The prompt is the bare model's, not the pipeline's (they differ only where the pipeline
cuts its window at line ends, or adds context): the table measures the choice, not the
prompt. `bench.fim --bare-from` compares the pipeline as a whole.

    .venv/bin/python -m bench.branches [--split tune] [--lines 20] [--count 8]
        [--languages python,go] [--json bench/out/branches-tune.json]
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.fim import LANGUAGES, SOURCES, cases, prepared
from lspilot.completion.baseline import plain_prompt
from lspilot.completion.cursor import cursor_at
from lspilot.completion.holes import Case
from lspilot.completion.pipeline import lookahead
from lspilot.completion.postprocess import line_below
from lspilot.completion.scoring import score
from lspilot.context.languages import LANGUAGES as RECORDS
from lspilot.models.backends.llama_cpp import LOOKAHEAD_WEIGHT, Branch, LlamaCppBackend
from lspilot.models.slot import store_loader
from lspilot.models.store import ModelStore, default_home
from lspilot.settings import Settings


@dataclass(frozen=True)
class Place:
    """A line hole and the branches at it."""

    key: str
    language: str
    expected: str
    below: str | None
    """The line a first line must not write again (`line_below`), if any."""
    branches: tuple[Branch, ...]


Weigh = Callable[[Branch], float]
Rule = Callable[[Place], str]


def _first(branch: Branch) -> str:
    return branch.text.split("\n", 1)[0].strip()


def choose(place: Place, count: int, weigh: Weigh) -> str:
    """The first line the backend's choice keeps among the first `count` branches."""
    comments = RECORDS.comment_starts(place.language)
    best: Branch | None = None
    for branch in place.branches[:count]:
        line = _first(branch)
        if place.below is not None and line == place.below.strip():
            continue
        if best is None or (weigh(branch) > weigh(best) and line and
                            not line.startswith(comments)):
            best = branch
    return _first(best if best is not None else place.branches[0])


def _rule(count: int, weigh: Weigh) -> Rule:
    return lambda place: choose(place, count, weigh)


def _with_end(weight: float) -> Weigh:
    return lambda branch: branch.log_prob + weight * branch.end_log_prob


def _read_on(weight: float) -> Weigh:
    return lambda branch: branch.log_prob + weight * (branch.read_log_prob or 0.0)


def _any_of(count: int) -> Rule:
    return lambda place: place.expected if any(
        _first(b) == place.expected for b in place.branches[:count]) else ""


def rules(count: int) -> dict[str, Rule]:
    """The rules compared, by name, and what a perfect choice among the first K reaches."""
    found: dict[str, Rule] = {"greedy": lambda place: _first(place.branches[0])}
    for k in sorted({2, 3, 5, count} - {1}):
        if k > count:
            continue
        found[f"likeliest of {k}"] = _rule(k, lambda b: b.log_prob)
        for weight in (0.5, 1.0):
            found[f"likeliest of {k} + end x{weight}"] = _rule(k, _with_end(weight))
        for weight in (0.25, LOOKAHEAD_WEIGHT, 1.0):
            found[f"likeliest of {k} + read on x{weight}"] = _rule(k, _read_on(weight))
        found[f"likeliest of {k} per token"] = _rule(k, lambda b: b.log_prob / b.tokens)
    for k in sorted({1, 3, count}):
        found[f"any of {k}"] = _any_of(k)
    return found


def branch_places(backend: LlamaCppBackend, cursors: Sequence[Case], count: int,
                  settings: Settings) -> list[Place]:
    """The branches at each line hole of `cursors`."""
    places = []
    for number, cursor in enumerate(c for c in cursors if c.kind == "line"):
        text, offset = cursor.text, cursor.offset
        prompt = plain_prompt(backend, text[:offset], text[offset:], settings.completion)
        branches = tuple(backend.line_branches(prompt, count, lookahead(text[offset:])))
        places.append(Place(cursor.key, cursor.language, cursor.expected.strip(),
                            line_below(cursor_at(text, offset)), branches))
        hit = [i for i, b in enumerate(branches) if _first(b) == places[-1].expected]
        print(f"  {number + 1:4} {cursor.key:64} "
              f"{'branch ' + str(hit[0] + 1) if hit else 'none':9} "
              f"{_first(branches[0])[:40]!r}", flush=True)
    return places


def table(places: Sequence[Place], count: int) -> dict[str, dict[str, float]]:
    """Exact match (%) of each rule, and of a perfect choice, per language and overall."""
    languages = [lang for lang in LANGUAGES if any(p.language == lang for p in places)]
    columns = {**{lang: [p for p in places if p.language == lang] for lang in languages},
               "all": list(places)}
    result: dict[str, dict[str, float]] = {}
    for name, rule in rules(count).items():
        result[name] = {
            column: round(100 * sum(score(rule(p), p.expected, "line").exact for p in chosen)
                          / len(chosen), 1) if chosen else 0.0
            for column, chosen in columns.items()}
    return result


def print_table(figures: dict[str, dict[str, float]]) -> None:
    columns = list(next(iter(figures.values())))
    print(f"\n{'rule':32}" + "".join(f"{c[:10]:>11}" for c in columns))
    for name, row in figures.items():
        print(f"{name:32}" + "".join(f"{row[c]:11.1f}" for c in columns))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--split", default="tune", choices=("tune", "report"))
    parser.add_argument("--lines", type=int, default=20, help="line holes per language")
    parser.add_argument("--languages", default=",".join(LANGUAGES))
    parser.add_argument("--count", type=int, default=8, help="first tokens branched on")
    parser.add_argument("--model", default=Settings().models.autocomplete)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--cache", type=Path, default=default_home() / "bench" / "fim")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    languages = args.languages.split(",")
    settings = Settings()
    store = ModelStore.from_env()
    backend = store_loader(store)(str(store.resolve(args.model)), settings, lambda *_: None)
    if not isinstance(backend, LlamaCppBackend):
        raise SystemExit("bench.branches needs an in-process (llama.cpp) model")
    sources = [s for s in SOURCES if s.language in languages]
    with prepared(sources, args.cache) as roots:
        cursors = cases(sources, roots, languages, args.lines, 0, args.split, args.seed)
        places = branch_places(backend, cursors, args.count, settings)
    figures = table(places, args.count)
    print_table(figures)
    out = args.json or Path("bench/out") / f"branches-{args.split}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"figures": figures, "places": [asdict(p) for p in places],
                               "split": args.split, "count": args.count,
                               "model": args.model}, indent=1) + "\n")
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
