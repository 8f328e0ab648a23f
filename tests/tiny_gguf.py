"""Build tiny but real GGUF models for tests, with the `gguf` package.

The model is a 2-layer qwen2 with a byte-level BPE vocabulary and the real special tokens
of a model family. Its attention and feed-forward weights are small random numbers; its
embeddings are one-hot and its output head is a successor table, so that whatever the
random layers do, greedy decoding follows a script: after `trigger` it emits `script`
character by character, then `end`. Every other token is followed by `end`. With
`loop=True` the script repeats forever (a model that never stops by itself).

The chain needs its tokens distinct, so a long script (a whole file, with repeated
characters) is cut into `pieces` that get vocabulary tokens of their own: `chat_model` builds
such an instruct model, with Qwen's chat template, that answers any chat with a scripted text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from gguf import GGUFWriter, TokenType

QWEN_CHAT_TEMPLATE = (Path(__file__).parent / "qwen2_5_chat_template.jinja").read_text()
"""Qwen2.5-Coder-Instruct's `tokenizer.chat_template`, copied verbatim from its GGUF
(sha256 cd8e9439f0570856fd70470bf8889ebd8b5d1107207f67a5efb46e342330527f)."""

QWEN_SPECIALS = (
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|fim_prefix|>", "<|fim_middle|>",
    "<|fim_suffix|>", "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>",
)
PLAIN_SPECIALS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")

# Each family's special tokens as its real vocabulary spells them (FIM, repo-level, end and
# look-alike tokens); the first is the end-of-generation token.
FAMILY_SPECIALS: dict[str, tuple[str, ...]] = {
    "qwen2.5-coder": QWEN_SPECIALS,
    "codegemma": ("<eos>", "<bos>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>",
                  "<|file_separator|>", "<start_of_turn>", "<end_of_turn>"),
    "codellama": ("</s>", "<s>", "▁<PRE>", "▁<SUF>", "▁<MID>", "▁<EOT>"),
    "deepseek-coder": ("<｜end▁of▁sentence｜>", "<｜begin▁of▁sentence｜>",  # noqa: RUF001
                       "<｜fim▁hole｜>", "<｜fim▁begin｜>", "<｜fim▁end｜>",  # noqa: RUF001
                       "<|EOT|>"),
    "starcoder": ("<|endoftext|>", "<fim_prefix>", "<fim_middle>", "<fim_suffix>", "<fim_pad>",
                  "<filename>", "<gh_stars>", "<issue_start>", "<reponame>"),
    "starcoder2": ("<|endoftext|>", "<fim_prefix>", "<fim_middle>", "<fim_suffix>",
                   "<fim_pad>", "<repo_name>", "<file_sep>", "<issue_start>"),
    "codestral": ("</s>", "<s>", "[INST]", "[/INST]", "[PREFIX]", "[MIDDLE]", "[SUFFIX]"),
}


def _byte_symbols() -> list[str]:
    """GPT-2's printable stand-ins for the 256 byte values, in byte order."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    table = {b: chr(b) for b in keep}
    extra = 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + extra)
            extra += 1
    return [table[b] for b in range(256)]


BYTES = _byte_symbols()


@dataclass(frozen=True)
class TinyModel:
    """What the tiny model says and which special tokens its vocabulary has."""

    script: str = "a + b"
    trigger: str = "<|fim_middle|>"
    end: str = "<|endoftext|>"
    loop: bool = False
    specials: tuple[str, ...] = QWEN_SPECIALS
    eos: str = "<|endoftext|>"
    seed: int = 0
    user_defined: tuple[str, ...] = ()
    """Specials typed USER_DEFINED instead of CONTROL (as some real conversions type them)."""
    normal: tuple[str, ...] = ()
    """Specials typed NORMAL (codellama's FIM pieces in sentencepiece-converted GGUFs)."""
    add_bos: bool = False
    """Whether the GGUF asks for a BOS token (the `eos` token doubles as BOS)."""
    merges: tuple[str, ...] = field(default=("Ġ Ġ", "Ġ +", "Ġ b"))
    pieces: tuple[str, ...] = ()
    """The script cut into texts that each get a vocabulary token of their own (unless one
    exists), in order; no merge leads to them, so the tokenizer never produces them."""
    chat_template: str | None = None
    """`tokenizer.chat_template` metadata."""
    also: tuple[tuple[str, str, float], ...] = ()
    """More successors, as (token, next token, weight) texts of single vocabulary tokens: the
    script's successor has weight 1, and a token's logit for a successor is about 20 times
    the weight (one-hot embeddings after RMS norm), so a weight of 0.9 beside 1 makes the
    next token about 8 times less likely. Forks and ties for tests of decoding."""


ASSISTANT_HEADER_END = BYTES[ord("\n")]
"""The last token of ChatML's `<|im_start|>assistant\n`, where a chat answer starts."""


def chat_model(answer: str, *, loop: bool = False) -> TinyModel:
    """A qwen2.5-coder-vocabulary instruct model with Qwen's chat template that answers any
    chat with `answer` (line by line, one token per line), then `<|im_end|>`."""
    return TinyModel(script=answer, trigger=ASSISTANT_HEADER_END, end="<|im_end|>",
                     eos="<|im_end|>", loop=loop, pieces=cut(answer),
                     chat_template=QWEN_CHAT_TEMPLATE)


def cut(text: str) -> tuple[str, ...]:
    """`text` in distinct pieces of whole lines: a line seen before (or a lone byte, such as
    an empty line) joins the next ones until the piece is new."""
    pieces: list[str] = []
    piece = ""
    for line in text.splitlines(keepends=True):
        piece += line
        if len(piece.encode("utf-8")) > 1 and piece not in pieces:
            pieces.append(piece)
            piece = ""
    if piece:
        if not pieces or pieces[-1] + piece in pieces:
            raise ValueError(f"cannot cut {text!r} into distinct pieces")
        pieces[-1] += piece
    return tuple(pieces)


