"""What the server backends share: one httpx client with explicit timeouts, errors a user can
read, streamed lines, and the token estimate used for prompts sent over HTTP.

Streams are async httpx calls, so cancelling the awaiting task (`$/cancelRequest`, a newer
request for the document) closes the connection, which is how servers learn to stop.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from contextlib import aclosing, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from lspilot.models.backends.base import BackendError, Message
from lspilot.settings import ServersSettings
from lspilot.templates import TEMPLATES, FimTemplate, Prompt, Special

log = logging.getLogger(__name__)


def estimate_tokens(text: str) -> int:
    """Tokens `text` may take on a server whose tokenizer we do not have (an upper estimate).

    BPE vocabularies of coder models average 3.5-4 bytes of code per token; counting one
    token per 3 bytes keeps a prompt within its budget without a round trip per line.
    """
    return -(-len(text.encode("utf-8")) // 3)


_TURN_TOKENS = 5
"""A chat template's markers around one message (ChatML: `<|im_start|>role\n`, `<|im_end|>\n`)."""
_TEMPLATE_TOKENS = 32
"""Room for what a server's chat template adds by itself: the assistant's header, and a
default system prompt where the caller sent none (Qwen's takes 20 tokens)."""


def count_chat_tokens(messages: Sequence[Message]) -> int:
    """Tokens a chat prompt may take on a server (an upper estimate)."""
    return _TEMPLATE_TOKENS + sum(estimate_tokens(m.content) + _TURN_TOKENS for m in messages)


def chat_messages(messages: Sequence[Message]) -> list[dict[str, str]]:
    """Messages as the chat APIs (OpenAI, Ollama, llama-server) take them."""
    return [{"role": m.role, "content": m.content} for m in messages]


def template_named(family: str) -> FimTemplate:
    """The registered FIM template of a family (settings only accept registered names)."""
    for template in TEMPLATES:
        if template.family == family:
            return template
    raise BackendError(f"unknown FIM template {family!r}")


class HttpServer:
    """One inference server: blocking calls for set-up, async streams for completions."""

    def __init__(self, kind: str, base_url: str, servers: ServersSettings,
                 headers: Mapping[str, str] | None = None) -> None:
        self.kind = kind
        self.base_url = base_url.rstrip("/")
        self._timeout = httpx.Timeout(servers.read_timeout, connect=servers.connect_timeout)
        self._headers = dict(headers or {})
        self._client: httpx.AsyncClient | None = None

    def get_json(self, path: str) -> Any:
        """GET a JSON document (blocking: used while connecting, off the event loop)."""
        return self._blocking("GET", path, None)

    def post_json(self, path: str, body: Mapping[str, Any]) -> Any:
        """POST and read a JSON answer (blocking)."""
        return self._blocking("POST", path, body)

    def _blocking(self, method: str, path: str, body: Mapping[str, Any] | None) -> Any:
        url = self.base_url + path
        try:
            with httpx.Client(timeout=self._timeout, headers=self._headers) as client:
                response = client.request(method, url, json=body)
                _raise_for_status(self.kind, response, response.text)
                return _parse_json(self.kind, response.text)
        except httpx.HTTPError as exc:
            raise BackendError(describe(self.kind, url, exc)) from exc

    async def stream_lines(self, path: str, body: Mapping[str, Any]
                           ) -> AsyncGenerator[str, None]:
        """The non-empty lines of a streamed POST answer; closing the iterator hangs up."""
        url = self.base_url + path
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout, headers=self._headers)
        try:
            async with self._client.stream("POST", url, json=body) as response:
                if response.status_code >= 400:
                    text = (await _head(response.aiter_bytes())).decode("utf-8", "replace")
                    _raise_for_status(self.kind, response, text)
                async for line in _lines(self.kind, response.aiter_bytes()):
                    if line.strip():
                        yield line
        except httpx.HTTPError as exc:
            raise BackendError(describe(self.kind, url, exc)) from exc

    @asynccontextmanager
    async def lines(self, path: str, body: Mapping[str, Any]) -> AsyncIterator[
            AsyncGenerator[str, None]]:
        """`stream_lines` that hangs up as soon as the block is left (a reader that stops
        early, at `maxTokens`, must not leave the server generating until the next GC)."""
        async with aclosing(self.stream_lines(path, body)) as lines:
            yield lines

    async def aclose(self) -> None:
        """Close the pooled connections."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None


MAX_LINE_BYTES = 1 << 20
"""The longest line of a streamed answer that is read; one event is a few hundred bytes."""
MAX_ERROR_BYTES = 1 << 16
"""What is read of an error answer's body."""
MAX_TOKEN_CHARS = 32
"""Characters one streamed piece counts for at most (a token is a few characters)."""


