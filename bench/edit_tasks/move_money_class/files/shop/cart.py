"""The shopping cart: money, line items, discounts and shipping."""

from __future__ import annotations

from dataclasses import dataclass, field

FREE_SHIPPING_THRESHOLD = 5000
"""Carts from this subtotal (in cents) ship for free."""
SHIPPING_FEE = 495
MAX_QUANTITY = 99


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


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    price: Money
    shippable: bool = True


@dataclass
class LineItem:
    product: Product
    quantity: int

    @property
    def total(self) -> Money:
        return self.product.price.times(self.quantity)


@dataclass(frozen=True)
class DiscountCode:
    code: str
    percent: int
    minimum: Money


DISCOUNT_CODES = {
    "WELCOME10": DiscountCode("WELCOME10", 10, Money(0)),
    "BIG20": DiscountCode("BIG20", 20, Money(10000)),
}


class CartError(Exception):
    """A change the cart refuses; the message is for the customer."""


@dataclass
class Cart:
    currency: str = "EUR"
    items: dict[str, LineItem] = field(default_factory=dict)
    discount: DiscountCode | None = None

    def add(self, product: Product, quantity: int = 1) -> None:
        """Add `quantity` of a product; the same product adds up on one line."""
        if quantity < 1:
            raise CartError("quantity must be at least 1")
        if product.price.currency != self.currency:
            raise CartError(f"{product.name} is not sold in {self.currency}")
        line = self.items.get(product.sku)
        new_quantity = quantity + (line.quantity if line else 0)
        if new_quantity > MAX_QUANTITY:
            raise CartError(f"at most {MAX_QUANTITY} of {product.name}")
        self.items[product.sku] = LineItem(product, new_quantity)

    def remove(self, sku: str, quantity: int | None = None) -> None:
        """Remove some or all of a product."""
        line = self.items.get(sku)
        if line is None:
            raise CartError(f"{sku} is not in the cart")
        if quantity is None or quantity >= line.quantity:
            del self.items[sku]
        else:
            line.quantity -= quantity

    def apply_code(self, code: str) -> None:
        """Use a discount code; a code below its minimum is refused."""
        discount = DISCOUNT_CODES.get(code.strip().upper())
        if discount is None:
            raise CartError(f"unknown code {code!r}")
        if self.subtotal() < Money(discount.minimum.cents, self.currency):
            raise CartError(f"{discount.code} needs a cart of {discount.minimum.format()}")
        self.discount = discount

    def subtotal(self) -> Money:
        total = Money(0, self.currency)
        for line in self.items.values():
            total = total + line.total
        return total

    def discount_amount(self) -> Money:
        if self.discount is None:
            return Money(0, self.currency)
        return self.subtotal().percent(self.discount.percent)

    def shipping(self) -> Money:
        if not any(line.product.shippable for line in self.items.values()):
            return Money(0, self.currency)
        if self.subtotal().cents >= FREE_SHIPPING_THRESHOLD:
            return Money(0, self.currency)
        return Money(SHIPPING_FEE, self.currency)

    def total(self) -> Money:
        return self.subtotal() - self.discount_amount() + self.shipping()

    def count(self) -> int:
        return sum(line.quantity for line in self.items.values())

    def lines(self) -> list[str]:
        """The cart as printable lines, one per product, then the totals."""
        rows = [f"{line.quantity:>3} x {line.product.name:<24}{line.total.format():>16}"
                for line in sorted(self.items.values(), key=lambda line: line.product.name)]
        rows.append(f"{'Subtotal':<30}{self.subtotal().format():>16}")
        if self.discount is not None:
            rows.append(f"{self.discount.code:<30}{'-' + self.discount_amount().format():>16}")
        rows.append(f"{'Shipping':<30}{self.shipping().format():>16}")
        rows.append(f"{'Total':<30}{self.total().format():>16}")
        return rows
