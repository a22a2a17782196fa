"""The corporate retry schedule (issue 8: table-driven for 1 day … 1 year)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.dunning import retry_days


@pytest.mark.parametrize(
    ("count", "unit", "days"),
    [
        (1, "day", [1, 3]),
        (7, "day", [1, 3]),  # a week at most
        (8, "day", [2, 5, 8]),  # one day past a week
        (1, "week", [1, 3]),
        (2, "week", [2, 5, 8]),
        (4, "week", [2, 5, 8]),  # 28 days
        (5, "week", [3, 8, 14]),  # 35 days: longer than any month
        (1, "month", [2, 5, 8]),
        (31, "day", [2, 5, 8]),  # as long as the longest month
        (32, "day", [3, 8, 14]),
        (2, "month", [3, 8, 14]),
        (3, "month", [3, 8, 14]),
        (1, "year", [3, 8, 14]),
    ],
)
def test_retry_days_by_interval(count, unit, days):
    assert retry_days(count, unit) == days


@pytest.mark.parametrize(
    ("count", "unit", "message"),
    [
        (0, "month", "at least 1"),
        (-1, "day", "at least 1"),
        (1.5, "day", "whole number"),
        (True, "day", "whole number"),
        (1, "hour", "Unknown interval unit"),
    ],
)
def test_nonsense_intervals_are_refused(count, unit, message):
    with pytest.raises(ValueError, match=message):
        retry_days(count, unit)


def _days(count: int, unit: str) -> int:
    return count * {"day": 1, "week": 7, "month": 30, "year": 365}[unit]


intervals = st.tuples(st.integers(1, 400), st.sampled_from(["day", "week", "month", "year"]))


@given(intervals, intervals)
def test_a_longer_interval_never_retries_sooner(a, b):
    (short, long_) = sorted([a, b], key=lambda i: _days(*i))
    assert retry_days(*short)[0] <= retry_days(*long_)[0]


@given(intervals)
def test_retries_are_increasing_days_within_two_weeks(interval):
    days = retry_days(*interval)
    assert days == sorted(set(days))
    assert days[0] >= 1
    assert days[-1] <= 14
