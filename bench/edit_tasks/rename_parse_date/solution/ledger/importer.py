"""Read bank exports (CSV) into ledger entries."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from ledger.dates import DateError, parse_iso_date


@dataclass(frozen=True)
class Entry:
    """One booked amount."""

    booked: date
    amount: Decimal
    description: str


class ImportError_(Exception):
    """A row that cannot be read; names the line."""


def read_amount(text: str) -> Decimal:
    """An amount written with a comma or a dot as decimal separator."""
    cleaned = text.strip().replace(" ", "").replace(",", ".")
    try:
        return Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(f"not an amount: {text!r}") from None


def read_entries(export: str) -> list[Entry]:
    """Entries of a CSV export with the columns date;amount;description."""
    entries = []
    reader = csv.reader(io.StringIO(export), delimiter=";")
    for line, row in enumerate(reader, start=1):
        if not row or row[0].startswith("#"):
            continue
        if len(row) != 3:
            raise ImportError_(f"line {line}: expected 3 columns, got {len(row)}")
        try:
            booked = parse_iso_date(row[0])
            amount = read_amount(row[1])
        except (DateError, ValueError) as exc:
            raise ImportError_(f"line {line}: {exc}") from None
        entries.append(Entry(booked, amount, row[2].strip()))
    return entries


def entries_since(entries: list[Entry], since: str) -> list[Entry]:
    """The entries booked on or after the ISO date `since`."""
    start = parse_iso_date(since)
    return [e for e in entries if e.booked >= start]
