from datetime import date

import pytest

from catalog.periods import add_period, compare_periods, period_bounds, period_containing


def test_monthly_periods_from_31_january_clamp_and_recover():
    anchor = date(2027, 1, 31)
    starts = [period_bounds(anchor, i, 1, "month")[0] for i in range(4)]
    assert starts == [date(2027, 1, 31), date(2027, 2, 28), date(2027, 3, 31), date(2027, 4, 30)]


def test_leap_year_february_has_29_days():
    assert add_period(date(2028, 1, 31), 1, "month") == date(2028, 2, 29)
    assert add_period(date(2028, 2, 29), 1, "year") == date(2029, 2, 28)
    assert add_period(date(2028, 2, 29), 4, "year") == date(2032, 2, 29)


def test_periods_are_half_open_and_adjacent():
    start, end = period_bounds(date(2027, 1, 15), 2, 1, "month")
    assert (start, end) == (date(2027, 3, 15), date(2027, 4, 15))
    assert period_containing(date(2027, 1, 15), date(2027, 4, 15), 1, "month")[0] == 3
    assert period_containing(date(2027, 1, 15), date(2027, 4, 14), 1, "month")[0] == 2


def test_weeks_and_days():
    assert add_period(date(2027, 12, 28), 1, "week") == date(2028, 1, 4)
    assert period_bounds(date(2027, 1, 1), 1, 10, "day") == (date(2027, 1, 11), date(2027, 1, 21))


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ((12, "month"), (1, "year"), 0),
        ((6, "week"), (2, "month"), -1),
        ((2, "year"), (700, "day"), 1),
    ],
)
def test_compare_periods(a, b, expected):
    assert compare_periods(a, b) == expected
