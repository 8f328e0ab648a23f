"""Prices: discounts, tax and unit conversions. Amounts are Decimals in the invoice currency."""

from __future__ import annotations

from decimal import Decimal

VAT_RATES = {"standard": Decimal("0.20"), "reduced": Decimal("0.05"), "zero": Decimal("0")}


class PricingError(ValueError):
    """A price or a rate that makes no sense."""


def apply_discount(amount: Decimal, percent: Decimal) -> Decimal:
    """`amount` less a customer's discount of `percent`."""
    if percent < 0 or percent > 100:
        raise PricingError(f"discount out of range: {percent}")
    return amount * (1 - percent / 100)


def vat(amount: Decimal, rate: str = "standard") -> Decimal:
    """The VAT owed on a net amount, unrounded."""
    try:
        return amount * VAT_RATES[rate]
    except KeyError:
        raise PricingError(f"unknown VAT rate {rate!r}") from None


def unit_price(pack_price: Decimal, pack_size: int) -> Decimal:
    """The price of one unit of a pack."""
    if pack_size < 1:
        raise PricingError("a pack holds at least one unit")
    return pack_price / pack_size


def volume_discount(quantity: int) -> Decimal:
    """Whole percent off for large orders of one item."""
    if quantity >= 100:
        return Decimal(15)
    if quantity >= 50:
        return Decimal(10)
    if quantity >= 10:
        return Decimal(5)
    return Decimal(0)
