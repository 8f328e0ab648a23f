"""The embedded backend: llama-cpp-python in process.

llama.cpp is not thread-safe and a thread cannot be cancelled from outside, so each model
gets one worker thread; generation checks a stop flag between prompt chunks and between
tokens, and closing the async iterator sets that flag.
"""

from __future__ import annotations

import asyncio
import codecs
import ctypes
import ctypes.util
import dataclasses
import gc
import logging
import math
import os
import secrets
import threading
import time
from collections.abc import AsyncGenerator, Callable, Iterable, Iterator, Sequence, Set
from concurrent.futures import ThreadPoolExecutor
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

import jinja2
import llama_cpp
import numpy as np
from llama_cpp.llama_chat_format import Jinja2ChatFormatter

from lspilot.models.backends.base import (
    BackendError,
    EmbeddedConfig,
    GenerationParams,
    GenerationStats,
    Message,
)
from lspilot.models.backends.lookup import CopyLookup, Drafter
from lspilot.templates import FimTemplate, Prompt, Special, TemplateError, detect_template

log = logging.getLogger(__name__)

_SPECIAL_ATTRS = llama_cpp.LLAMA_TOKEN_ATTR_CONTROL | llama_cpp.LLAMA_TOKEN_ATTR_USER_DEFINED
_PREFILL_CHUNK = 64
"""Prompt tokens evaluated between two looks at the stop flag. A stopped request holds the
model until its chunk ends, delaying the next one; measured with the 0.5B on 2 cores: 64
tokens take 0.37 s at 174 tokens/s, 128 take 0.65 s at 198 tokens/s (and 32: 0.23 s, 140)."""
_BRANCH_TOKENS = 64
"""Most tokens `line_branches` follows a line for."""
_LOOKAHEAD_CHARS = 600
"""Most characters of a branch's line and the code after the cursor read left to right."""
LOOKAHEAD_WEIGHT = 0.5
"""How much reading a first line on with the code after the cursor weighs against the
line's own log probability."""

_SAVED_PLACES = 3
"""Cursor places whose prompt state (KV cache) is kept besides the live one."""

_COUNTED_CHARS, _COUNTS = 4096, 20_000
"""Token counts of texts up to this size are remembered, this many at most: the window's
lines and the context's snippets come back keystroke after keystroke."""

_DONE = object()


@dataclass(frozen=True)
class Branch:
    """A first line the model may write: one of its likeliest first tokens, followed greedily
    to the line's end (`LlamaCppBackend.line_branches`)."""

    text: str
    """The line as written: its line break included, when it has one."""
    log_prob: float
    """The summed log probabilities of its tokens: what `first_line_branches` weighs."""
    tokens: int
    end_log_prob: float
    """Log probability that the answer ends right after the line (0.0: the line ended it)."""
    read_log_prob: float | None = None
    """Log probability of the line and the lookahead read on after the prompt's prefix, left
    to right (`GenerationParams.lookahead`); None when no lookahead was given."""


@dataclass(frozen=True)
class _SavedPrompt:
    tokens: list[int]
    state: bytes


def _shared(a: Sequence[int], b: Sequence[int]) -> int:
    """Length of the common prefix of two token lists."""
    count = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        count += 1
    return count


class Stopped(Exception):
    """Generation was stopped from outside."""


