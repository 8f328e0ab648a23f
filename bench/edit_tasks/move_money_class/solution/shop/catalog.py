"""The shop's products."""

from __future__ import annotations

from shop.cart import Product
from shop.money import Money

PRODUCTS = [
    Product("BK-001", "Field Notes", Money(1250)),
    Product("BK-002", "Pocket Atlas", Money(2400)),
    Product("PN-010", "Fountain Pen", Money(3900)),
    Product("GC-050", "Gift Card 50", Money(5000), shippable=False),
    Product("IN-003", "Ink, Blue", Money(650)),
]


def by_sku(sku: str) -> Product:
    """The product with this SKU."""
    for product in PRODUCTS:
        if product.sku == sku:
            return product
    raise KeyError(sku)


def search(words: str) -> list[Product]:
    """Products whose name holds every word (case-insensitive), cheapest first."""
    wanted = words.lower().split()
    found = [p for p in PRODUCTS if all(w in p.name.lower() for w in wanted)]
    return sorted(found, key=lambda product: product.price)


def price_list() -> list[str]:
    return [f"{p.sku}  {p.name:<16}{p.price.format():>14}" for p in PRODUCTS]
