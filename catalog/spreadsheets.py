"""Cells a spreadsheet will not run as formulas (CSV/XLSX injection), for every export:
the seats log, coupon codes and the finance exports. Text starting with `=`, `+`, `-`,
`@`, tab, CR or NUL gets a leading apostrophe; numbers stay numbers (a negative amount
is a number, not a formula). Pure Python; it lives in catalog, the lowest
app, so every app may use it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\0")


def neutralise(value: Any) -> Any:
    """Text that could run as a formula, prefixed; anything else unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def csv_cell(value: Any) -> str:
    """A CSV cell as text (None is empty); text neutralised, numbers as they are."""
    if value is None:
        return ""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return str(value)
    return neutralise(str(value))
