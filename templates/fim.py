"""Fill-in-the-middle templates: one frozen record per model family, in one registry.

A model's family is read from its own vocabulary: a template applies when every one of its
special tokens exists in the vocabulary as a special (control or user-defined) token. An
unknown family is an error, never a silent default.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from lspilot.templates.comments import language_of, path_comment


class TemplateError(Exception):
    """No template fits the model (or more than one does)."""


@dataclass(frozen=True)
class Special:
    """A special token in a prompt: sent as its token id, never parsed out of user text."""

    text: str


Segment = str | Special


@dataclass(frozen=True)
class Prompt:
    """A rendered prompt: plain text segments (tokenized as text) and special tokens."""

    segments: tuple[Segment, ...]

    @property
    def text(self) -> str:
        """The prompt as one string, special tokens written out (for display and HTTP)."""
        return "".join(s.text if isinstance(s, Special) else s for s in self.segments)


@dataclass(frozen=True)
class ContextFile:
    """Code from another file of the workspace, shown to the model before the current file."""

    path: str
    """Workspace-relative, "/"-separated."""
    text: str
    """The whole file, or snippets of it joined."""


@dataclass(frozen=True)
class RepoLayout:
    """How a family lays out the repository name and the other files before the cursor.

    Every part that is a special token is sent as a token id; paths and code stay text.
    """

    repo: str = ""
    """Special token before the repository name; "" when the family has none.

    Left out, with the name, when the caller knows no repository name.
    """
    repo_end: str = ""
    """Text after the repository name."""
    file: str = ""
    """Special token that opens each file; "" when there is none.

    The current file gets it too (after the context files), even when its path is unknown.
    """
    header: str = ""
    """Text naming a file, `{path}` replaced; "" for a line comment in the file's language."""
    file_end: str = "\n"
    """Text after the code of each context file."""
    files_in_prefix: bool = True
    """Context files go inside the prefix section (after the prefix token), not before it."""
    name_in_prefix: bool = True
    """The current file's name goes inside the prefix section, not before the prefix token."""

    @property
    def tokens(self) -> tuple[str, ...]:
        """The special tokens this layout sends."""
        return tuple(t for t in (self.repo, self.file) if t)


@dataclass(frozen=True)
class FimTemplate:
    """How one model family spells a fill-in-the-middle prompt."""

    family: str
    prefix: str
    suffix: str
    middle: str
    """Empty for a family that generates the middle straight after the prefix (codestral)."""
    stop: tuple[str, ...]
    """Tokens that end a completion (besides the model's end-of-generation tokens)."""
    order: Literal["psm", "spm"] = "psm"
    """Prefix-suffix-middle, or suffix-prefix-middle (codestral)."""
    extra: tuple[str, ...] = ()
    """Further tokens the family's vocabulary has; they tell look-alike families apart."""
    repo: RepoLayout = field(default_factory=RepoLayout)
    """The repo-level layout: other files and the current file's path before the cursor."""
    source: str = ""

    @property
    def signature(self) -> tuple[str, ...]:
        """Every token that must exist in a vocabulary for this template to apply."""
        return tuple(t for t in (self.prefix, self.suffix, self.middle, *self.extra) if t)


