"""The corporate retry schedule after a failed payment (SPEC §4, "Failed payments").

Pure Python (no Django), so it is tested table by table. The days depend on how long
the subscription's interval is:

- up to one week (1 to 7 days, or 1 week): retry on days 1 and 3 after the failure;
- up to one month (8 to 31 days, 2 to 4 weeks, or 1 month): days 2, 5 and 8;
- longer (more than 31 days or 4 weeks, 2 months or more, any number of years):
  days 3, 8 and 14.

A month counts as up to 31 days, so "31 days" and "1 month" fall in the same band.
"""

from __future__ import annotations

from typing import Literal

Unit = Literal["day", "week", "month", "year"]

WEEK_OR_LESS = [1, 3]
MONTH_OR_LESS = [2, 5, 8]
LONGER = [3, 8, 14]


def _length_in_days(count: int, unit: str) -> int | None:
    """The interval's length in days where it has a fixed one (days, weeks); None for
    months and years, which are banded by count."""
    if unit == "day":
        return count
    if unit == "week":
        return 7 * count
    return None


def retry_days(interval_count: int, interval_unit: Unit) -> list[int]:
    """Days after the failed payment on which it is tried again."""
    if isinstance(interval_count, bool) or not isinstance(interval_count, int):
        raise ValueError(f"The interval count must be a whole number, not {interval_count!r}.")
    if interval_count < 1:
        raise ValueError(f"The interval count must be at least 1, not {interval_count}.")
    if interval_unit not in ("day", "week", "month", "year"):
        raise ValueError(f"Unknown interval unit {interval_unit!r}: day, week, month or year.")
    days = _length_in_days(interval_count, interval_unit)
    if days is not None:
        if days <= 7:
            return list(WEEK_OR_LESS)
        if days <= 31:
            return list(MONTH_OR_LESS)
        return list(LONGER)
    if interval_unit == "month" and interval_count == 1:
        return list(MONTH_OR_LESS)
    return list(LONGER)
