"""A real HTTP server on loopback that answers with recorded responses.

Ollama cannot be installed here and llama.cpp's own `llama-server` is not packaged for this
machine, so their backends are tested against responses recorded from each API's
documentation (field names, types and streaming framing copied from the documented
examples; the completion text is what our tests expect):
- Ollama: https://github.com/ollama/ollama/blob/main/docs/api.md (`/api/tags`,
  `/api/generate` and `/api/chat` streaming NDJSON, load with an empty prompt, unload with
  `keep_alive: 0`)
- llama-server: https://github.com/ggml-org/llama.cpp/blob/master/tools/server/README.md
  (`/health`, `/props`, `/infill` and `/completion` streaming as server-sent events; its
  OpenAI-compatible `/v1/models` and `/v1/chat/completions`, whose chunks end with the
  documented `timings` and `usage`)
The server records each request body so that tests check what the backends send. It streams
every recorded piece whatever limit a request sets, as a server that ignores `max_tokens`
would, and records whether a stream ran to its end or was hung up on.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.polling import wait_until

OLLAMA_MODEL = "qwen2.5-coder:1.5b-base"
CREATED = "2023-08-04T19:22:45.499127Z"

OLLAMA_TAGS = {"models": [{
    "name": OLLAMA_MODEL, "model": OLLAMA_MODEL, "modified_at": "2024-11-12T09:46:32.58Z",
    "size": 986061892, "digest": "9f438cb9cd581fc025612d27f7c1a6669ff83a8bb0ed86c94fcf4c5440555697",
    "details": {"parent_model": "", "format": "gguf", "family": "qwen2",
                "families": ["qwen2"], "parameter_size": "1.5B",
                "quantization_level": "Q4_K_M"}}]}


def ollama_chunks(pieces: list[str]) -> list[dict[str, Any]]:
    """`/api/generate` streaming objects for `pieces`, then the final one with statistics."""
    chunks: list[dict[str, Any]] = [{"model": OLLAMA_MODEL, "created_at": CREATED,
                                     "response": p, "done": False} for p in pieces]
    chunks.append({"model": OLLAMA_MODEL, "created_at": CREATED, "response": "",
                   "done": True, "done_reason": "stop", "context": [1, 2, 3],
                   "total_duration": 10706818083, "load_duration": 6338219291,
                   "prompt_eval_count": 26, "prompt_eval_duration": 130079000,
                   "eval_count": len(pieces), "eval_duration": 4232710000})
    return chunks


def ollama_chat_chunks(pieces: list[str]) -> list[dict[str, Any]]:
    """`/api/chat` streaming objects for `pieces`, then the final one with statistics."""
    chunks: list[dict[str, Any]] = [{"model": OLLAMA_MODEL, "created_at": CREATED,
                                     "message": {"role": "assistant", "content": p,
                                                 "images": None}, "done": False}
                                    for p in pieces]
    chunks.append({"model": OLLAMA_MODEL, "created_at": CREATED,
                   "message": {"role": "assistant", "content": ""}, "done": True,
                   "done_reason": "stop", "total_duration": 4883583458,
                   "load_duration": 1334875, "prompt_eval_count": 26,
                   "prompt_eval_duration": 342546000, "eval_count": len(pieces),
                   "eval_duration": 4535599000})
    return chunks


def llama_server_chat_chunks(pieces: list[str]) -> list[dict[str, Any]]:
    """`/v1/chat/completions` streamed chunks for `pieces`: a first one with the role, one
    per piece, and the last with `finish_reason`, `usage` and llama-server's `timings`."""
    head = {"created": 1757141666, "id": "chatcmpl-ecQULm0WqPrftUqjPZO1CFYeDjGZNbDu",
            "model": "qwen2.5-coder-1.5b", "system_fingerprint": "b6400-7c2e1f0",
            "object": "chat.completion.chunk"}
    deltas: list[dict[str, Any]] = [{"role": "assistant", "content": None},
                                    *({"content": p} for p in pieces)]
    chunks = [{"choices": [{"finish_reason": None, "index": 0, "delta": d}], **head}
              for d in deltas]
    chunks.append({"choices": [{"finish_reason": "stop", "index": 0, "delta": {}}], **head,
                   "usage": {"completion_tokens": len(pieces), "prompt_tokens": 237,
                             "total_tokens": 237 + len(pieces)},
                   "timings": {"cache_n": 236, "prompt_n": 1, "prompt_ms": 30.958,
                               "prompt_per_token_ms": 30.958,
                               "prompt_per_second": 32.301828283480845,
                               "predicted_n": len(pieces), "predicted_ms": 661.064,
                               "predicted_per_token_ms": 18.887542857142858,
                               "predicted_per_second": 52.94494935437416}})
    return chunks


