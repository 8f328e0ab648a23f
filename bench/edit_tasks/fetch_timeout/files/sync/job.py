"""The periodic job that pulls every configured feed into the store."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sync.client import Transport, fetch_json
from sync.feeds import Item, parse_items

log = logging.getLogger(__name__)


@dataclass
class Store:
    """Items by id; a later version of an item replaces the earlier one."""

    items: dict[str, Item] = field(default_factory=dict)

    def upsert(self, items: list[Item]) -> int:
        changed = 0
        for item in items:
            if self.items.get(item.id) != item:
                self.items[item.id] = item
                changed += 1
        return changed


@dataclass
class SyncJob:
    transport: Transport
    feeds: list[str]
    store: Store = field(default_factory=Store)

    def run(self) -> dict[str, int]:
        """Pull each feed once; returns the number of changed items per feed."""
        changed: dict[str, int] = {}
        for url in self.feeds:
            try:
                payload = fetch_json(self.transport, url)
            except Exception as exc:  # one broken feed must not stop the others
                log.warning("feed %s failed: %s", url, exc)
                changed[url] = 0
                continue
            changed[url] = self.store.upsert(parse_items(payload))
        return changed
