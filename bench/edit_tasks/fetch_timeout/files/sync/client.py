"""A small HTTP client over a pluggable transport, with retries."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Request:
    url: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes


class TransientError(Exception):
    """The transport failed in a way that may pass (reset connection, 503)."""


class Transport(Protocol):
    def send(self, request: Request) -> Response: ...


USER_AGENT = "feed-sync/1.4"


def fetch(transport: Transport, url: str, retries: int = 3, backoff: float = 0.0) -> Response:
    """GET `url`, retrying transient failures up to `retries` times."""
    request = Request(url, {"User-Agent": USER_AGENT, "Accept": "application/json"})
    attempt = 0
    while True:
        try:
            response = transport.send(request)
        except TransientError:
            attempt += 1
            if attempt > retries:
                raise
            time.sleep(backoff * attempt)
            continue
        if response.status == 503 and attempt < retries:
            attempt += 1
            time.sleep(backoff * attempt)
            continue
        return response


def fetch_json(transport: Transport, url: str, retries: int = 3) -> Any:
    """GET `url` and decode its JSON body; a non-200 answer is an error."""
    response = fetch(transport, url, retries)
    if response.status != 200:
        raise RuntimeError(f"{url} answered {response.status}")
    return json.loads(response.body.decode("utf-8"))