@dataclass
class Budget:
    """What a streamed completion may still hold: `max_tokens` pieces (servers stream one per
    token) and as many characters as that many tokens could spell.

    Servers should stop at the request's limit; one that does not, or sends its answer in a
    few huge pieces, is cut here: its text would be shown, and kept in the typed-ahead cache,
    whatever its size.
    """

    pieces: int
    chars: int

    @classmethod
    def of(cls, max_tokens: int) -> Budget:
        """The budget of a request for `max_tokens` tokens."""
        return cls(max_tokens, max_tokens * MAX_TOKEN_CHARS)

    def take(self, piece: str) -> str:
        """What of `piece` fits, counting it spent (an empty piece counts for nothing)."""
        if not piece:
            return ""
        piece = piece[:max(0, self.chars)]
        self.pieces -= 1
        self.chars -= len(piece)
        return piece

    @property
    def spent(self) -> bool:
        """Nothing more fits."""
        return self.pieces <= 0 or self.chars <= 0


async def _lines(kind: str, chunks: AsyncIterator[bytes]) -> AsyncGenerator[str, None]:
    """The lines of a streamed body; a line over `MAX_LINE_BYTES` is a fault, not buffered."""
    pending = b""
    async for chunk in chunks:
        pending += chunk
        if b"\n" in chunk:
            *lines, pending = pending.split(b"\n")
            for line in lines:
                yield line.rstrip(b"\r").decode("utf-8", "replace")
        if len(pending) > MAX_LINE_BYTES:
            message = f"the {kind} sent a line longer than {MAX_LINE_BYTES} bytes"
            raise BackendError(message)
    if pending:
        yield pending.rstrip(b"\r").decode("utf-8", "replace")


async def _head(chunks: AsyncIterator[bytes]) -> bytes:
    """The start of a body, up to `MAX_ERROR_BYTES`."""
    head = b""
    async for chunk in chunks:
        head += chunk
        if len(head) >= MAX_ERROR_BYTES:
            break
    return head[:MAX_ERROR_BYTES]


def describe(kind: str, url: str, exc: httpx.HTTPError) -> str:
    """One line for the user about a failed call."""
    if isinstance(exc, httpx.ConnectError):
        return f"cannot reach the {kind} at {url} (is it running?): {exc}"
    if isinstance(exc, httpx.TimeoutException):
        return f"the {kind} at {url} did not answer in time ({type(exc).__name__})"
    return f"the {kind} at {url} failed: {exc or type(exc).__name__}"


def _raise_for_status(kind: str, response: httpx.Response, text: str) -> None:
    if response.status_code < 400:
        return
    detail = text.strip()
    try:
        error = json.loads(detail).get("error", detail)
        detail = error.get("message", str(error)) if isinstance(error, dict) else str(error)
    except (ValueError, AttributeError):
        pass
    fault = f"the {kind} answered {response.status_code} for {response.url.path}"
    raise BackendError(f"{fault}: {detail[:200]}", fault)


def _parse_json(kind: str, text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        fault = f"the {kind} sent something that is not JSON"
        raise BackendError(f"{fault}: {text[:80]!r}", fault) from None


def parse_event(kind: str, line: str) -> dict[str, Any] | None:
    """A JSON object from an NDJSON line or an SSE `data:` line; None for SSE's `[DONE]`."""
    if line.startswith(":") or line.startswith("event:"):
        return {}
    if line.startswith("data:"):
        line = line[5:].strip()
        if line == "[DONE]":
            return None
    value = _parse_json(kind, line)
    if not isinstance(value, dict):
        fault = f"the {kind} sent an unexpected reply"
        raise BackendError(f"{fault}: {line[:80]!r}", fault)
    if "error" in value:
        error = value["error"]
        message = error.get("message", error) if isinstance(error, dict) else error
        raise BackendError(f"the {kind} failed: {str(message)[:200]}",
                           f"the {kind} sent an error in its answer")
    return value


def count_prompt_tokens(prompt: Prompt) -> int:
    """Estimated tokens of a whole prompt: one per special token, the text estimated."""
    return sum(1 if isinstance(s, Special) else estimate_tokens(s) for s in prompt.segments)


class ServerBackend:
    """What a server backend is apart from its API: name, template, counts, connection."""

    def __init__(self, name: str, server: HttpServer, template: FimTemplate,
                 context_size: int) -> None:
        self._name = name
        self.server = server
        self._template = template
        self._context_size = context_size

    @property
    def name(self) -> str:
        """The model id the user configured (`BACKEND:MODEL`)."""
        return self._name

    @property
    def template(self) -> FimTemplate:
        """The FIM template from `servers.template` (a server does not show its vocabulary)."""
        return self._template

    @property
    def context_size(self) -> int:
        """Tokens the prompt and the completion share on the server."""
        return self._context_size

    def count_tokens(self, text: str) -> int:
        """An upper estimate (see `estimate_tokens`)."""
        return estimate_tokens(text)

    def count_prompt_tokens(self, prompt: Prompt) -> int:
        """An upper estimate of the whole prompt, special tokens included."""
        return count_prompt_tokens(prompt)

    def count_chat_tokens(self, messages: Sequence[Message]) -> int:
        """An upper estimate of the chat prompt the server's template renders."""
        return count_chat_tokens(messages)

    async def aclose(self) -> None:
        """Close the connections."""
        await self.server.aclose()
