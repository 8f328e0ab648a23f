"""Monthly reports over ledger entries."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from ledger.dates import format_date, month_range, parse_iso_date
from ledger.importer import Entry


def monthly_totals(entries: list[Entry]) -> dict[str, Decimal]:
    """Sum of the amounts per month, keyed 'YYYY-MM', in month order."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for entry in entries:
        totals[entry.booked.strftime("%Y-%m")] += entry.amount
    return dict(sorted(totals.items()))


def between(entries: list[Entry], start: str, end: str) -> list[Entry]:
    """Entries booked from `start` to `end` (ISO dates, both included)."""
    first, last = parse_iso_date(start), parse_iso_date(end)
    return [e for e in entries if first <= e.booked <= last]


def month_report(entries: list[Entry], day: str) -> str:
    """A printable report of the month that the ISO date `day` falls in."""
    first, last = month_range(parse_iso_date(day))
    lines = [f"Report {format_date(first)} to {format_date(last)}"]
    total = Decimal(0)
    for entry in sorted(entries, key=lambda e: e.booked):
        if first <= entry.booked <= last:
            lines.append(f"{format_date(entry.booked)}  {entry.amount:>10}  {entry.description}")
            total += entry.amount
    lines.append(f"Total {total}")
    return "\n".join(lines)


def largest_expenses(entries: list[Entry], count: int = 3) -> list[Entry]:
    """The `count` most negative amounts, largest expense first."""
    expenses = [e for e in entries if e.amount < 0]
    return sorted(expenses, key=lambda e: e.amount)[:count]