class LlamaCppBackend:
    """A GGUF model loaded by llama-cpp-python, with its detected FIM template."""

    def __init__(self, name: str, llm: Any, template: FimTemplate,
                 reuse_kv_cache: bool = True) -> None:
        self._name = name
        self._reuse_kv_cache = reuse_kv_cache
        self._llm = llm
        self._template = template
        self._special_ids: dict[str, int] = {}
        self._counts: dict[str, int] = {}
        self._stop_ids = {i for t in template.stop if (i := self.special_id(t)) is not None}
        vocab = llm._model.vocab
        # A GGUF that asks for BOS (codellama, codestral, codegemma, deepseek-coder) was
        # trained with it before the FIM tokens: Meta's infilling_prompt_tokens and
        # mistral-common's encode_fim both start with it. Qwen's GGUFs ask for none.
        self._begin = ([int(llama_cpp.llama_vocab_bos(vocab))]
                       if llama_cpp.llama_vocab_get_add_bos(vocab) else [])
        spellings = {*template.signature, *template.stop, *template.repo.tokens}
        self._guarded = {i: t for t in spellings if (i := self.special_id(t)) is not None}
        self._special_attrs: dict[int, bool] = {}
        self._buffer = ctypes.create_string_buffer(256)
        self._chat_formatter: Jinja2ChatFormatter | None = None
        # Prompt-lookup decoding drafts only for chat (an edit copying code); completions
        # are too short to gain, so the draft model is set per request.
        self._draft: Drafter | None = llm.draft_model if isinstance(llm.draft_model, Drafter) \
            else None
        llm.draft_model = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llama")
        self._saved: list[_SavedPrompt] = []
        self._answer_ends: list[int] | None = None

    @classmethod
    def load(cls, config: EmbeddedConfig) -> LlamaCppBackend:
        """Load the model file and detect its template (blocking)."""
        settings = config.llama_cpp
        threads = settings.threads or os.cpu_count() or 1
        draft = CopyLookup(num_pred_tokens=config.draft) if config.draft else None
        try:
            # A draft is checked in one batch, which needs logits at every position; passed
            # explicitly, as llama-cpp-python sizes its logits array from this argument.
            llm = llama_cpp.Llama(
                model_path=str(config.path), n_ctx=settings.context_size,
                n_batch=settings.batch_size, n_threads=threads, n_threads_batch=threads,
                logits_all=draft is not None, draft_model=draft, verbose=False)
        except (ValueError, RuntimeError, OSError) as exc:
            raise BackendError(f"llama.cpp could not load {config.path}: {exc}") from exc
        except jinja2.TemplateError as exc:  # llama-cpp-python compiles the chat template
            raise BackendError(f"llama.cpp could not load {config.path}: its chat template "
                               f"does not parse: {exc}") from exc
        try:
            template = detect_template(lambda text: _special_id(llm, text) is not None)
        except TemplateError as exc:
            llm.close()
            raise BackendError(f"{config.path.name}: {exc}") from exc
        log.info("loaded %s (%s template, n_ctx=%d)", config.path, template.family, llm.n_ctx())
        return cls(config.name, llm, template, settings.reuse_kv_cache)

    @property
    def name(self) -> str:
        """What the user configured (catalog name or path)."""
        return self._name

    @property
    def template(self) -> FimTemplate:
        """The FIM template detected from the model's vocabulary."""
        return self._template

    @property
    def context_size(self) -> int:
        """Tokens the prompt and the completion share."""
        return int(self._llm.n_ctx())

    def special_id(self, text: str) -> int | None:
        """The id of special token `text`, or None when the vocabulary lacks it."""
        if text not in self._special_ids:
            found = _special_id(self._llm, text)
            if found is None:
                return None
            self._special_ids[text] = found
        return self._special_ids[text]

    def count_tokens(self, text: str) -> int:
        """Tokens `text` takes as plain text (remembered for short texts: lines, snippets)."""
        if len(text) > _COUNTED_CHARS:
            return len(self._tokenize_text(text))
        tokens = self._counts.get(text)
        if tokens is None:
            if len(self._counts) >= _COUNTS:
                self._counts.clear()
            tokens = self._counts[text] = len(self._tokenize_text(text))
        return tokens

    def count_prompt_tokens(self, prompt: Prompt) -> int:
        """Tokens the whole prompt takes, special tokens included."""
        return len(self.tokenize(prompt))

    def tokenize(self, prompt: Prompt) -> list[int]:
        """Token ids of a prompt: text segments never turn into special tokens."""
        ids: list[int] = list(self._begin)
        for segment in prompt.segments:
            if isinstance(segment, Special):
                token = self.special_id(segment.text)
                if token is None:
                    raise BackendError(f"special token {segment.text!r} is not in the vocabulary")
                ids.append(token)
            else:
                ids.extend(self._tokenize_text(segment))
        return ids

    def _tokenize_text(self, text: str) -> list[int]:
        if not text:
            return []
        ids = list(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))
        forged = [i for i in set(ids) if self._is_special(i)]
        if not forged:
            return ids
        # llama.cpp splits user-defined tokens out of plain text too (tokenizer_st_partition
        # in src/llama-vocab.cpp), so a template or chat token typed so would be forged from
        # the user's code: tokenize it in pieces that never hold a whole spelling.
        vocab = self._llm._model.vocab
        spellings = {llama_cpp.llama_vocab_get_text(vocab, i).decode("utf-8", "replace")
                     for i in forged} | set(self._guarded.values())
        return [i for piece in _broken(text, spellings) if piece
                for i in self._llm.tokenize(piece.encode("utf-8"), add_bos=False,
                                            special=False)]

    def _piece(self, token: int) -> bytes:
        """The bytes of a generated token, special tokens shown as nothing.

        llama-cpp-python's `detokenize` reads each token into 32 bytes and silently drops
        longer ones (_internals.LlamaModel.detokenize); Qwen2.5's vocabulary has 240 such
        tokens: runs of spaces (deep indentation) and `//-----...` comment rules.
        """
        size = len(self._buffer)
        written = llama_cpp.llama_token_to_piece(self._llm._model.vocab, token, self._buffer,
                                                 size, 0, False)
        if written < 0:  # the buffer was too small by this much: grow it and read again
            self._buffer = ctypes.create_string_buffer(-written)
            return self._piece(token)
        return self._buffer.raw[:written]

    def _is_special(self, token: int) -> bool:
        special = self._special_attrs.get(token)
        if special is None:
            attrs = llama_cpp.llama_vocab_get_attr(self._llm._model.vocab, token)
            special = self._special_attrs[token] = bool(attrs & _SPECIAL_ATTRS)
        return special

    def count_chat_tokens(self, messages: Sequence[Message]) -> int:
        """Tokens the rendered chat prompt takes (for budgets), special tokens included."""
        return len(self.chat_tokens(messages))

    def chat_tokens(self, messages: Sequence[Message]) -> list[int]:
        """Token ids of `messages` rendered by the model's own chat template (the GGUF's
        `tokenizer.chat_template`), ending with the assistant's header.

        The template renders each message's content as a mark; the template's own text is
        tokenized with special tokens and the contents as plain text, so that nothing a
        user wrote (an `<|im_end|>` in a file) can end a turn or open another.
        """
        formatter = self._formatter()
        nonce = secrets.token_hex(8)
        marks = [f"\x00{nonce}:{n}\x00" if m.content else "" for n, m in enumerate(messages)]
        shown: list[Any] = [{"role": m.role, "content": mark}
                            for m, mark in zip(messages, marks, strict=True)]
        try:
            rendered = str(formatter(messages=shown).prompt)
        except (ValueError, TypeError, jinja2.TemplateError) as exc:
            raise BackendError(f"the chat template of {self.name} failed: {exc}") from exc
        ids: list[int] = []
        rest = rendered
        for message, mark in zip(messages, marks, strict=True):
            if not mark:
                continue
            before, found, rest = rest.partition(mark)
            if not found or mark in rest:
                raise BackendError(f"the chat template of {self.name} does not show each "
                                   f"{message.role} message once")
            ids += self._tokenize_template(before)
            ids += self._tokenize_text(message.content)
        ids += self._tokenize_template(rest)
        if self._begin and ids[:1] != self._begin:
            ids[:0] = self._begin
        return ids

    def _tokenize_template(self, text: str) -> list[int]:
        return list(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)
                    ) if text else []

    def _formatter(self) -> Jinja2ChatFormatter:
        if self._chat_formatter is None:
            source = self._llm.metadata.get("tokenizer.chat_template")
            if not source:
                raise BackendError(f"{self.name} has no chat template (no "
                                   "tokenizer.chat_template in its GGUF): edits need an "
                                   "instruct model")
            vocab = self._llm._model.vocab

            def spelling(token: int) -> str:
                if token < 0:
                    return ""
                text: bytes = llama_cpp.llama_vocab_get_text(vocab, token)
                return text.decode("utf-8", "replace")

            # It parses: llama-cpp-python compiled it when the model loaded.
            self._chat_formatter = Jinja2ChatFormatter(
                source, eos_token=spelling(llama_cpp.llama_vocab_eos(vocab)),
                bos_token=spelling(llama_cpp.llama_vocab_bos(vocab)), add_generation_prompt=True)
        return self._chat_formatter

    async def stream(self, prompt: Prompt, params: GenerationParams,
                     stats: GenerationStats) -> AsyncGenerator[str, None]:
        """Text pieces of the completion; closing the iterator stops generation."""
        async with aclosing(self._stream(self.tokenize(prompt), params, stats,
                                         self._stop_ids, draft=False,
                                         reading=self._reading(prompt, params))) as pieces:
            async for piece in pieces:
                yield piece

    async def chat(self, messages: Sequence[Message], params: GenerationParams,
                   stats: GenerationStats) -> AsyncGenerator[str, None]:
        """Text pieces of the assistant's answer; closing the iterator stops generation.

        The answer ends at the model's end-of-generation tokens (`<|im_end|>`), not at the
        FIM template's stop tokens, which a chat answer may legitimately mention. A model
        loaded with `draft` drafts from the prompt (prompt-lookup decoding): an edit copies
        most of its answer from the files it was shown.
        """
        async with aclosing(self._stream(self.chat_tokens(messages), params, stats,
                                         frozenset(), draft=True)) as pieces:
            async for piece in pieces:
                yield piece

    async def _stream(self, tokens: list[int], params: GenerationParams, stats: GenerationStats,
                      stop_ids: Set[int], draft: bool, reading: Prompt | None = None
                      ) -> AsyncGenerator[str, None]:
        if len(tokens) + params.max_tokens > self.context_size:
            raise BackendError(f"prompt ({len(tokens)} tokens) + max_tokens ({params.max_tokens})"
                               f" exceed the context size ({self.context_size})")
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[object] = asyncio.Queue()
        stop = threading.Event()

        def emit(item: object) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, item)

        future = loop.run_in_executor(self._executor, self._generate, tokens, params, stats,
                                      stop_ids, draft, stop, emit, reading)
        try:
            while True:
                item = await queue.get()
                if item is _DONE:
                    break
                if isinstance(item, BaseException):
                    raise item
                assert isinstance(item, str)
                yield item
        finally:
            stop.set()
            if not future.done():
                # The worker notices the flag within one prompt chunk or token. Waiting for it
                # ends the stream when the model is free, with what it spent counted.
                future.add_done_callback(lambda f: f.exception())
                await asyncio.wait({future})
        await future

    def _generate(self, tokens: Sequence[int], params: GenerationParams, stats: GenerationStats,
                  stop_ids: Set[int], draft: bool, stop: threading.Event,
                  emit: Callable[[object], None], reading: Prompt | None = None) -> None:
        cpu = time.process_time()  # llama.cpp computes in threads of its own
        try:
            self._generate_tokens(tokens, params, stats, stop_ids, draft, stop, emit, reading)
        except Stopped:
            pass
        except Exception as exc:  # reported to the awaiting coroutine, never lost in a thread
            emit(BackendError(f"llama.cpp failed: {exc}"))
            return
        finally:
            stats.cpu_ms += (time.process_time() - cpu) * 1000
        emit(_DONE)

    def _generate_tokens(self, tokens: Sequence[int], params: GenerationParams,
                         stats: GenerationStats, stop_ids: Set[int], draft: bool,
                         stop: threading.Event, emit: Callable[[object], None],
                         reading: Prompt | None = None) -> None:
        started = time.perf_counter()
        drafter = self._draft if draft else None
        drafting = drafter is not None
        if drafter is not None:
            drafter.reset()  # a new answer: its copy starts afresh
        self._llm.draft_model = drafter
        try:
            self._run(tokens, params, stats, stop_ids, stop, emit, started, reading)
        finally:
            self._llm.draft_model = None
            if drafting:
                # The logits kept for each written token (600 kB each on Qwen) serve only
                # logprobs: a fresh, untouched array gives their memory back.
                self._llm.scores = np.ndarray(self._llm.scores.shape, dtype=np.single)
            if stats.prompt_ms:
                stats.generate_ms = (time.perf_counter() - started) * 1000 - stats.prompt_ms

    def _run(self, tokens: Sequence[int], params: GenerationParams, stats: GenerationStats,
             stop_ids: Set[int], stop: threading.Event, emit: Callable[[object], None],
             started: float, reading: Prompt | None = None) -> None:
        llm = self._llm
        stats.prompt_tokens = len(tokens)
        self._prefill(tokens[:-1], stop, stats)
        stats.evaluated_tokens += 1
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

        def written(token: int) -> bool:
            """Emit `token`; whether the answer goes on after it."""
            if stop.is_set():
                raise Stopped
            if self._ends_answer(token, stop_ids):
                return False
            stats.generated_tokens += 1
            if piece := decoder.decode(self._piece(token)):
                emit(piece)
            return stats.generated_tokens < params.max_tokens

        head: list[int] = []
        if params.first_line_branches > 1 and params.temperature == 0:
            head = self._first_line(tokens, params, stop_ids, stop, stats, started, reading)
        if all(written(token) for token in head):
            first = not head
            for token in llm.generate([*tokens, *head], temp=params.temperature,
                                      top_k=1 if params.temperature == 0 else 40,
                                      repeat_penalty=1.0):
                if first:
                    stats.prompt_ms = (time.perf_counter() - started) * 1000
                    first = False
                if not written(token):
                    break
        if tail := decoder.decode(b"", final=True):
            emit(tail)
        if self._reuse_kv_cache:
            self._save(tokens)

    def _ends_answer(self, token: int, stop_ids: Set[int]) -> bool:
        return token in stop_ids or bool(llama_cpp.llama_vocab_is_eog(self._llm._model.vocab,
                                                                      token))

    def _first_line(self, tokens: Sequence[int], params: GenerationParams,
                    stop_ids: Set[int], stop: threading.Event, stats: GenerationStats,
                    started: float, reading: Prompt | None = None) -> list[int]:
        """The likeliest of the first lines that start with the likeliest first tokens.

        Greedy decoding commits to its first token on that token alone; a line that starts
        less likely can be the likelier line (`if (loose) {` against the line the code goes
        on with, `const versionA = new SemVer(a, loose)`). Each branch is followed greedily
        to its line break (or the answer's end). Without `reading`, a branch is dropped as
        soon as its log probability falls below the best whole line's: log probabilities
        only fall as tokens are added, so the pruned branches could not have won. With it
        (`GenerationParams.lookahead`), each line also gets `LOOKAHEAD_WEIGHT` times the log
        probability of reading it and the code after the cursor left to right (`_read_on`).
        Returns the chosen line's tokens, its last token (a line break, or the end of the
        answer) included.
        """
        llm = self._llm
        start = llm.n_tokens + 1
        first = self._log_probs(tokens[-1:])
        stats.prompt_ms = (time.perf_counter() - started) * 1000
        count = min(params.first_line_branches, len(first))
        likeliest = np.argpartition(-first, count - 1)[:count]
        kept: list[tuple[list[int], float]] = []
        best_score = -math.inf
        for token in sorted((int(t) for t in likeliest), key=lambda t: -first[t]):
            line, score = self._follow(
                token, float(first[token]), start, params.max_tokens, stop_ids, stop, stats,
                above=-math.inf if reading is not None else best_score)
            if (reading is not None or score > best_score) and \
                    not self._writes(line, params.first_line_not) and \
                    (not kept or self._is_code(line, params.comment_starts)):
                kept.append((line, score))
                best_score = max(best_score, score)
        if not kept:
            return []
        texts = [self._line_text(line) for line, _ in kept]
        if reading is None or params.lookahead is None or len(set(texts)) < 2:
            return max(kept, key=lambda item: item[1])[0]
        read = self._read_on(tokens, reading, [text + params.lookahead for text in texts],
                             stop, stats)
        return max(zip(kept, read, strict=True),
                   key=lambda item: item[0][1] + LOOKAHEAD_WEIGHT * item[1])[0][0]

    def _follow(self, token: int, log_prob: float, start: int, limit: int, stop_ids: Set[int],
                stop: threading.Event, stats: GenerationStats, above: float = -math.inf
                ) -> tuple[list[int], float]:
        """The line that starts with `token` (of `log_prob`) at `start`, followed greedily to
        its end or `limit` tokens, and its summed log probability; followed no further once
        that falls to `above` or below."""
        llm = self._llm
        line, score = [token], log_prob
        while score > above and len(line) < limit and not self._ends_line(line[-1], stop_ids):
            if stop.is_set():
                raise Stopped
            llm.n_tokens = start + len(line) - 1
            following = self._log_probs(line[-1:])
            stats.weighed_tokens += 1
            line.append(int(np.argmax(following)))
            score += float(following[line[-1]])
        return line, score

    def _reading(self, prompt: Prompt, params: GenerationParams) -> Prompt | None:
        """The prompt's text before the cursor as code read left to right (its segments up to
        the FIM suffix token), where the first-line branches are read on with the code after
        the cursor; None where they are not (no lookahead, one branch, a suffix-first
        template)."""
        if params.lookahead is None or params.first_line_branches < 2 or \
                params.temperature != 0 or self._template.order != "psm":
            return None
        suffix = Special(self._template.suffix)
        if suffix not in prompt.segments:
            return None
        return Prompt(prompt.segments[:prompt.segments.index(suffix)])

    def _line_text(self, line: Sequence[int]) -> str:
        """A branch's line as text: no line break, no end token."""
        written = b"".join(self._piece(t) for t in line if not self._ends_answer(t, set()))
        return written.decode("utf-8", "replace").split("\n", 1)[0]

    def _read_on(self, tokens: Sequence[int], reading: Prompt, endings: Sequence[str],
                 stop: threading.Event, stats: GenerationStats) -> list[float]:
        """The log probability of reading each of `endings` after `reading`'s text, left to
        right: the model as a plain code model, on the KV cache of the prompt's prefix.

        The FIM prompt's state is kept aside and put back: generation goes on from it.
        """
        llm = self._llm
        segments = list(reading.segments)
        reads = []
        for ending in endings:
            ending = ending[:_LOOKAHEAD_CHARS]
            tail = [segments[-1] + ending] if segments and isinstance(segments[-1], str) \
                else [*segments[-1:], ending]
            reads.append(self.tokenize(Prompt((*segments[:-1], *tail))))
        # Tokens that differ from the prompt's only where the prefix meets the ending.
        shared = max(1, min(_shared(tokens, read) for read in reads))
        ctx = llm._ctx.ctx
        size = llama_cpp.llama_state_seq_get_size(ctx, 0)
        state = (ctypes.c_uint8 * size)()
        written = llama_cpp.llama_state_seq_get_data(ctx, state, size, 0)
        try:
            return [self._read(read[shared - 1:], shared - 1, stop, stats) for read in reads]
        finally:
            llm._ctx.kv_cache_seq_rm(0, 0, -1)
            if llama_cpp.llama_state_seq_set_data(ctx, state, written, 0) == 0:
                raise BackendError("llama.cpp could not restore the prompt's state")
            llm.input_ids[: len(tokens)] = tokens
            llm.n_tokens = len(tokens)

    def _read(self, read: Sequence[int], position: int, stop: threading.Event,
              stats: GenerationStats) -> float:
        """The summed log probabilities of `read[1:]`, `read` evaluated from `position` on
        (what the KV cache holds from there on is dropped)."""
        if stop.is_set():
            raise Stopped
        llm = self._llm
        llm._ctx.kv_cache_seq_rm(0, position, -1)
        batch = llama_cpp.llama_batch_init(len(read), 0, 1)
        try:
            for index, token in enumerate(read):
                batch.token[index] = token
                batch.pos[index] = position + index
                batch.n_seq_id[index] = 1
                batch.seq_id[index][0] = 0
                batch.logits[index] = True
            batch.n_tokens = len(read)
            if llama_cpp.llama_decode(llm._ctx.ctx, batch) != 0:
                raise BackendError("llama.cpp could not read the lookahead")
            stats.weighed_tokens += len(read)
            total = 0.0
            for index in range(len(read) - 1):
                logits = np.ctypeslib.as_array(
                    llama_cpp.llama_get_logits_ith(llm._ctx.ctx, index),
                    shape=(llm.n_vocab(),)).astype(np.float64)
                top = logits.max()
                total += float(logits[read[index + 1]] - top
                               - math.log(np.exp(logits - top).sum()))
            return total
        finally:
            llama_cpp.llama_batch_free(batch)

    def line_branches(self, prompt: Prompt, count: int,
                      lookahead: str | None = None) -> list[Branch]:
        """The lines that start with each of the `count` likeliest first tokens, likeliest
        first token first, each followed greedily to its end as `first_line_branches` weighs
        them, none pruned, and with a `lookahead`, read on with it; for benchmarks of the
        branch choice (bench/branches). Runs on the calling thread: never while the backend
        generates."""
        tokens = self.tokenize(prompt)
        llm = self._llm
        self._prefill(tokens[:-1], threading.Event(), GenerationStats())
        first = self._log_probs(tokens[-1:])
        start = llm.n_tokens
        branches = []
        for token in np.argsort(-first, kind="stable")[:max(count, 1)]:
            line, log_prob = self._follow(int(token), float(first[token]), start,
                                          _BRANCH_TOKENS, self._stop_ids, threading.Event(),
                                          GenerationStats())
            end = 0.0
            if not self._ends_answer(line[-1], self._stop_ids):
                llm.n_tokens = start + len(line) - 1
                following = self._log_probs(line[-1:])
                end = float(np.logaddexp.reduce([following[t] for t in self._end_ids()]))
            llm.n_tokens = start
            written = b"".join(self._piece(t) for t in line if not
                               self._ends_answer(t, self._stop_ids))
            branches.append(Branch(written.decode("utf-8", "replace"), log_prob, len(line), end))
        reading = self._reading(prompt, GenerationParams(1, first_line_branches=2,
                                                         lookahead=lookahead))
        if lookahead is None or reading is None:
            return branches
        llm.n_tokens = start
        read = self._read_on(tokens, reading, [b.text.split("\n", 1)[0] + lookahead
                                               for b in branches],
                             threading.Event(), GenerationStats())
        return [dataclasses.replace(b, read_log_prob=r) for b, r in zip(branches, read,
                                                                         strict=True)]

    def _end_ids(self) -> list[int]:
        """The tokens that end an answer: the template's stop tokens, end-of-generation ones."""
        if self._answer_ends is None:
            vocab = self._llm._model.vocab
            self._answer_ends = sorted(set(self._stop_ids) | {
                t for t in range(self._llm.n_vocab()) if llama_cpp.llama_vocab_is_eog(vocab, t)})
        return self._answer_ends

    def _first_text(self, line: Sequence[int]) -> str:
        return b"".join(self._piece(t) for t in line).split(b"\n", 1)[0].decode(
            "utf-8", "replace").strip()

    def _is_code(self, line: Sequence[int], comment_starts: tuple[str, ...]) -> bool:
        """Whether a branch's line writes code: an empty answer, a blank line or a comment
        is likely as a whole for being short or common, and loses the greedy line
        (bench/fim)."""
        text = self._first_text(line)
        return bool(text) and not text.startswith(comment_starts)

    def _writes(self, line: Sequence[int], text: str | None) -> bool:
        """Whether a branch's line is `text` (the line below the cursor, written again)."""
        return text is not None and self._first_text(line) == text.strip()

    def _ends_line(self, token: int, stop_ids: Set[int]) -> bool:
        return self._ends_answer(token, stop_ids) or b"\n" in self._piece(token)

    def _log_probs(self, batch: Sequence[int]) -> np.ndarray[Any, np.dtype[np.float64]]:
        """Evaluate `batch` after the live tokens; the log probabilities of the next token."""
        llm = self._llm
        llm.eval(batch)
        logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llm._ctx.ctx, -1),
                                       shape=(llm.n_vocab(),)).astype(np.float64)
        logits -= logits.max()
        result: np.ndarray[Any, np.dtype[np.float64]] = logits - np.log(np.exp(logits).sum())
        return result

    def _prefill(self, tokens: Sequence[int], stop: threading.Event,
                 stats: GenerationStats) -> None:
        """Evaluate the prompt in chunks, reusing the KV cache's longest common prefix.

        A stopped prefill keeps what it evaluated: the next prompt usually shares it.
        """
        llm = self._llm
        common = _shared(llm.input_ids[: llm.n_tokens], tokens) if self._reuse_kv_cache else 0
        if self._reuse_kv_cache:
            common = max(common, self._restore(tokens, common))
        llm.n_tokens = common
        stats.needed_tokens = len(tokens) - common + 1  # and the last token, in `generate`
        # A model that drafts computes logits at every position it evaluates; the prompt's
        # are never sampled from, and over a 150k vocabulary they cost more than the rest.
        every_position = llm._logits_all
        llm._logits_all = False
        try:
            for start in range(common, len(tokens), _PREFILL_CHUNK):
                if stop.is_set():
                    raise Stopped
                chunk = tokens[start:start + _PREFILL_CHUNK]
                llm.eval(chunk)
                stats.evaluated_tokens += len(chunk)
        finally:
            llm._logits_all = every_position

    def _save(self, prompt: Sequence[int]) -> None:
        """Keep this place's prompt state, replacing an older state of the same place."""
        ctx = self._llm._ctx.ctx
        size = llama_cpp.llama_state_seq_get_size(ctx, 0)
        buffer = (ctypes.c_uint8 * size)()
        written = llama_cpp.llama_state_seq_get_data(ctx, buffer, size, 0)
        tokens = [int(t) for t in self._llm.input_ids[: self._llm.n_tokens]]
        same_place = [s for s in self._saved if _shared(s.tokens, prompt) * 10 >= len(prompt) * 9]
        self._saved = [s for s in self._saved if s not in same_place][-(_SAVED_PLACES - 1):]
        self._saved.append(_SavedPrompt(tokens, bytes(buffer)[:written]))

    def _restore(self, tokens: Sequence[int], live: int) -> int:
        """Load a saved state that shares more of `tokens` than the live one; return its share.

        Moving between two places in the code then costs only the new tokens of each.
        """
        best = max(self._saved, key=lambda s: _shared(s.tokens, tokens), default=None)
        if best is None or _shared(best.tokens, tokens) <= live + _PREFILL_CHUNK // 2:
            return 0
        llm = self._llm
        llm._ctx.kv_cache_seq_rm(0, 0, -1)
        data = (ctypes.c_uint8 * len(best.state)).from_buffer_copy(best.state)
        if llama_cpp.llama_state_seq_set_data(llm._ctx.ctx, data, len(best.state), 0) == 0:
            llm.n_tokens = 0
            return 0
        llm.input_ids[: len(best.tokens)] = best.tokens
        llm.n_tokens = len(best.tokens)
        return _shared(best.tokens, tokens)

    async def aclose(self) -> None:
        """Release the model's memory once the worker is idle."""
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._close)
        self._executor.shutdown(wait=False)

    def _close(self) -> None:
        self._llm.close()
        self._llm = None
        gc.collect()
        _return_free_heap()


