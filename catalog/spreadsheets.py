"""Cells a spreadsheet will not run as formulas (CSV/XLSX injection), for every export:
the seats log, coupon codes and the finance exports. Text starting with `=`, `+`, `-`,
`@`, tab or CR gets a leading apostrophe. Pure Python; it lives in catalog, the lowest
app, so every app may use it."""

from __future__ import annotations

from typing import Any

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """Text that could run as a formula, prefixed; anything else unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def csv_cell(value: Any) -> str:
    """A CSV cell as text (None is empty), neutralised."""
    return neutralise("" if value is None else str(value))
