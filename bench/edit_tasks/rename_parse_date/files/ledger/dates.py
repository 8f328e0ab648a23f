"""Dates as the ledger reads and writes them."""

from __future__ import annotations

import calendar
from datetime import date, timedelta


class DateError(ValueError):
    """A date the ledger cannot read."""


def parse_date(text: str) -> date:
    """Read an ISO date (2024-03-31); surrounding spaces are ignored."""
    text = text.strip()
    parts = text.split("-")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        raise DateError(f"not an ISO date: {text!r}")
    year, month, day = (int(p) for p in parts)
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise DateError(f"not a valid date: {text!r} ({exc})") from None


def format_date(value: date) -> str:
    """Write a date the way the ledger's files expect it."""
    return value.isoformat()


def month_range(value: date) -> tuple[date, date]:
    """The first and the last day of the month `value` falls in."""
    last = calendar.monthrange(value.year, value.month)[1]
    return value.replace(day=1), value.replace(day=last)


def days_between(start: date, end: date) -> list[date]:
    """Every day from `start` to `end`, both included."""
    if end < start:
        return []
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def is_weekend(value: date) -> bool:
    """Saturday or Sunday."""
    return value.weekday() >= 5