# The token spellings below are copied from each family's tokenizer config (see `source`),
# as llama.cpp spells them in a GGUF vocabulary (src/llama-vocab.cpp, FIM_PRE/SUF/MID).
TEMPLATES: tuple[FimTemplate, ...] = (
    FimTemplate(
        family="qwen2.5-coder",
        prefix="<|fim_prefix|>", suffix="<|fim_suffix|>", middle="<|fim_middle|>",
        stop=("<|endoftext|>", "<|fim_pad|>", "<|file_sep|>", "<|repo_name|>", "<|im_end|>",
              "<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>"),
        extra=("<|fim_pad|>", "<|repo_name|>", "<|file_sep|>"),
        # README "repository level code infilling": the path alone on the <|file_sep|> line.
        repo=RepoLayout(repo="<|repo_name|>", repo_end="\n", file="<|file_sep|>",
                        header="{path}\n", file_end="\n", files_in_prefix=False,
                        name_in_prefix=False),
        source="https://github.com/QwenLM/Qwen2.5-Coder#3-file-level-code-completion-fill-in-the-middle",
    ),
    FimTemplate(
        family="codegemma",
        prefix="<|fim_prefix|>", suffix="<|fim_suffix|>", middle="<|fim_middle|>",
        stop=("<|file_separator|>", "<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>",
              "<eos>", "<end_of_turn>"),
        # Qwen's look-alike: same FIM tokens, but <|file_separator|> instead of <|file_sep|>.
        extra=("<|file_separator|>",),
        repo=RepoLayout(file="<|file_separator|>", header="{path}\n", file_end="\n",
                        files_in_prefix=False, name_in_prefix=False),
        source="https://ai.google.dev/gemma/docs/codegemma/prompt-structure",
    ),
    FimTemplate(
        family="codellama",
        # SentencePiece pieces with a leading "▁" (U+2581), ids 32007-32010; llama.cpp's vocab
        # loader recognises this spelling and marks the three FIM pieces as control tokens.
        prefix="▁<PRE>", suffix="▁<SUF>", middle="▁<MID>",
        stop=("▁<EOT>", "</s>", "▁<PRE>", "▁<SUF>", "▁<MID>"),
        source="https://github.com/meta-llama/codellama/blob/main/llama/tokenizer.py",
    ),
    FimTemplate(
        family="deepseek-coder",
        # Full-width bars (U+FF5C) and "▁" (U+2581), as in the model's tokenizer.json:
        # the look-alike ASCII spelling is not a token there (hence the noqa).
        prefix="<｜fim▁begin｜>", suffix="<｜fim▁hole｜>",  # noqa: RUF001
        middle="<｜fim▁end｜>",  # noqa: RUF001
        stop=("<｜end▁of▁sentence｜>", "<|EOT|>", "<｜fim▁begin｜>",  # noqa: RUF001
              "<｜fim▁hole｜>", "<｜fim▁end｜>"),  # noqa: RUF001
        source="https://github.com/deepseek-ai/DeepSeek-Coder#2-code-insertion",
    ),
    FimTemplate(
        family="starcoder",
        prefix="<fim_prefix>", suffix="<fim_suffix>", middle="<fim_middle>",
        stop=("<|endoftext|>", "<fim_prefix>", "<fim_suffix>", "<fim_middle>", "<fim_pad>",
              "<filename>", "<reponame>", "<gh_stars>"),
        # StarCoder (1) has per-file metadata tokens but no multi-file format: comment headers.
        extra=("<fim_pad>", "<filename>", "<gh_stars>"),
        source="https://huggingface.co/bigcode/starcoder/blob/main/special_tokens_map.json",
    ),
    FimTemplate(
        family="starcoder2",
        prefix="<fim_prefix>", suffix="<fim_suffix>", middle="<fim_middle>",
        stop=("<|endoftext|>", "<fim_prefix>", "<fim_suffix>", "<fim_middle>", "<fim_pad>",
              "<file_sep>", "<repo_name>"),
        extra=("<fim_pad>", "<repo_name>", "<file_sep>"),
        # StarCoder 2 paper, section 5: `<repo_name>r<file_sep>p0\nc0<file_sep><fim_prefix>p1\n…`
        repo=RepoLayout(repo="<repo_name>", file="<file_sep>", header="{path}\n",
                        file_end="", files_in_prefix=False, name_in_prefix=True),
        source="https://arxiv.org/abs/2402.19173",
    ),
    FimTemplate(
        family="codestral",
        # mistral-common's encode_fim: `<s>[SUFFIX]suffix[PREFIX]prefix`, no middle token.
        prefix="[PREFIX]", suffix="[SUFFIX]", middle="", order="spm",
        stop=("</s>", "[PREFIX]", "[SUFFIX]", "[MIDDLE]"),
        # Continue's codestral multi-file template: `+++++ path` headers inside the prefix.
        repo=RepoLayout(header="+++++ {path}\n", file_end="\n\n"),
        source="https://github.com/mistralai/cookbook/blob/main/concept-deep-dive/tokenization/chat_templates.md",
    ),
)


def render(template: FimTemplate, prefix: str, suffix: str, *, path: str = "",
           files: Sequence[ContextFile] = (), repo: str = "",
           language_id: str = "") -> Prompt:
    """The FIM prompt for a cursor between `prefix` and `suffix`, after repo-level context.

    Without `files` and `path` this is the file-level prompt. Context files come first, in
    the order given (the caller orders them for KV-cache reuse).
    """
    before: list[Segment] = []
    inside: list[Segment] = []
    if files or path:
        before, inside = _repo_context(template.repo, path, files, repo, language_id)
    pre, suf = Special(template.prefix), Special(template.suffix)
    mid = (Special(template.middle),) if template.middle else ()
    if template.order == "spm":
        return Prompt(_compact((*before, suf, suffix, pre, *inside, prefix, *mid)))
    return Prompt(_compact((*before, pre, *inside, prefix, suf, suffix, *mid)))


def _repo_context(layout: RepoLayout, path: str, files: Sequence[ContextFile], repo: str,
                  language_id: str) -> tuple[list[Segment], list[Segment]]:
    """What goes before the FIM tokens, and what goes inside the prefix before the code."""
    before: list[Segment] = []
    inside: list[Segment] = []
    if layout.repo and repo:
        before += [Special(layout.repo), repo + layout.repo_end]
    opener: list[Segment] = [Special(layout.file)] if layout.file else []
    for context in files:
        # Another file's language is its own; the current language only when unknown.
        name = _name(layout, context.path, language_of(context.path) or language_id)
        (inside if layout.files_in_prefix else before).extend(
            [*opener, name + context.text + layout.file_end])
    before += opener
    name = _name(layout, path, language_id or language_of(path)) if path else ""
    (inside if layout.name_in_prefix else before).append(name)
    return before, inside


def _name(layout: RepoLayout, path: str, language_id: str) -> str:
    """The text naming a file: the layout's header, or a line comment of its language."""
    if layout.header:
        return layout.header.replace("{path}", path)
    return path_comment(path, language_id) + "\n"


def _compact(segments: Iterable[Segment]) -> tuple[Segment, ...]:
    """Drop empty text and join neighbouring text, so text tokenizes as one piece."""
    out: list[Segment] = []
    for segment in segments:
        if segment == "":
            continue
        if isinstance(segment, str) and out and isinstance(out[-1], str):
            out[-1] += segment
        else:
            out.append(segment)
    return tuple(out)


def detect_template(is_control_token: Callable[[str], bool],
                    templates: Iterable[FimTemplate] = TEMPLATES) -> FimTemplate:
    """The one template whose special tokens all exist in the model's vocabulary."""
    candidates = list(templates)
    matches = [t for t in candidates if all(is_control_token(tok) for tok in t.signature)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        known = ", ".join(t.family for t in candidates)
        raise TemplateError(
            "this model's vocabulary has no fill-in-the-middle tokens of a known family "
            f"({known}); it cannot be used for inline completion")
    raise TemplateError("the model's vocabulary fits several FIM families: "
                        + ", ".join(t.family for t in matches))
