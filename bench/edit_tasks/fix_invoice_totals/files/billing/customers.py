"""Customers and their standing discounts."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Customer:
    id: str
    name: str
    discount_percent: Decimal = Decimal(0)
    """Whole percent off every line: 10 means 10 %."""


CUSTOMERS = {
    "ACME": Customer("ACME", "Acme Ltd", Decimal(10)),
    "INITECH": Customer("INITECH", "Initech", Decimal("2.5")),
    "HOOLI": Customer("HOOLI", "Hooli"),
}


def find(customer_id: str) -> Customer:
    """The customer with this id (case-insensitive)."""
    try:
        return CUSTOMERS[customer_id.upper()]
    except KeyError:
        raise KeyError(f"no customer {customer_id!r}") from None


def with_discount(customer: Customer, percent: str) -> Customer:
    """The same customer with another standing discount."""
    return Customer(customer.id, customer.name, Decimal(percent))
