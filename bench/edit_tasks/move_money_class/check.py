"""Money lives in shop/money.py, every module imports it from there, and the shop works."""

import ast
import sys
from pathlib import Path

root = Path(sys.argv[1])
sys.path.insert(0, str(root))

from shop import cart, catalog, checkout, money  # noqa: E402

assert money.Money.__module__ == "shop.money" and money.CurrencyMismatch.__module__ == "shop.money"
assert "class Money" not in (root / "shop" / "cart.py").read_text()
for name in ("cart.py", "checkout.py", "catalog.py"):
    imports = [(node.module, alias.name) for node in ast.walk(ast.parse(
        (root / "shop" / name).read_text())) if isinstance(node, ast.ImportFrom)
               for alias in node.names]
    assert ("shop.money", "Money") in imports, f"{name} does not import Money from shop.money"
    assert ("shop.cart", "Money") not in imports, f"{name} still imports Money from shop.cart"

Money = money.Money
assert (Money(1050) + Money(5)).format() == "10.55 EUR"
assert Money(-123456, "USD").format() == "-1,234.56 USD"
try:
    Money(1) + Money(1, "USD")
except money.CurrencyMismatch:
    pass
else:
    raise AssertionError("currencies were mixed")

c = cart.Cart()
c.add(catalog.by_sku("BK-001"), 2)
c.add(catalog.by_sku("IN-003"))
c.apply_code("welcome10")
assert c.subtotal() == Money(3150) and c.discount_amount() == Money(315)
assert c.total() == Money(3150 - 315 + 495)
wallet = checkout.Wallet(Money(10000))
order = checkout.checkout(c, wallet)
assert order.total == Money(3330) and wallet.balance == Money(6670) and not c.items
assert checkout.refund(order, wallet, 50) == Money(1665)
assert [p.sku for p in catalog.search("pen")] == ["PN-010"]
