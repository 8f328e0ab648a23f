"""The embedded backend on tiny real GGUFs run by the real llama.cpp."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import pytest

from lspilot.completion.pipeline import CompletionRequest, complete, lookahead
from lspilot.models.backends.base import (
    BackendError,
    EmbeddedConfig,
    GenerationParams,
    GenerationStats,
    make_backend,
)
from lspilot.models.backends.llama_cpp import LlamaCppBackend
from lspilot.settings import CompletionSettings, LlamaCppSettings
from lspilot.templates import render
from tests.conftest import at_cursor
from tests.polling import until
from tests.tiny_gguf import PLAIN_SPECIALS, TinyModel, build

SMALL = LlamaCppSettings(context_size=512, threads=1)


def load(path: Path, settings: LlamaCppSettings = SMALL) -> LlamaCppBackend:
    backend = make_backend(EmbeddedConfig("tiny", path, settings))
    assert isinstance(backend, LlamaCppBackend)
    return backend


async def collect(backend: LlamaCppBackend, prefix: str, suffix: str, max_tokens: int = 32,
                  stats: GenerationStats | None = None, branches: int = 1,
                  first_line_not: str | None = None) -> str:
    prompt = render(backend.template, prefix, suffix)
    params = GenerationParams(max_tokens, first_line_branches=branches,
                              first_line_not=first_line_not)
    pieces = [p async for p in backend.stream(prompt, params, stats or GenerationStats())]
    return "".join(pieces)


def test_template_is_detected_from_the_gguf_vocabulary(tiny_model: Path) -> None:
    backend = load(tiny_model)
    assert backend.template.family == "qwen2.5-coder"
    assert backend.special_id("<|fim_middle|>") is not None
    assert backend.special_id("<|not_a_token|>") is None


def test_a_model_without_fim_tokens_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    path = build(tmp_path / "chat.gguf", TinyModel(specials=PLAIN_SPECIALS, trigger="<|im_end|>"))
    with pytest.raises(BackendError, match="no fill-in-the-middle tokens of a known family"):
        load(path)


def test_a_file_that_is_not_a_model_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "broken.gguf"
    path.write_bytes(b"GGUF" + b"\0" * 64)
    with pytest.raises(BackendError, match="could not load"):
        load(path)


async def test_generation_follows_the_model_and_stops_at_its_end_token(tiny_model: Path) -> None:
    backend = load(tiny_model)
    stats = GenerationStats()
    assert await collect(backend, "def add(a, b):\n    return ", "\n", stats=stats) == "a + b"
    assert stats.generated_tokens == 3  # "a", " +", " b"; <|endoftext|> is not shown
    assert stats.prompt_tokens > 10


async def test_special_stop_tokens_end_generation_and_never_leak(tmp_path: Path) -> None:
    path = build(tmp_path / "sep.gguf", TinyModel(script="ok", end="<|file_sep|>"))
    assert await collect(load(path), "x = ", "") == "ok"


async def test_a_token_longer_than_32_bytes_is_shown_whole(tmp_path: Path) -> None:
    # llama-cpp-python's detokenize reads a token into 32 bytes and drops longer ones;
    # Qwen2.5's vocabulary has 240 of them (runs of spaces, `//-----` rules).
    rule = "#" + "-" * 40
    path = build(tmp_path / "long.gguf", TinyModel(script=rule + "\n", pieces=(rule, "\n")))
    assert await collect(load(path), "x = 1\n", "") == rule + "\n"


async def test_user_text_that_spells_a_special_token_stays_text(tiny_model: Path) -> None:
    backend = load(tiny_model)
    # If "<|fim_middle|>" in the user's code became the special token, the prompt would
    # hold two of them; it must stay plain text.
    prompt = render(backend.template, "s = '<|fim_middle|>'\n", "")
    ids = backend.tokenize(prompt)
    assert ids.count(backend.special_id("<|fim_middle|>")) == 1


@pytest.mark.parametrize("add_bos", [False, True])
async def test_bos_leads_the_prompt_only_when_the_gguf_asks_for_it(tmp_path: Path,
                                                                  add_bos: bool) -> None:
    backend = load(build(tmp_path / "bos.gguf", TinyModel(add_bos=add_bos)))
    ids = backend.tokenize(render(backend.template, "x = ", ""))
    begin = [backend.special_id("<|endoftext|>")] if add_bos else []
    assert ids[:len(begin) + 1] == [*begin, backend.special_id("<|fim_prefix|>")]
    assert await collect(backend, "x = ", "") == "a + b"


async def test_max_tokens_bounds_a_model_that_never_stops(looping_model: Path) -> None:
    text = await collect(load(looping_model), "a", "", max_tokens=7)
    assert text == "xyzxyzx"


async def test_closing_the_stream_stops_generation_between_tokens(looping_model: Path) -> None:
    backend = load(looping_model, LlamaCppSettings(context_size=4096, threads=1))
    stats = GenerationStats()
    allowed = 4000  # about a second of the tiny model: far more than the consumer needs to stop
    stream = backend.stream(render(backend.template, "a", ""), GenerationParams(allowed), stats)
    first = await anext(stream)
    await stream.aclose()
    # The worker stops at its next look at the flag: the next run starts right away and the
    # stopped run produced a fraction of the tokens it was allowed.
    assert await collect(backend, "b", "", max_tokens=3) == "xyz"
    assert first == "x" and stats.generated_tokens < allowed // 4


async def test_cancelling_the_consumer_stops_generation(looping_model: Path) -> None:
    backend = load(looping_model)
    stats = GenerationStats()

    async def consume() -> None:
        async for _ in backend.stream(render(backend.template, "a", ""),
                                      GenerationParams(400), stats):
            await asyncio.sleep(0)

    task = asyncio.create_task(consume())
    await until(lambda: stats.generated_tokens, lambda tokens: tokens >= 2,
                what="two tokens", interval=0.001)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await collect(backend, "b", "", max_tokens=1)  # runs after the stopped worker is idle
    assert stats.generated_tokens < 400  # not run to the end (how far: thread scheduling)


def forked_model(y: str = "y") -> TinyModel:
    """After the prompt, `x` is about 8 times likelier than `y`; but `x` goes on through two
    four- and five-way ties (about -2.9 in all), where `y` ends its line for sure (about
    -2.1), then the answer goes on with `z`."""
    ties = [("x", t, 1.0) for t in "bcd"]
    ties += [(t, u, 1.0) for t in "abcd" for u in "efgh" if (t, u) != ("a", "e")]
    return TinyModel(script="xae\n", also=(("<|fim_middle|>", y, 0.9), (y, "\n", 1.5),
                                           ("\n", "z", 1.5), *ties))


@pytest.mark.parametrize(("branches", "expected"), [
    (1, "x"),       # plain greedy: the likelier first token
    (2, "y\nz"),    # the likelier first line, and the answer goes on after it
    (5, "y\nz"),    # more branches than worth following: the rest are pruned
])
async def test_the_first_line_is_the_likeliest_of_the_branches(tmp_path: Path, branches: int,
                                                               expected: str) -> None:
    backend = load(build(tmp_path / "fork.gguf", forked_model()))
    text = await collect(backend, "v = ", "", max_tokens=16, branches=branches)
    assert text.startswith(expected) if branches == 1 else text == expected


@pytest.mark.parametrize(("branches", "first_line_not", "expected"), [
    (2, "y", "x"),      # the likeliest line writes the line below again: the next one wins
    (2, "  y ", "x"),   # compared without the whitespace around it
    (2, "z", "y"),      # another line: the likeliest line stays
    (1, "y", "x"),      # plain greedy never weighed y
])
async def test_a_first_line_that_repeats_the_line_below_is_passed_over(
        tmp_path: Path, branches: int, first_line_not: str, expected: str) -> None:
    backend = load(build(tmp_path / "fork.gguf", forked_model()))
    text = await collect(backend, "v = ", "", max_tokens=16, branches=branches,
                         first_line_not=first_line_not)
    assert text[0] == expected


@pytest.mark.parametrize(("comment_starts", "expected"), [
    (("#",), "x"),          # the likelier line is a comment: the greedy line stays
    (("//", "/*"), "#"),    # `#` starts no comment there (`#include`, `#[derive]`)
])
async def test_a_comment_line_never_replaces_the_greedy_line(
        tmp_path: Path, comment_starts: tuple[str, ...], expected: str) -> None:
    backend = load(build(tmp_path / "fork.gguf", forked_model("#")))
    prompt = render(backend.template, "v = ", "")
    params = GenerationParams(16, first_line_branches=3, comment_starts=comment_starts)
    text = "".join([p async for p in backend.stream(prompt, params, GenerationStats())])
    assert text[0] == expected


def lookahead_model() -> TinyModel:
    """In the FIM prompt `x` leads (the script), `y` comes second; read as plain code after
    the prefix `q`, `y` is far likelier (`q` is followed by `y`)."""
    return TinyModel(script="x\n", also=(("<|fim_middle|>", "y", 0.5), ("y", "\n", 2.0),
                                          ("q", "y", 3.0)))


@pytest.mark.parametrize(("lookahead", "branches", "first"), [
    (None, 2, "x"),     # weighed by their own log probability: the FIM prompt's line
    ("\nz", 2, "y"),    # read on with the code below, left to right: the other line
    ("", 2, "y"),       # nothing below: the line alone, read left to right
    ("\nz", 1, "x"),    # plain greedy reads nothing
])
async def test_first_lines_are_read_on_with_the_code_below(
        tmp_path: Path, lookahead: str | None, branches: int, first: str) -> None:
    backend = load(build(tmp_path / "look.gguf", lookahead_model()))
    prompt = render(backend.template, "q", "\nz")
    params = GenerationParams(8, first_line_branches=branches, lookahead=lookahead)
    for _ in range(2):  # the second time from the KV cache the reading left behind
        stats = GenerationStats()
        text = "".join([p async for p in backend.stream(prompt, params, stats)])
        assert text[0] == first
    # What the reading evaluated counts as weighed, never as written.
    assert stats.generated_tokens == len(text.encode())
    # The reading put the FIM prompt's state back: plain greedy after it answers as it does
    # on a freshly loaded model.
    fresh = load(build(tmp_path / "look.gguf", lookahead_model()))
    answers = ["".join([p async for p in model.stream(prompt, GenerationParams(8),
                                                       GenerationStats())])
               for model in (backend, fresh)]
    assert answers[0] == answers[1] and answers[0].startswith("x")
    # To the last digit: the layers' small random weights see what the KV cache holds.
    assert backend.line_branches(prompt, 2) == fresh.line_branches(prompt, 2)


async def test_line_branches_show_what_the_branch_choice_weighs(tmp_path: Path) -> None:
    # bench/branches reads the branches whole: the same lines and sums the choice weighs.
    backend = load(build(tmp_path / "fork.gguf", forked_model()))
    prompt = render(backend.template, "v = ", "")
    x, y = backend.line_branches(prompt, 2)
    assert x.text.startswith("x") and x.text.endswith("\n") and x.tokens in (3, 4)
    assert (y.text, y.tokens) == ("y\n", 2)
    assert x.log_prob < y.log_prob < 0  # the likelier first token, the less likely line
    assert y.end_log_prob < math.log(0.5)  # after y's line the answer goes on with z
    chosen = await collect(backend, "v = ", "", max_tokens=16, branches=2)
    assert chosen.startswith(max((x, y), key=lambda b: b.log_prob).text)
    [greedy] = backend.line_branches(prompt, 1)
    assert greedy == x  # asked again, the prompt in the KV cache: the same line


async def test_branches_follow_each_line_to_its_end_and_no_further(tmp_path: Path) -> None:
    # Generation counts only what it wrote, not the branches it weighed; asked again (the
    # prompt now in the KV cache, a branch's tokens after it) it writes the same answer.
    backend = load(build(tmp_path / "fork.gguf", forked_model()))
    answers = []
    for _ in range(2):
        stats = GenerationStats()
        answers.append(await collect(backend, "v = ", "", max_tokens=16, stats=stats,
                                     branches=3))
        assert stats.generated_tokens == 3  # y, the line break, z
        # x's line (x and a token of each tie; which one decides whether it ends after two
        # or three), then y's (y): counted, written or not
        assert 3 <= stats.weighed_tokens <= 4
    assert answers == ["y\nz", "y\nz"]


@pytest.mark.parametrize(("typing", "first"), [(False, "y"), (True, "x")])
async def test_the_pipeline_weighs_first_lines_except_when_typing_on(tmp_path: Path,
                                                                     typing: bool,
                                                                     first: str) -> None:
    # A request typed on from the last one races the next keystroke: plain greedy there.
    backend = load(build(tmp_path / "fork.gguf", forked_model()))
    text, offset = at_cursor("v = █\n")
    completion = await complete(CompletionRequest("file:///t.py", text, offset, typing=typing),
                                backend, CompletionSettings(prompt_tokens=256))
    assert completion.raw.startswith(first)
    assert CompletionSettings().first_line_branches == 3


@pytest.mark.parametrize(("fixture", "first"), [
    ("v = 1\n█\ny\n", "x"),    # on a blank line, above `y`: writing `y` again is passed over
    ("v = 1\n█\nw\n", "y"),
    ("v = 1\n█\n)\n", "y"),    # ... but closers do come twice
])
async def test_the_pipeline_passes_over_a_first_line_that_repeats_the_next(
        tmp_path: Path, fixture: str, first: str) -> None:
    backend = load(build(tmp_path / "fork.gguf", forked_model()))
    text, offset = at_cursor(fixture)
    completion = await complete(CompletionRequest("file:///t.py", text, offset), backend,
                                CompletionSettings(prompt_tokens=256))
    assert completion.raw[0] == first


@pytest.mark.parametrize(("suffix", "expected"), [
    ("\nz\nw\nv", "\nz\nw"),            # the rest of the line, then two lines with text
    (")\n\n  z\n\n  w\n  v", ")\n\n  z\n\n  w"),  # blank lines between come along
    ("", ""),
    ("\n\n", "\n\n"),                  # no line with text: what there is
    ("tail", "tail"),
])
def test_the_lookahead_is_the_code_up_to_the_second_line_with_text(suffix: str,
                                                                   expected: str) -> None:
    assert lookahead(suffix) == expected


@pytest.mark.parametrize(("fixture", "typing", "first"), [
    ("q\n█\nz\n", False, "y"),   # a blank line: the branches are read on with `z`
    ("q\n█\nz\n", True, "x"),    # typed on: plain greedy
    ("v = q█\n", False, "x"),     # a line to finish: its own log probability (read on
                                   # after `q`, `y` would win)
])
async def test_the_pipeline_reads_first_lines_on_where_they_start_a_line(
        tmp_path: Path, fixture: str, typing: bool, first: str) -> None:
    model = TinyModel(script="x\n", also=(("<|fim_middle|>", "y", 0.5), ("y", "\n", 2.0),
                                          ("\n", "y", 3.0), ("q", "y", 3.0)))
    backend = load(build(tmp_path / "look-nl.gguf", model))
    text, offset = at_cursor(fixture)
    completion = await complete(CompletionRequest("file:///t.py", text, offset, typing=typing),
                                backend, CompletionSettings(prompt_tokens=256))
    assert completion.raw[0] == first


async def test_a_branch_that_never_ends_its_line_is_bounded_by_max_tokens(
        looping_model: Path) -> None:
    text = await collect(load(looping_model), "a", "", max_tokens=7, branches=3)
    assert text == "xyzxyzx"


async def test_kv_cache_reuses_the_common_prefix(tiny_model: Path) -> None:
    backend = load(tiny_model)
    prefix = "def add(a, b):\n" + "    # comment line\n" * 20 + "    return "
    first, second = GenerationStats(), GenerationStats()
    await collect(backend, prefix, "\n", stats=first)
    await collect(backend, prefix + "a", "\n", stats=second)
    assert first.evaluated_tokens == first.prompt_tokens
    assert second.evaluated_tokens < 10 < second.prompt_tokens


async def test_prompt_over_the_context_size_is_an_error(tiny_model: Path) -> None:
    backend = load(tiny_model)
    with pytest.raises(BackendError, match="exceed the context size"):
        await collect(backend, "x " * 600, "", max_tokens=8)


@pytest.mark.parametrize(("fixture", "expected"), [
    ("def add(a, b):\n    return █\n", "a + b"),
    # mid-line: one line, and the `)` right of the cursor is not repeated
    ("print(█)", "a + b"),
])
async def test_pipeline_end_to_end_on_the_tiny_model(tiny_model: Path, fixture: str,
                                                     expected: str) -> None:
    text, offset = at_cursor(fixture)
    completion = await complete(CompletionRequest("file:///t.py", text, offset),
                                load(tiny_model), CompletionSettings(prompt_tokens=256))
    assert completion.text == expected
    assert completion.prompt.text.startswith("<|fim_prefix|>")
    assert completion.prompt.text.endswith("<|fim_middle|>")


async def test_pipeline_keeps_the_prompt_within_its_token_budget(tiny_model: Path) -> None:
    backend = load(tiny_model)
    text = "".join(f"line_{i} = {i}\n" for i in range(400))
    settings = CompletionSettings(prompt_tokens=100)
    completion = await complete(CompletionRequest("file:///t.py", text, len(text) // 2),
                                backend, settings)
    assert completion.stats.prompt_tokens <= 100
    # the budget is used (a fresh window fills most of it, leaving room to type)
    assert completion.stats.prompt_tokens > 70


async def test_context_budget_left_unused_goes_to_the_files_window(tiny_model: Path) -> None:
    # A workspace that finds nothing: the file gets the whole budget, as with context off.
    from lspilot.context.workspace import Workspace
    from lspilot.settings import ContextSettings

    backend = load(tiny_model)
    text = "".join(f"line_{i} = {i}\n" for i in range(400))
    settings = CompletionSettings(prompt_tokens=100)
    workspace = Workspace(None, ContextSettings(), list)
    completion = await complete(CompletionRequest("file:///t.py", text, len(text) // 2),
                                backend, settings, context=workspace, context_tokens=50)
    assert completion.context is not None and completion.context.snippets == ()
    assert 70 < completion.stats.prompt_tokens <= 100


@pytest.mark.parametrize("line", [3, 200, 397])
async def test_context_that_finds_nothing_leaves_the_context_off_prompt(
        tiny_model: Path, line: int) -> None:
    # Room the window left unused (for typing, or a short prefix) is not spare a second
    # time: the window outgrew the context-off one, its suffix its share, and the model
    # completed worse than on the bare prompt (bench/fim).
    from lspilot.context.workspace import Workspace
    from lspilot.settings import ContextSettings

    backend = load(tiny_model)
    text = "".join(f"line_{i} = {i}\n" for i in range(400))
    offset = len("".join(text.splitlines(keepends=True)[:line]))
    settings = CompletionSettings(prompt_tokens=100)
    request = CompletionRequest("file:///t.py", text, offset)
    off = await complete(request, backend, settings)
    on = await complete(request, backend, settings,
                        context=Workspace(None, ContextSettings(), list), context_tokens=50)
    assert on.context is not None and on.context.snippets == ()
    assert on.prompt.text == off.prompt.text


async def test_kv_cache_reuse_can_be_switched_off(tiny_model: Path) -> None:
    backend = make_backend(EmbeddedConfig("tiny", tiny_model, LlamaCppSettings(
        context_size=512, threads=1, reuse_kv_cache=False)))
    assert isinstance(backend, LlamaCppBackend)
    prefix = "def add(a, b):\n" + "    # comment line\n" * 20 + "    return "
    second = GenerationStats()
    await collect(backend, prefix, "\n")
    await collect(backend, prefix + "a", "\n", stats=second)
    assert second.evaluated_tokens == second.prompt_tokens


async def test_moving_between_two_places_reuses_each_places_prompt_state(
        tiny_model: Path) -> None:
    backend = load(tiny_model)
    here = "def add(a, b):\n" + "    # here\n" * 40 + "    return "
    there = "class Other:\n" + "    # there\n" * 40 + "    value = "
    for text in (here, there):
        await collect(backend, text, "\n")
    back, again = GenerationStats(), GenerationStats()
    await collect(backend, here + "a", "\n", stats=back)
    await collect(backend, there + "b", "\n", stats=again)
    assert back.evaluated_tokens < 10 < back.prompt_tokens
    assert again.evaluated_tokens < 10 < again.prompt_tokens

