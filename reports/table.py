"""What every report figure is: a small table of already aggregated rows.

A selector answers a `Table`; the dashboard draws it as a chart, shows it as an
accessible table beside the chart and offers it as CSV — the same rows all three ways.
Pure Python, no Django, no database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Literal

Kind = Literal["text", "month", "date", "money", "count"]


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    label: str
    kind: Kind = "count"


@dataclass(frozen=True, slots=True)
class Table:
    """`rows` are tuples in the order of `columns`; the first column names the row (a
    month, a bucket, an account). `totals` are summary rows shown and exported but not
    drawn (they would dwarf the rows)."""

    columns: tuple[Column, ...]
    rows: list[tuple[Any, ...]]
    currency: str = "EUR"
    totals: list[tuple[Any, ...]] = field(default_factory=list)

    def column(self, key: str) -> int:
        return next(i for i, c in enumerate(self.columns) if c.key == key)

    def values(self, key: str) -> list[Any]:
        index = self.column(key)
        return [row[index] for row in self.rows]


def months_between(first: date, last: date) -> list[date]:
    """The first days of the months from `first`'s month to `last`'s, inclusive."""
    months, month = [], date(first.year, first.month, 1)
    while month <= last:
        months.append(month)
        month = next_month(month)
    return months


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def previous_month(month: date) -> date:
    return date(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 1)


ZERO = Decimal("0.00")
