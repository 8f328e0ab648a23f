"""The one interface every model backend offers, and the switch that builds them."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from lspilot.settings import LlamaCppSettings, ServersSettings
from lspilot.templates import FimTemplate, Prompt


class BackendError(Exception):
    """The model could not be loaded or could not generate; the message is for the user.

    `fault` names the fault without what varies from one request to the next (a server's
    error text, the garbage it sent), so that the user is told once per fault.
    """

    def __init__(self, message: str, fault: str | None = None) -> None:
        super().__init__(message)
        self.fault = fault or message


@dataclass(frozen=True)
class Message:
    """One turn of a chat prompt."""

    role: Literal["system", "user", "assistant"]
    content: str


@dataclass(frozen=True)
class GenerationParams:
    """What to generate: greedy by default, as completions should be reproducible."""

    max_tokens: int
    temperature: float = 0.0
    first_line_branches: int = 1
    """Greedy only: the answer's first line is the likeliest (by the sum of its tokens' log
    probabilities, its line break included) of the lines that start with each of this many
    likeliest first tokens, each followed greedily; the rest of the answer follows greedily.
    1 is plain greedy. Backends that cannot branch (the servers) generate plain greedy."""
    first_line_not: str | None = None
    """With branches: a first line (compared without its surrounding whitespace) never to
    choose, as post-processing would drop it (it writes the line below the cursor again).
    When every branch writes it, the answer is plain greedy."""
    comment_starts: tuple[str, ...] = ()
    """With branches: how a comment line starts in the document's language. A comment line,
    like a blank one, never replaces the greedy line: it is likely as a whole for being a
    common opener (`/**`), not for being the code that goes there (bench.fim)."""
    lookahead: str | None = None
    """With branches, in-process and prefix-first templates: the code right after the
    cursor (the rest of its line and the next lines). Each branch's line is then also
    weighed by how likely the model finds it, and this code after it, read left to right
    as plain code after the prefix: the line that leads into the code below wins
    (bench/branches). None: the lines are weighed by their own log probability alone."""


@dataclass
class GenerationStats:
    """Filled in by a backend while it generates one completion."""

    prompt_tokens: int = 0
    evaluated_tokens: int = 0
    """Prompt tokens actually evaluated; the rest came from the KV cache."""
    needed_tokens: int = 0
    """Prompt tokens this prompt needed evaluated, given the KV cache, once known (also when
    the request was stopped before evaluating them all)."""
    generated_tokens: int = 0
    weighed_tokens: int = 0
    """Tokens evaluated to weigh first-line branches (`first_line_branches`), written or not."""
    prompt_ms: float = 0.0
    generate_ms: float = 0.0
    cpu_ms: float = 0.0
    """CPU time this process spent while the model worked on this generation (in-process
    backends; a server's CPU is not ours to count)."""


class Backend(Protocol):
    """A loaded model that counts tokens, streams a completion for a FIM prompt, and answers
    chat messages (edits) through the model's chat template."""

    @property
    def name(self) -> str:
        """What the user configured (catalog name or path)."""
        ...

    @property
    def template(self) -> FimTemplate:
        """The FIM template detected from the model's vocabulary."""
        ...

    @property
    def context_size(self) -> int:
        """Tokens the prompt and the completion share."""
        ...

    def count_tokens(self, text: str) -> int:
        """Tokens `text` takes as plain text, counted with the model's own tokenizer."""
        ...

    def count_prompt_tokens(self, prompt: Prompt) -> int:
        """Tokens the whole prompt takes, special tokens included."""
        ...

    def stream(self, prompt: Prompt, params: GenerationParams,
               stats: GenerationStats) -> AsyncGenerator[str, None]:
        """Text pieces of the completion; closing the iterator stops generation."""
        ...

    def chat(self, messages: Sequence[Message], params: GenerationParams,
             stats: GenerationStats) -> AsyncGenerator[str, None]:
        """Text pieces of the assistant's answer; closing the iterator stops generation."""
        ...

    def count_chat_tokens(self, messages: Sequence[Message]) -> int:
        """Tokens the rendered chat prompt takes (for budgets), special tokens included."""
        ...

    async def aclose(self) -> None:
        """Release the model's memory."""
        ...


@dataclass(frozen=True)
class EmbeddedConfig:
    """The in-process llama.cpp runtime on a local GGUF file."""

    name: str
    path: Path
    llama_cpp: LlamaCppSettings
    draft: int = 0
    """Prompt-lookup decoding for chat: tokens drafted from the prompt per step (0: off).
    The edit role's model gets `llama_cpp.prompt_lookup`; completions never draft."""


@dataclass(frozen=True)
class LlamaServerConfig:
    """A model served by llama.cpp's own server (`llama-server`)."""

    name: str
    model: str
    servers: ServersSettings


@dataclass(frozen=True)
class OllamaConfig:
    """A model served by Ollama."""

    name: str
    model: str
    servers: ServersSettings


@dataclass(frozen=True)
class OpenAIConfig:
    """A model behind an OpenAI-compatible API (vLLM, SGLang, LM Studio, llama_cpp.server)."""

    name: str
    model: str
    servers: ServersSettings


BackendConfig = EmbeddedConfig | LlamaServerConfig | OllamaConfig | OpenAIConfig


def make_backend(config: BackendConfig) -> Backend:
    """Load the backend a config describes (blocking: call it off the event loop)."""
    match config:
        case EmbeddedConfig():
            from lspilot.models.backends.llama_cpp import LlamaCppBackend

            return LlamaCppBackend.load(config)
        case LlamaServerConfig():
            from lspilot.models.backends.http_llama_server import LlamaServerBackend

            return LlamaServerBackend.connect(config)
        case OllamaConfig():
            from lspilot.models.backends.http_ollama import OllamaBackend

            return OllamaBackend.connect(config)
        case OpenAIConfig():
            from lspilot.models.backends.http_openai import OpenAIBackend

            return OpenAIBackend.connect(config)
