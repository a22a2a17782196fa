"""Billing-period arithmetic: pure functions, no Django.

A period is half-open, [start, end). Periods are computed from an *anchor* (the
subscription's start) and an index, never by adding to the previous period's end, so
that a subscription anchored on 31 January runs 31 Jan → 28/29 Feb → 31 Mar → 30 Apr
(the day is clamped to the month's length and recovers in longer months).
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import TypeVar

D = TypeVar("D", date, datetime)


class Unit(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"


def add_months(moment: D, months: int) -> D:
    """`moment` plus whole months, clamping the day to the target month's length."""
    month_index = moment.month - 1 + months
    year = moment.year + month_index // 12
    month = month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def add_period(anchor: D, count: int, unit: str) -> D:
    """`anchor` plus `count` units. Months and years clamp month ends (see module doc)."""
    unit = Unit(unit)
    if unit is Unit.DAY:
        return anchor + timedelta(days=count)
    if unit is Unit.WEEK:
        return anchor + timedelta(weeks=count)
    if unit is Unit.MONTH:
        return add_months(anchor, count)
    return add_months(anchor, 12 * count)


def period_bounds(anchor: D, index: int, count: int, unit: str) -> tuple[D, D]:
    """The `index`-th period (0-based) of length `count` `unit`s from `anchor`: [start, end)."""
    if count < 1:
        raise ValueError("A period is at least one unit long.")
    if index < 0:
        raise ValueError("Period indexes start at 0.")
    return add_period(anchor, index * count, unit), add_period(anchor, (index + 1) * count, unit)


def period_containing(anchor: D, moment: D, count: int, unit: str) -> tuple[int, D, D]:
    """The period that contains `moment` (at or after `anchor`): (index, start, end)."""
    at = _instant(moment)
    if at < _instant(anchor):
        raise ValueError("The moment lies before the anchor.")
    index = _estimate_index(anchor, moment, count, unit)
    while True:
        start, end = period_bounds(anchor, index, count, unit)
        if at < _instant(start):
            index -= 1
        elif at >= _instant(end):
            index += 1
        else:
            return index, start, end


def _instant(moment: D) -> D:
    """What to compare. Python compares aware datetimes of one zone by their wall clock,
    so in the hour repeated when the clocks go back, 02:10 CET would count as before
    02:50 CEST of the same night; aware datetimes are compared in UTC instead."""
    if isinstance(moment, datetime) and moment.tzinfo is not None:
        return moment.astimezone(UTC)
    return moment


def _estimate_index(anchor: date, moment: date, count: int, unit: str) -> int:
    """A first guess that period_containing corrects by stepping: exactness not needed."""
    return max(0, int((moment - anchor).days // approximate_days(count, unit)))


# Approximate lengths let us compare periods of different units (is a cancellation period
# of 6 weeks shorter than an interval of 2 months?). Exact within the same unit family.
_APPROXIMATE_DAYS = {"day": 1.0, "week": 7.0, "month": 30.436875, "year": 365.2425}


def approximate_days(count: int, unit: str) -> float:
    """Average length of `count` `unit`s in days; for comparing periods, never for billing."""
    return count * _APPROXIMATE_DAYS[Unit(unit)]


def compare_periods(a: tuple[int, str], b: tuple[int, str]) -> int:
    """-1, 0 or 1 as period a is shorter than, as long as, or longer than period b."""
    months = {"month": 1, "year": 12}
    days = {"day": 1, "week": 7}
    (ac, au), (bc, bu) = a, b
    for family in (months, days):
        if au in family and bu in family:
            left, right = ac * family[au], bc * family[bu]
            return (left > right) - (left < right)
    left, right = approximate_days(ac, au), approximate_days(bc, bu)
    return (left > right) - (left < right)
