"""Amounts of money in cents."""

from __future__ import annotations

from dataclasses import dataclass


class CurrencyMismatch(ValueError):
    """Two amounts in different currencies were combined."""


@dataclass(frozen=True, order=True)
class Money:
    """An amount in cents of one currency."""

    cents: int
    currency: str = "EUR"

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.cents + other.cents, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.cents - other.cents, self.currency)

    def times(self, count: int) -> Money:
        return Money(self.cents * count, self.currency)

    def percent(self, rate: int) -> Money:
        """`rate` percent of this amount, rounded half up to the cent."""
        return Money((self.cents * rate + 50) // 100, self.currency)

    def format(self) -> str:
        sign = "-" if self.cents < 0 else ""
        whole, cents = divmod(abs(self.cents), 100)
        return f"{sign}{whole:,}.{cents:02d} {self.currency}"

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatch(f"{self.currency} and {other.currency}")
