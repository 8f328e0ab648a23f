"""Feed payloads: {"items": [{"id", "title", "updated"}]}."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Item:
    id: str
    title: str
    updated: str


class FeedError(ValueError):
    """A payload that is not a feed."""


def parse_items(payload: Any) -> list[Item]:
    """The items of a decoded feed payload, in feed order."""
    if not isinstance(payload, dict) or not isinstance(payload.get("items"), list):
        raise FeedError("a feed is an object with a list of items")
    items = []
    for raw in payload["items"]:
        try:
            items.append(Item(str(raw["id"]), str(raw["title"]).strip(), str(raw["updated"])))
        except (KeyError, TypeError):
            raise FeedError(f"item without id, title or updated: {raw!r}") from None
    return items


def newest(items: list[Item]) -> Item | None:
    """The most recently updated item (ISO timestamps sort as text)."""
    return max(items, key=lambda item: item.updated, default=None)
