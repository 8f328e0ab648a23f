"""Fill-in-the-middle templates: one frozen record per model family, in one registry.

A model's family is read from its own vocabulary: a template applies when every one of its
special tokens exists in the vocabulary as a control token. An unknown family is an error,
never a silent default.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal


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
class FimTemplate:
    """How one model family spells a fill-in-the-middle prompt."""

    family: str
    prefix: str
    suffix: str
    middle: str
    stop: tuple[str, ...]
    """Tokens that end a completion (besides the model's end-of-generation tokens)."""
    order: Literal["psm", "spm"] = "psm"
    """Prefix-suffix-middle, or suffix-prefix-middle (codestral)."""
    extra: tuple[str, ...] = ()
    """Further tokens the family's vocabulary has; they tell look-alike families apart."""
    source: str = ""

    @property
    def signature(self) -> tuple[str, ...]:
        """Every token that must exist in a vocabulary for this template to apply."""
        return (self.prefix, self.suffix, self.middle, *self.extra)


# The token spellings below are copied from each family's tokenizer config (see `source`).
TEMPLATES: tuple[FimTemplate, ...] = (
    FimTemplate(
        family="qwen2.5-coder",
        prefix="<|fim_prefix|>", suffix="<|fim_suffix|>", middle="<|fim_middle|>",
        stop=("<|endoftext|>", "<|fim_pad|>", "<|file_sep|>", "<|repo_name|>", "<|im_end|>",
              "<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>"),
        extra=("<|fim_pad|>", "<|repo_name|>", "<|file_sep|>"),
        source="https://github.com/QwenLM/Qwen2.5-Coder#3-file-level-code-completion-fill-in-the-middle",
    ),
)


def render(template: FimTemplate, prefix: str, suffix: str) -> Prompt:
    """The FIM prompt for a cursor between `prefix` and `suffix`."""
    pre, suf, mid = Special(template.prefix), Special(template.suffix), Special(template.middle)
    if template.order == "spm":
        return Prompt(_compact((suf, suffix, pre, prefix, mid)))
    return Prompt(_compact((pre, prefix, suf, suffix, mid)))


def _compact(segments: Iterable[Segment]) -> tuple[Segment, ...]:
    return tuple(s for s in segments if s != "")


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
