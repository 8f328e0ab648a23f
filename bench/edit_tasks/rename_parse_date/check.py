"""parse_date is now parse_iso_date, in its module and at every call site, and works."""

import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

root = Path(sys.argv[1])
sys.path.insert(0, str(root))

from ledger import dates, importer, report  # noqa: E402

for name in ("dates.py", "importer.py", "report.py"):
    assert "parse_date" not in (root / "ledger" / name).read_text(), f"parse_date left in {name}"
assert not hasattr(dates, "parse_date")
assert dates.parse_iso_date(" 2024-02-29 ") == date(2024, 2, 29)
try:
    dates.parse_iso_date("2023-02-29")
except dates.DateError:
    pass
else:
    raise AssertionError("2023-02-29 was accepted")

export = ("# bank export\n2024-03-01;-12,50;Coffee\n2024-03-15;2000;Salary\n"
          "2024-04-02;-80.00;Books\n")
entries = importer.read_entries(export)
assert [e.amount for e in entries] == [Decimal("-12.50"), Decimal("2000"), Decimal("-80.00")]
assert len(importer.entries_since(entries, "2024-03-10")) == 2
assert report.monthly_totals(entries) == {"2024-03": Decimal("1987.50"),
                                          "2024-04": Decimal("-80.00")}
assert len(report.between(entries, "2024-03-01", "2024-03-31")) == 2
text = report.month_report(entries, "2024-03-20")
assert text.splitlines()[0] == "Report 2024-03-01 to 2024-03-31" and text.endswith("Total 1987.50")
