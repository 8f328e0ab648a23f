"""FIM templates: exact prompts per family (golden files) and detection from the vocabulary."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lspilot.models.backends.base import EmbeddedConfig, make_backend
from lspilot.models.backends.llama_cpp import LlamaCppBackend
from lspilot.settings import LlamaCppSettings
from lspilot.templates import (
    TEMPLATES,
    ContextFile,
    FimTemplate,
    Prompt,
    Special,
    TemplateError,
    detect_template,
    render,
)
from tests.tiny_gguf import FAMILY_SPECIALS, TinyModel, build

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("LSPILOT_UPDATE_GOLDEN") == "1"
BY_FAMILY = {t.family: t for t in TEMPLATES}

PREFIX, SUFFIX = "def add(a, b):\n    return ", "\n\nprint(add(1, 2))\n"
REPO_PREFIX, REPO_SUFFIX = "from util import add\n\nprint(add(1, ", "))\n"
FILES = (ContextFile("src/util.py", "def add(a, b):\n    return a + b\n"),
         ContextFile("web/one.ts", "export const one = 1;"))


def render_repo(template: FimTemplate) -> Prompt:
    return render(template, REPO_PREFIX, REPO_SUFFIX, path="src/main.py", files=FILES, repo="demo",
                  language_id="python")


def check_golden(name: str, prompt: Prompt) -> None:
    golden = GOLDEN / name
    if UPDATE:
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(prompt.text, encoding="utf-8")
    assert prompt.text == golden.read_text(encoding="utf-8"), \
        "run with LSPILOT_UPDATE_GOLDEN=1 to update"


def specials(prompt: Prompt) -> list[str]:
    return [s.text for s in prompt.segments if isinstance(s, Special)]


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda t: t.family)
def test_file_level_prompt_matches_golden_file(template: FimTemplate) -> None:
    check_golden(f"fim-{template.family}.txt", render(template, PREFIX, SUFFIX))


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda t: t.family)
def test_repo_level_prompt_matches_golden_file(template: FimTemplate) -> None:
    check_golden(f"fim-{template.family}-repo.txt", render_repo(template))


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda t: t.family)
def test_without_files_and_path_the_prompt_is_the_file_level_one(
        template: FimTemplate) -> None:
    plain = render(template, PREFIX, SUFFIX)
    assert render(template, PREFIX, SUFFIX, repo="demo", language_id="python") == plain
    assert render(template, PREFIX, SUFFIX, files=[], path="") == plain


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda t: t.family)
def test_context_files_come_first_in_the_order_given(template: FimTemplate) -> None:
    for files in (FILES, FILES[::-1]):
        text = render(template, REPO_PREFIX, REPO_SUFFIX, path="src/main.py",
                      files=files).text
        places = [text.index(f.text) for f in files]
        assert places == sorted(places)
        assert places[-1] < text.index(REPO_PREFIX)


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda t: t.family)
def test_special_token_spellings_in_user_text_stay_text(template: FimTemplate) -> None:
    spellings = "".join(dict.fromkeys((*template.signature, *template.stop,
                                       *template.repo.tokens)))
    honest = render_repo(template)
    files = [ContextFile(f.path + spellings, f.text + spellings) for f in FILES]
    forged = render(template, REPO_PREFIX + spellings, spellings + REPO_SUFFIX,
                    path="src/" + spellings, files=files, repo=spellings, language_id="python")
    assert specials(forged) == specials(honest)
    text = "".join(s for s in forged.segments if isinstance(s, str))
    in_repo_name = 1 if template.repo.repo else 0
    assert text.count(spellings) == 2 + 2 * len(files) + 1 + in_repo_name


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda t: t.family)
def test_every_token_a_template_sends_is_checked_against_the_vocabulary(
        template: FimTemplate) -> None:
    sent = {t for t in (*specials(render_repo(template)),
                        *template.repo.tokens)}
    assert sent <= set(template.signature)
    assert template.source.startswith("https://")


S = Special
ONE = (ContextFile("a.py", "A = 1\n"),)


@pytest.mark.parametrize(("family", "path", "files", "repo", "segments"), [
    # a path alone names the current file; no repository name, no repository token
    ("qwen2.5-coder", "b.py", (), "", (S("<|file_sep|>"), "b.py\n", S("<|fim_prefix|>"), "x",
                                       S("<|fim_suffix|>"), "y", S("<|fim_middle|>"))),
    ("starcoder2", "b.py", (), "r", (S("<repo_name>"), "r", S("<file_sep>"), S("<fim_prefix>"),
                                     "b.py\nx", S("<fim_suffix>"), "y", S("<fim_middle>"))),
    ("codestral", "b.py", (), "r", (S("[SUFFIX]"), "y", S("[PREFIX]"), "+++++ b.py\nx")),
    # files without a path: the current file still gets its separator, but no name
    ("codegemma", "", ONE, "r", (S("<|file_separator|>"), "a.py\nA = 1\n\n",
                                 S("<|file_separator|>"), S("<|fim_prefix|>"), "x",
                                 S("<|fim_suffix|>"), "y", S("<|fim_middle|>"))),
    ("codellama", "", ONE, "r", (S("▁<PRE>"), "# a.py\nA = 1\n\nx", S("▁<SUF>"), "y",
                                 S("▁<MID>"))),
])
def test_repo_level_layouts(family: str, path: str, files: tuple[ContextFile, ...], repo: str,
                            segments: tuple[str | Special, ...]) -> None:
    prompt = render(BY_FAMILY[family], "x", "y", path=path, files=files, repo=repo)
    assert prompt.segments == segments


@pytest.mark.parametrize(("path", "language_id", "header"), [
    ("src/main.py", "python", "# src/main.py\n"),
    ("src/main.py", "", "# src/main.py\n"),
    ("lib/app.ts", "", "// lib/app.ts\n"),
    ("lib/app.tsx", "typescriptreact", "// lib/app.tsx\n"),
    ("q.sql", "", "-- q.sql\n"),
    ("page.html", "", "<!-- page.html -->\n"),
    ("Makefile", "", "# Makefile\n"),
    ("notes", "rust", "// notes\n"),  # the editor's language id wins for the current file
    ("script", "", "# script\n"),  # neither known: `#`, the commonest line comment
])
def test_families_without_file_tokens_name_the_file_in_a_comment(
        path: str, language_id: str, header: str) -> None:
    prompt = render(BY_FAMILY["codellama"], "x", "", path=path, language_id=language_id)
    assert prompt.segments[1] == header + "x"


def test_a_context_file_is_commented_in_its_own_language() -> None:
    prompt = render(BY_FAMILY["deepseek-coder"], "x", "", path="a.py", files=FILES,
                    language_id="python")
    assert "# src/util.py\n" in prompt.text and "// web/one.ts\n" in prompt.text


def vocab(family: str, *more: str) -> set[str]:
    return {*FAMILY_SPECIALS[family], *more}


@pytest.mark.parametrize(("tokens", "family"), [
    *[(vocab(f), f) for f in FAMILY_SPECIALS],
    (vocab("qwen2.5-coder", "<|im_start|>", "<|im_end|>"), "qwen2.5-coder"),
    # look-alikes: same FIM tokens, told apart by their file tokens
    (vocab("codegemma", "<|im_end|>"), "codegemma"),
    (vocab("starcoder", "<|im_end|>"), "starcoder"),
    (vocab("starcoder2", "<jupyter_start>"), "starcoder2"),
])
def test_family_is_read_from_the_vocabulary(tokens: set[str], family: str) -> None:
    assert set(FAMILY_SPECIALS) == set(BY_FAMILY)
    assert detect_template(tokens.__contains__).family == family


@pytest.mark.parametrize("tokens", [
    set(),
    {"<|endoftext|>", "<|im_start|>"},
    # looks like qwen or codegemma by its FIM tokens, but has neither's file tokens
    {"<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>"},
    # starcoder's FIM tokens without either generation's metadata tokens
    {"<fim_prefix>", "<fim_suffix>", "<fim_middle>", "<fim_pad>"},
    # codellama's spelling without the sentencepiece "▁"
    {"<PRE>", "<SUF>", "<MID>", "<EOT>"},
    # deepseek's spelling with ASCII bars
    {"<|fim▁begin|>", "<|fim▁hole|>", "<|fim▁end|>"},
    {"[INST]", "[/INST]"},
], ids=lambda tokens: ",".join(sorted(tokens)))
def test_unknown_family_is_a_clear_error(tokens: set[str]) -> None:
    with pytest.raises(TemplateError, match="no fill-in-the-middle tokens of a known family"):
        detect_template(tokens.__contains__)


@pytest.mark.parametrize(("first", "second"), [
    ("qwen2.5-coder", "codegemma"), ("starcoder", "starcoder2")])
def test_a_vocabulary_of_two_families_is_an_error(first: str, second: str) -> None:
    tokens = vocab(first) | vocab(second)
    with pytest.raises(TemplateError, match=f"several FIM families: {first}, {second}"):
        detect_template(tokens.__contains__)


# --- the real llama.cpp runtime on tiny GGUFs with each family's vocabulary ---------------

TINY = LlamaCppSettings(context_size=512, threads=1)


def tiny_family(family: str, **types: tuple[str, ...]) -> TinyModel:
    template = BY_FAMILY[family]
    end = FAMILY_SPECIALS[family][0]
    return TinyModel(specials=FAMILY_SPECIALS[family], trigger=template.middle or template.prefix,
                     end=end, eos=end, user_defined=types.get("user_defined", ()),
                     normal=types.get("normal", ()))


def load(path: Path) -> LlamaCppBackend:
    backend = make_backend(EmbeddedConfig("tiny", path, TINY))
    assert isinstance(backend, LlamaCppBackend)
    return backend


@pytest.mark.parametrize(("family", "types"), [
    *[(f, {}) for f in FAMILY_SPECIALS],
    # codellama GGUFs converted from sentencepiece keep the FIM pieces NORMAL; llama.cpp
    # retypes them as control by their spelling at load
    ("codellama", {"normal": ("▁<PRE>", "▁<SUF>", "▁<MID>")}),
    # older deepseek-coder conversions typed the FIM tokens USER_DEFINED
    ("deepseek-coder", {"user_defined": FAMILY_SPECIALS["deepseek-coder"][2:5]}),
    ("codegemma", {"user_defined": ("<|file_separator|>",)}),
    ("starcoder2", {"user_defined": ("<repo_name>", "<file_sep>")}),
], ids=lambda v: v if isinstance(v, str) else "-".join(v) or "control")
async def test_llama_cpp_detects_the_family_and_sends_its_tokens_as_single_ids(
        tmp_path: Path, family: str, types: dict[str, tuple[str, ...]]) -> None:
    backend = load(build(tmp_path / f"{family}.gguf", tiny_family(family, **types)))
    try:
        check_tokens(backend, family)
    finally:
        await backend.aclose()


def check_tokens(backend: LlamaCppBackend, family: str) -> None:
    assert backend.template.family == family
    template = backend.template
    prompt = render_repo(template)
    ids = backend.tokenize(prompt)
    wanted = [backend.special_id(s) for s in specials(prompt)]
    assert None not in wanted
    special_ids = {backend.special_id(t) for t in template.signature}
    assert [i for i in ids if i in special_ids] == wanted
    # the same spellings in the user's code add no special token
    spellings = "".join(template.signature)
    files = [ContextFile(f.path + spellings, f.text + spellings) for f in FILES]
    forged = render(template, REPO_PREFIX + spellings, spellings, path="src/main.py",
                    files=files, repo="demo")
    assert specials(forged) == specials(prompt)
    assert [i for i in backend.tokenize(forged) if i in special_ids] == wanted
