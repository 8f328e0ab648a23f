"""Turning a cart into an order."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from shop.cart import Cart, CartError, Money

_numbers = itertools.count(1001)


@dataclass(frozen=True)
class Order:
    number: int
    total: Money
    lines: tuple[str, ...]


class PaymentDeclined(Exception):
    """The payment provider said no."""


@dataclass
class Wallet:
    """A prepaid balance, the only payment method of this shop."""

    balance: Money

    def charge(self, amount: Money) -> None:
        if amount > self.balance:
            raise PaymentDeclined(f"balance {self.balance.format()} < {amount.format()}")
        self.balance = self.balance - amount


def checkout(cart: Cart, wallet: Wallet) -> Order:
    """Charge the cart's total and empty the cart."""
    if not cart.items:
        raise CartError("the cart is empty")
    total = cart.total()
    wallet.charge(total)
    order = Order(next(_numbers), total, tuple(cart.lines()))
    cart.items.clear()
    cart.discount = None
    return order


def refund(order: Order, wallet: Wallet, share: int = 100) -> Money:
    """Give back `share` percent of an order's total."""
    amount = order.total.percent(share)
    wallet.balance = wallet.balance + amount
    return amount