def _return_free_heap() -> None:
    """Give freed heap pages back to the OS, so that a switch of models returns memory.

    glibc raises its mmap threshold after large blocks are freed, so a model's buffers of
    a few MB land on the heap and stay mapped after `free` unless trimmed (malloc_trim(3)).
    """
    name = ctypes.util.find_library("c")
    if name is None:
        return
    libc = ctypes.CDLL(name)
    if hasattr(libc, "malloc_trim"):  # glibc only
        libc.malloc_trim(0)


def _broken(text: str, spellings: Iterable[str]) -> list[str]:
    """`text` cut after the first character of every occurrence of each spelling."""
    cuts = sorted({at + 1 for spelling in spellings
                   for at in _occurrences(text, spelling)})
    return [text[start:end] for start, end in zip([0, *cuts], [*cuts, len(text)], strict=True)]


def _occurrences(text: str, spelling: str) -> Iterator[int]:
    at = text.find(spelling)
    while at >= 0:
        yield at
        at = text.find(spelling, at + 1)


def _special_id(llm: Any, text: str) -> int | None:
    """The id of special token `text`: one vocabulary entry, spelled so, of a special type.

    User-defined counts as special: older GGUF conversions typed deepseek-coder's FIM tokens
    so, and llama.cpp itself retypes the FIM tokens it recognises by spelling (codellama's
    `▁<PRE>` pieces among them) as control at load (src/llama-vocab.cpp, "control-looking
    token"). Such tokens are also the only ones `tokenize(special=True)` can return whole.
    """
    ids = llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)
    if len(ids) != 1:
        return None
    vocab = llm._model.vocab
    if llama_cpp.llama_vocab_get_text(vocab, ids[0]).decode("utf-8", "replace") != text:
        return None
    return ids[0] if llama_cpp.llama_vocab_get_attr(vocab, ids[0]) & _SPECIAL_ATTRS else None
