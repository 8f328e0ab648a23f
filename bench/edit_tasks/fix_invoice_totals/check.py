"""Discounts are whole percentages and invoice lines round half up."""

import sys
from decimal import Decimal

sys.path.insert(0, sys.argv[1])

from billing import customers, pricing
from billing.invoice import Invoice

assert pricing.apply_discount(Decimal("200"), Decimal("10")) == Decimal("180")
assert pricing.apply_discount(Decimal("80"), Decimal("2.5")) == Decimal("78")
assert pricing.apply_discount(Decimal("5"), Decimal("0")) == Decimal("5")
for bad in ("-1", "101"):
    try:
        pricing.apply_discount(Decimal(1), Decimal(bad))
    except pricing.PricingError:
        pass
    else:
        raise AssertionError(f"discount {bad} accepted")

invoice = Invoice(customers.find("acme"))
invoice.add("Paper", 3, "4.99")
invoice.add("Toner", 12, "19.99")
invoice.add("Book", 1, "7.45", vat_rate="reduced")
assert [invoice.line_net(line) for line in invoice.lines] == [
    Decimal("13.47"), Decimal("205.10"), Decimal("6.71")]
assert [invoice.line_vat(line) for line in invoice.lines] == [
    Decimal("2.69"), Decimal("41.02"), Decimal("0.34")]
assert invoice.net_total() == Decimal("225.28") and invoice.total() == Decimal("269.33")
assert invoice.render().splitlines()[-1].split() == ["Total", "269.33"]

plain = Invoice(customers.find("HOOLI"))
plain.add("Stickers", 100, "0.35")
assert plain.line_net(plain.lines[0]) == Decimal("29.75")  # 15 % off 35.00