def llama_server_events(pieces: list[str]) -> list[dict[str, Any]]:
    """`/infill`/`/completion` streamed events for `pieces`, then the final one."""
    events: list[dict[str, Any]] = [{"index": 0, "content": p, "tokens": [], "stop": False,
                                     "id_slot": 0, "tokens_predicted": i + 1,
                                     "tokens_evaluated": 31}
                                    for i, p in enumerate(pieces)]
    events.append({"index": 0, "content": "", "tokens": [], "stop": True, "id_slot": 0,
                   "model": "qwen2.5-coder-1.5b", "tokens_predicted": len(pieces),
                   "tokens_evaluated": 31, "stop_type": "eos", "stopping_word": "",
                   "tokens_cached": 30, "truncated": False,
                   "timings": {"prompt_n": 4, "prompt_ms": 21.5, "prompt_per_token_ms": 5.4,
                               "prompt_per_second": 186.0, "predicted_n": len(pieces),
                               "predicted_ms": 48.2, "predicted_per_token_ms": 16.1,
                               "predicted_per_second": 62.2}})
    return events


@dataclass
class Replay:
    """What the server answers, and what it was asked."""

    pieces: list[str] = field(default_factory=lambda: ["a", " +", " b"])
    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    garbage: bool = False
    """Answer completions with an HTML error page instead of JSON."""
    loading: bool = False
    """llama-server: still loading its model (503)."""
    piece_delay: float = 0.0
    streams: list[str] = field(default_factory=list)
    """How each stream ended: "finished", or "hung up" when the client left early."""


def app(replay: Replay) -> Starlette:
    """The Starlette app that replays the recordings."""

    async def body(request: Request) -> dict[str, Any]:
        raw = await request.body()
        parsed = json.loads(raw) if raw else {}
        replay.requests.append((request.url.path, parsed))
        return dict(parsed)

    async def lines(items: list[dict[str, Any]], sse: bool,
                    done: bool = False) -> AsyncIterator[bytes]:
        import asyncio

        ended = "hung up"
        try:
            for item in items:
                await asyncio.sleep(replay.piece_delay)
                text = json.dumps(item)
                yield (f"data: {text}\n\n" if sse else f"{text}\n").encode()
            if done:  # the OpenAI-compatible endpoints end with it
                yield b"data: [DONE]\n\n"
            ended = "finished"
        finally:
            replay.streams.append(ended)

    async def tags(request: Request) -> Response:
        return JSONResponse(OLLAMA_TAGS)

    async def generate(request: Request) -> Response:
        sent = await body(request)
        if sent.get("model") not in (OLLAMA_MODEL,):
            return JSONResponse({"error": f"model '{sent.get('model')}' not found"},
                                status_code=404)
        if "prompt" not in sent:
            reason = {"done_reason": "unload"} if sent.get("keep_alive") == 0 else {}
            return JSONResponse({"model": OLLAMA_MODEL, "created_at": CREATED,
                                 "response": "", "done": True, **reason})
        if replay.garbage:
            return PlainTextResponse("<html>502 Bad Gateway</html>")
        return StreamingResponse(lines(ollama_chunks(replay.pieces), sse=False),
                                 media_type="application/x-ndjson")

    async def chat(request: Request) -> Response:
        sent = await body(request)
        if sent.get("model") != OLLAMA_MODEL:
            return JSONResponse({"error": f"model '{sent.get('model')}' not found"},
                                status_code=404)
        return StreamingResponse(lines(ollama_chat_chunks(replay.pieces), sse=False),
                                 media_type="application/x-ndjson")

    async def models(request: Request) -> Response:
        return JSONResponse({"object": "list", "data": [{
            "id": "qwen2.5-coder-1.5b", "object": "model", "created": 1735142223,
            "owned_by": "llamacpp", "meta": {"vocab_type": 2, "n_vocab": 151936,
                                             "n_ctx_train": 32768, "n_embd": 1536,
                                             "n_params": 1543714304, "size": 1117320768}}]})

    async def chat_completions(request: Request) -> Response:
        await body(request)
        return StreamingResponse(lines(llama_server_chat_chunks(replay.pieces), sse=True,
                                       done=True),
                                 media_type="text/event-stream")

    async def health(request: Request) -> Response:
        if replay.loading:
            return JSONResponse({"error": {"code": 503, "message": "Loading model",
                                           "type": "unavailable_error"}}, status_code=503)
        return JSONResponse({"status": "ok"})

    async def props(request: Request) -> Response:
        return JSONResponse({"default_generation_settings": {"n_ctx": 8192, "params": {}},
                             "total_slots": 1, "model_path": "qwen2.5-coder-1.5b.gguf"})

    async def infill(request: Request) -> Response:
        await body(request)
        if replay.garbage:
            return PlainTextResponse("data: <html>502 Bad Gateway</html>\n\n")
        return StreamingResponse(lines(llama_server_events(replay.pieces), sse=True),
                                 media_type="text/event-stream")

    return Starlette(routes=[
        Route("/api/tags", tags), Route("/api/generate", generate, methods=["POST"]),
        Route("/health", health), Route("/props", props),
        Route("/infill", infill, methods=["POST"]), Route("/completion", infill, methods=["POST"]),
        Route("/api/chat", chat, methods=["POST"]), Route("/v1/models", models),
        Route("/v1/chat/completions", chat_completions, methods=["POST"]),
    ])


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serving(replay: Replay) -> Iterator[str]:
    """Run the replay server on loopback in a thread; yield its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app(replay), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, what="the replay server", timeout=10)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
