"""Invoices: lines, discounts, VAT and totals rounded to the cent."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from billing.customers import Customer
from billing.pricing import apply_discount, vat, volume_discount

CENT = Decimal("0.01")


@dataclass(frozen=True)
class Line:
    description: str
    quantity: int
    unit_price: Decimal
    vat_rate: str = "standard"


@dataclass
class Invoice:
    customer: Customer
    lines: list[Line] = field(default_factory=list)

    def add(self, description: str, quantity: int, unit_price: str,
            vat_rate: str = "standard") -> None:
        self.lines.append(Line(description, quantity, Decimal(unit_price), vat_rate))

    def line_net(self, line: Line) -> Decimal:
        """A line's net amount after volume and customer discounts, rounded to the cent."""
        gross = line.unit_price * line.quantity
        after_volume = apply_discount(gross, volume_discount(line.quantity))
        net = apply_discount(after_volume, self.customer.discount_percent)
        return net.quantize(CENT, rounding=ROUND_HALF_UP)

    def line_vat(self, line: Line) -> Decimal:
        return vat(self.line_net(line), line.vat_rate).quantize(CENT, rounding=ROUND_HALF_UP)

    def net_total(self) -> Decimal:
        return sum((self.line_net(line) for line in self.lines), Decimal(0))

    def vat_total(self) -> Decimal:
        return sum((self.line_vat(line) for line in self.lines), Decimal(0))

    def total(self) -> Decimal:
        return self.net_total() + self.vat_total()

    def render(self) -> str:
        rows = [f"Invoice for {self.customer.name}"]
        for line in self.lines:
            rows.append(f"{line.quantity:>4} {line.description:<20} {self.line_net(line):>10}")
        rows.append(f"{'Net':<25} {self.net_total():>10}")
        rows.append(f"{'VAT':<25} {self.vat_total():>10}")
        rows.append(f"{'Total':<25} {self.total():>10}")
        return "\n".join(rows)
