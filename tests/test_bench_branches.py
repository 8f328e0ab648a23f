"""bench/branches.py on the tiny GGUF: the branches at real line holes, and the offline rules.

The tiny model answers `a + b` at every cursor, through the real llama.cpp; the holes come
from the package's sampler, as bench.fim's do.
"""

from __future__ import annotations

from pathlib import Path

from bench.branches import Place, branch_places, choose, table
from lspilot.completion.holes import sample
from lspilot.models.backends.base import EmbeddedConfig, LlamaCppSettings, make_backend
from lspilot.models.backends.llama_cpp import Branch, LlamaCppBackend
from lspilot.settings import Settings


def test_branches_at_two_holes_and_the_rules_that_choose_among_them(
        tmp_path: Path, tiny_model: Path) -> None:
    root = tmp_path / "pkg"
    root.mkdir()
    (root / "add.py").write_text("def add(a, b):\n    a + b\n    a + b\n")
    cursors = sample(root, 2, 0)
    backend = make_backend(EmbeddedConfig("tiny", tiny_model,
                                          LlamaCppSettings(context_size=512, threads=1)))
    assert isinstance(backend, LlamaCppBackend)
    first, second = sorted(branch_places(backend, cursors, 3, Settings()), key=lambda p: p.key)
    assert [len(p.branches) for p in (first, second)] == [3, 3]
    assert all(p.branches[0].text.startswith("a + b") for p in (first, second))
    # At the first hole the line below is `a + b`: the backend's choice passes over it, as
    # it does in the pipeline (tests/test_bench_fim.py loses that cursor the same way).
    assert (first.below, second.below) == ("a + b", None)
    figures = table([first, second], 3)
    assert figures["greedy"] == {"python": 100.0, "all": 100.0}
    assert figures["likeliest of 3"]["all"] == 50.0
    assert figures["any of 1"]["all"] == 100.0
    # Every line was read on with the code below it (`a + b` at the first hole, nothing at
    # the second), after the prompt's prefix.
    assert all(b.read_log_prob is not None and b.read_log_prob < 0
               for p in (first, second) for b in p.branches)
    assert "likeliest of 3 + read on x0.5" in figures


def line(text: str, log_prob: float, end: float = -5.0, tokens: int = 3) -> Branch:
    return Branch(text + "\n", log_prob, tokens, end)


PLACE = Place("k", "python", "x = 1", None, (
    line("return x", -1.0),               # greedy, and the likeliest line
    line("# set x", -0.5),                # likelier, but a comment never replaces greedy
    line("x = 1", -1.5, end=-0.1),        # the line as the whole middle
    line("", -0.2),                       # a blank line never replaces greedy
))
READ = Place("k", "python", "x = 1", None, (
    Branch("return x\n", -1.0, 3, -5.0, read_log_prob=-9.0),
    Branch("x = 1\n", -1.5, 3, -5.0, read_log_prob=-6.0),  # leads into the code below
))


def test_the_offline_choice_weighs_as_the_backend_does() -> None:
    assert choose(PLACE, 4, lambda b: b.log_prob) == "return x"
    assert choose(PLACE, 4, lambda b: b.log_prob + b.end_log_prob) == "x = 1"
    assert choose(PLACE, 2, lambda b: b.log_prob + b.end_log_prob) == "return x"
    assert choose(READ, 2, lambda b: b.log_prob) == "return x"
    assert choose(READ, 2, lambda b: b.log_prob + 0.5 * (b.read_log_prob or 0)) == "x = 1"
    below = Place("k", "python", "x = 1", "return x", PLACE.branches)
    assert choose(below, 4, lambda b: b.log_prob) == "# set x"  # the first one kept stays