def _spelled(text: str) -> str:
    """`text` as a byte-level BPE vocabulary spells it."""
    return "".join(BYTES[b] for b in text.encode("utf-8"))


def _vocab(model: TinyModel) -> tuple[list[str], list[int]]:
    tokens = list(BYTES)
    types = [TokenType.NORMAL] * len(tokens)
    for merge in model.merges:
        tokens.append(merge.replace(" ", ""))
        types.append(TokenType.NORMAL)
    for special in model.specials:
        tokens.append(special)
        if special in model.user_defined:
            types.append(TokenType.USER_DEFINED)
        elif special in model.normal:
            types.append(TokenType.NORMAL)
        else:
            types.append(TokenType.CONTROL)
    known = set(tokens)
    for piece in dict.fromkeys(_spelled(p) for p in model.pieces):
        if piece not in known:
            tokens.append(piece)
            types.append(TokenType.NORMAL)
    return tokens, [int(t) for t in types]


def _script_tokens(model: TinyModel, ids: dict[str, int]) -> list[int]:
    """The script as tokens: its pieces, or else the longest vocabulary match first (as BPE
    merges would)."""
    if model.pieces:
        if "".join(model.pieces) != model.script:
            raise ValueError("the pieces must make up the script")
        chain = [ids[_spelled(p)] for p in model.pieces]
    else:
        symbols = _spelled(model.script)
        longest = max(len(t) for t in ids)
        chain = []
        while symbols:
            size = next(n for n in range(min(longest, len(symbols)), 0, -1)
                        if symbols[:n] in ids)
            chain.append(ids[symbols[:size]])
            symbols = symbols[size:]
    if len(set(chain)) != len(chain) or ids[model.trigger] in chain:
        raise ValueError(f"script tokens must be distinct to form a chain: {model.script!r}")
    return chain


def build(path: Path, model: TinyModel = TinyModel()) -> Path:
    """Write the model to `path` and return it."""
    tokens, types = _vocab(model)
    ids = {t: i for i, t in enumerate(tokens)}
    n_vocab = len(tokens)
    n_head, n_head_kv, n_ff, n_layer = 4, 2, 64, 2
    # One-hot embeddings need n_embd >= n_vocab; 384 unless the pieces need more.
    n_embd = max(384, -(-n_vocab // 128) * 128)
    head_dim = n_embd // n_head
    rng = np.random.default_rng(model.seed)

    successor = {i: ids[model.end] for i in range(n_vocab)}
    chain = _script_tokens(model, ids)
    previous = ids[model.trigger]
    for token in chain:
        successor[previous] = token
        previous = token
    successor[previous] = chain[0] if model.loop else ids[model.end]

    embed = np.zeros((n_vocab, n_embd), dtype=np.float32)
    embed[np.arange(n_vocab), np.arange(n_vocab)] = 1.0
    head = np.zeros((n_vocab, n_embd), dtype=np.float32)
    for token, after in successor.items():
        head[after, token] = 1.0
    def token_id(text: str) -> int:
        return ids[text] if text in ids else ids[_spelled(text)]

    for before, after_text, weight in model.also:
        head[token_id(after_text), token_id(before)] = weight

    def noise(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape) * 0.002).astype(np.float32)

    writer = GGUFWriter(str(path), "qwen2")
    writer.add_name("lspilot-tiny")
    writer.add_context_length(4096)
    writer.add_embedding_length(n_embd)
    writer.add_block_count(n_layer)
    writer.add_feed_forward_length(n_ff)
    writer.add_head_count(n_head)
    writer.add_head_count_kv(n_head_kv)
    writer.add_rope_freq_base(1_000_000.0)
    writer.add_layer_norm_rms_eps(1e-6)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("qwen2")
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(list(model.merges))
    writer.add_eos_token_id(ids[model.eos])
    writer.add_bos_token_id(ids[model.eos])
    writer.add_pad_token_id(ids[model.eos])
    writer.add_add_bos_token(model.add_bos)
    if model.chat_template is not None:
        writer.add_chat_template(model.chat_template)

    writer.add_tensor("token_embd.weight", embed)
    writer.add_tensor("output_norm.weight", np.ones(n_embd, dtype=np.float32))
    writer.add_tensor("output.weight", head)
    kv = n_head_kv * head_dim
    for layer in range(n_layer):
        p = f"blk.{layer}."
        writer.add_tensor(p + "attn_norm.weight", np.ones(n_embd, dtype=np.float32))
        writer.add_tensor(p + "attn_q.weight", noise(n_embd, n_embd))
        writer.add_tensor(p + "attn_q.bias", noise(n_embd))
        writer.add_tensor(p + "attn_k.weight", noise(kv, n_embd))
        writer.add_tensor(p + "attn_k.bias", noise(kv))
        writer.add_tensor(p + "attn_v.weight", noise(kv, n_embd))
        writer.add_tensor(p + "attn_v.bias", noise(kv))
        writer.add_tensor(p + "attn_output.weight", noise(n_embd, n_embd))
        writer.add_tensor(p + "ffn_norm.weight", np.ones(n_embd, dtype=np.float32))
        writer.add_tensor(p + "ffn_gate.weight", noise(n_ff, n_embd))
        writer.add_tensor(p + "ffn_up.weight", noise(n_ff, n_embd))
        writer.add_tensor(p + "ffn_down.weight", noise(n_embd, n_ff))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
