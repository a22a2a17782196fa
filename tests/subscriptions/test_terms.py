"""The term rules (subscriptions.terms): commitment ends, the cancellation period and the
early-cancellation penalty, with worked examples and properties. Pure: no database."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from subscriptions.terms import (
    TermValues,
    add_from_anchor,
    cancellation_takes_effect,
    commitment_end,
    penalty,
)


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def term(**values) -> TermValues:
    """12 calendar months, early cancellation allowed, unless told otherwise."""
    defaults = {
        "code": "12-months",
        "commitment_count": 12,
        "commitment_unit": "month",
        "commitment_basis": "calendar",
        "early_cancellation": "allowed",
    }
    return TermValues(**{**defaults, **values})


def penalty_term(fee: str = "120.00", *, pro_rata: bool = True, grace_days: int = 0, **values):
    return term(
        early_cancellation="penalty",
        penalty_fee_amount=Decimal(fee),
        pro_rata_penalty=pro_rata,
        grace_period_count=grace_days,
        grace_period_unit="day",
        penalty_tax_rate=Decimal("19.00"),
        penalty_ledger_account="8450",
        penalty_line_type="penalty",
        **values,
    )


# --- snapshots ---------------------------------------------------------------------------


def test_snapshot_round_trips_through_json_with_decimals_as_strings():
    values = penalty_term("49.99", grace_days=14, renewal_term_code="monthly")

    snapshot = values.to_snapshot()

    assert snapshot["penalty_fee_amount"] == "49.99"
    assert snapshot["penalty_tax_rate"] == "19.00"
    assert snapshot["renewal_term_code"] == "monthly"
    assert TermValues.from_snapshot(json.loads(json.dumps(snapshot))) == values


def test_snapshot_without_penalty_keeps_empty_values():
    values = term(commitment_basis="billing_cycles", commitment_unit="")

    snapshot = values.to_snapshot()

    assert snapshot["penalty_fee_amount"] is None
    assert snapshot["renewal_term_code"] is None
    assert TermValues.from_snapshot(snapshot) == values


def test_from_snapshot_ignores_keys_it_does_not_know():
    snapshot = {**term().to_snapshot(), "added_later": True}

    assert TermValues.from_snapshot(snapshot) == term()


# --- commitment end ----------------------------------------------------------------------


def test_twelve_calendar_months_from_31_january_end_on_31_january_next_year():
    end = commitment_end(
        starts_at=at(2027, 1, 31), term=term(), interval_count=1, interval_unit="month"
    )

    assert end == at(2028, 1, 31)


def test_one_calendar_year_from_29_february_ends_on_28_february():
    values = term(commitment_count=1, commitment_unit="year")

    end = commitment_end(
        starts_at=at(2028, 2, 29), term=values, interval_count=1, interval_unit="month"
    )

    assert end == at(2029, 2, 28)


def test_calendar_days_ignore_the_billing_interval():
    values = term(commitment_count=30, commitment_unit="day")

    end = commitment_end(
        starts_at=at(2027, 1, 31, 9, 30), term=values, interval_count=1, interval_unit="year"
    )

    assert end == at(2027, 3, 2, 9, 30)


def test_twelve_monthly_billing_cycles_from_31_january_end_on_31_january():
    values = term(commitment_basis="billing_cycles", commitment_unit="")

    end = commitment_end(
        starts_at=at(2027, 1, 31), term=values, interval_count=1, interval_unit="month"
    )

    assert end == at(2028, 1, 31)


def test_one_monthly_billing_cycle_from_31_january_ends_on_28_february():
    values = term(commitment_basis="billing_cycles", commitment_unit="", commitment_count=1)

    end = commitment_end(
        starts_at=at(2027, 1, 31), term=values, interval_count=1, interval_unit="month"
    )

    assert end == at(2027, 2, 28)


def test_three_fortnightly_billing_cycles_last_six_weeks():
    values = term(commitment_basis="billing_cycles", commitment_unit="", commitment_count=3)

    end = commitment_end(
        starts_at=at(2027, 1, 1), term=values, interval_count=2, interval_unit="week"
    )

    assert end == at(2027, 2, 12)


def test_a_commitment_starting_on_a_clamped_day_recovers_the_anchor_day():
    """A monthly renewal commitment that starts on 28 Feb of a subscription anchored on
    31 Jan ends on 31 Mar, in step with the billing periods (not on 28 Mar)."""
    values = term(commitment_basis="billing_cycles", commitment_unit="", commitment_count=1)

    with_anchor = commitment_end(
        starts_at=at(2027, 2, 28),
        term=values,
        interval_count=1,
        interval_unit="month",
        anchor=at(2027, 1, 31),
    )
    without_anchor = commitment_end(
        starts_at=at(2027, 2, 28), term=values, interval_count=1, interval_unit="month"
    )

    assert with_anchor == at(2027, 3, 31)
    assert without_anchor == at(2027, 3, 28)


def test_add_from_anchor_counts_from_start_when_start_is_off_the_anchor_series():
    assert add_from_anchor(at(2027, 2, 15), 1, "month", at(2027, 1, 31)) == at(2027, 3, 15)


def test_add_from_anchor_ignores_the_anchor_for_days():
    assert add_from_anchor(at(2027, 2, 28), 3, "day", at(2027, 1, 31)) == at(2027, 3, 3)


def test_add_from_anchor_a_year_after_a_clamped_february_keeps_the_anchor_day():
    """28 Feb 2027 is 31 Jan 2027 + 1 month, so a year later is 31 Jan + 13 months:
    29 Feb 2028 (a leap year); and 29 Feb 2028 (31 Jan 2028 + 1 month) + 1 year is
    28 Feb 2029."""
    assert add_from_anchor(at(2027, 2, 28), 1, "year", at(2027, 1, 31)) == at(2028, 2, 29)
    assert add_from_anchor(at(2028, 2, 29), 1, "year", at(2028, 1, 31)) == at(2029, 2, 28)


def test_billing_cycles_need_an_interval():
    values = term(commitment_basis="billing_cycles", commitment_unit="")

    with pytest.raises(ValueError, match="billing interval"):
        commitment_end(starts_at=at(2027, 1, 1), term=values, interval_count=None, interval_unit="")


def test_an_unknown_basis_is_refused():
    with pytest.raises(ValueError, match="basis"):
        commitment_end(
            starts_at=at(2027, 1, 1),
            term=term(commitment_basis="fortnights"),
            interval_count=1,
            interval_unit="month",
        )


# --- cancellation period -----------------------------------------------------------------

PERIOD_END = at(2027, 3, 31)
NEXT_PERIOD_END = at(2027, 4, 30)


def takes_effect(received_at: datetime, count: int = 14, unit: str = "day") -> datetime:
    return cancellation_takes_effect(
        received_at=received_at,
        period_end=PERIOD_END,
        next_period_end=NEXT_PERIOD_END,
        notice_count=count,
        notice_unit=unit,
    )


def test_cancellation_received_15_days_before_period_end_takes_effect_at_period_end():
    assert takes_effect(at(2027, 3, 16)) == at(2027, 3, 31)


def test_cancellation_received_exactly_14_days_before_takes_effect_at_period_end():
    assert takes_effect(at(2027, 3, 17)) == at(2027, 3, 31)


def test_cancellation_received_13_days_before_takes_effect_at_next_period_end():
    assert takes_effect(at(2027, 3, 18)) == at(2027, 4, 30)


def test_cancellation_one_second_late_takes_effect_at_next_period_end():
    assert takes_effect(at(2027, 3, 17) + timedelta(seconds=1)) == at(2027, 4, 30)


def test_one_month_notice_before_31_march_means_by_28_february():
    assert takes_effect(at(2027, 2, 28), 1, "month") == at(2027, 3, 31)
    assert takes_effect(at(2027, 3, 1), 1, "month") == at(2027, 4, 30)


def test_without_notice_period_any_time_before_period_end_is_in_time():
    assert takes_effect(at(2027, 3, 30, 23, 59), 0) == at(2027, 3, 31)


# --- penalty -----------------------------------------------------------------------------

START = at(2027, 1, 1)
END = at(2028, 1, 1)  # 365 days later


def fee_for(values: TermValues, cancelled_at: datetime, ends_at: datetime | None = None):
    return penalty(
        term=values,
        commitment_starts_at=START,
        commitment_ends_at=END,
        cancelled_at=cancelled_at,
        ends_at=ends_at,
    )


def test_pro_rata_120_eur_cancelled_after_3_of_12_weekly_cycles_is_90_eur():
    values = penalty_term("120.00")
    start = at(2027, 1, 4)

    amount = penalty(
        term=values,
        commitment_starts_at=start,
        commitment_ends_at=start + timedelta(weeks=12),
        cancelled_at=start + timedelta(weeks=3),
    )

    assert amount == Decimal("90.00")


def test_pro_rata_counts_time_not_months():
    """1 Jan → 1 Apr is 90 of 365 days, so 275/365 of 120.00 = 90.4109… → 90.41."""
    assert fee_for(penalty_term("120.00"), at(2027, 4, 1)) == Decimal("90.41")


def test_pro_rata_counts_the_commitment_left_when_the_subscription_stops():
    """Received 1 Apr, effective 1 May: 245/365 of 120.00 = 80.5479… → 80.55."""
    assert fee_for(penalty_term("120.00"), at(2027, 4, 1), at(2027, 5, 1)) == Decimal("80.55")


def test_pro_rata_rounds_half_up_once():
    """Half the commitment left: 0.05 * 1/2 = 0.025 → 0.03."""
    values = penalty_term("0.05")
    middle = START + (END - START) / 2

    assert fee_for(values, middle) == Decimal("0.03")


def test_without_pro_rata_the_whole_fee_is_due():
    assert fee_for(penalty_term("120.00", pro_rata=False), at(2027, 12, 31)) == Decimal("120.00")


def test_within_a_14_day_grace_period_there_is_no_fee():
    values = penalty_term("120.00", grace_days=14)

    assert fee_for(values, at(2027, 1, 14, 23, 59)) == Decimal("0.00")


def test_right_after_the_grace_period_the_fee_applies():
    """From 15 Jan, 351 of 365 days are left: 120.00 * 351/365 = 115.3972… → 115.40."""
    values = penalty_term("120.00", grace_days=14)

    assert fee_for(values, at(2027, 1, 15)) == Decimal("115.40")


def test_grace_counts_when_the_cancellation_arrived_not_when_it_takes_effect():
    values = penalty_term("120.00", pro_rata=False, grace_days=14)

    assert fee_for(values, at(2027, 1, 10), at(2027, 2, 1)) == Decimal("0.00")


def test_no_fee_once_the_commitment_is_served():
    assert fee_for(penalty_term("120.00"), END) == Decimal("0.00")
    assert fee_for(penalty_term("120.00"), at(2027, 6, 1), END) == Decimal("0.00")


def test_no_fee_when_early_cancellation_is_allowed():
    assert fee_for(term(), at(2027, 2, 1)) == Decimal("0.00")


def test_fee_is_rounded_to_the_currency_minor_unit():
    """JPY has no minor unit: 1000 * 275/365 = 753.42… → 753."""
    values = penalty_term("1000", currency="JPY")

    assert fee_for(values, at(2027, 4, 1)) == Decimal("753")


# --- properties --------------------------------------------------------------------------

moments = st.datetimes(
    min_value=datetime(2020, 1, 1),  # noqa: DTZ001 (hypothesis wants naive bounds)
    max_value=datetime(2040, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)
fees = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("100000"), places=2)
durations = st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=3650))
offsets = st.timedeltas(min_value=-timedelta(days=400), max_value=timedelta(days=4000))


@given(
    start=moments,
    length=durations,
    offset=offsets,
    extra=offsets,
    fee=fees,
    pro_rata=st.booleans(),
    grace=st.integers(0, 60),
)
def test_penalty_is_never_below_zero_nor_above_the_fee(
    start, length, offset, extra, fee, pro_rata, grace
):
    values = penalty_term(str(fee), pro_rata=pro_rata, grace_days=grace)
    cancelled_at = start + offset

    amount = penalty(
        term=values,
        commitment_starts_at=start,
        commitment_ends_at=start + length,
        cancelled_at=cancelled_at,
        ends_at=max(cancelled_at, cancelled_at + extra),
    )

    assert Decimal("0.00") <= amount <= fee
    assert amount == amount.quantize(Decimal("0.01"))


@given(
    start=moments,
    length=durations,
    first=offsets,
    later_by=durations,
    fee=fees,
    grace=st.integers(0, 60),
)
def test_pro_rata_penalty_never_increases_as_the_cancellation_moves_later(
    start, length, first, later_by, fee, grace
):
    """Once past the grace period (inside it the fee is 0), a later cancellation never
    costs more."""
    values = penalty_term(str(fee), grace_days=grace)
    earlier = max(start + first, start + timedelta(days=grace))
    later = earlier + later_by

    def amount(cancelled_at):
        return penalty(
            term=values,
            commitment_starts_at=start,
            commitment_ends_at=start + length,
            cancelled_at=cancelled_at,
        )

    assert amount(later) <= amount(earlier)


@given(
    received=moments,
    period_end=moments,
    gap=durations,
    count=st.integers(0, 90),
    unit=st.sampled_from(["day", "week", "month", "year"]),
)
def test_a_cancellation_takes_effect_at_one_of_the_two_period_ends(
    received, period_end, gap, count, unit
):
    next_end = period_end + gap

    result = cancellation_takes_effect(
        received_at=received,
        period_end=period_end,
        next_period_end=next_end,
        notice_count=count,
        notice_unit=unit,
    )

    assert result in (period_end, next_end)
    if result == period_end and count:
        assert received < period_end


@given(
    start=moments,
    count=st.integers(1, 120),
    basis_unit=st.sampled_from(
        [("calendar", "day"), ("calendar", "month"), ("calendar", "year"), ("billing_cycles", "")]
    ),
    interval=st.tuples(st.integers(1, 12), st.sampled_from(["day", "week", "month", "year"])),
)
def test_a_commitment_always_ends_after_it_starts(start, count, basis_unit, interval):
    basis, unit = basis_unit
    values = term(commitment_basis=basis, commitment_unit=unit, commitment_count=count)

    end = commitment_end(
        starts_at=start, term=values, interval_count=interval[0], interval_unit=interval[1]
    )

    assert end > start


@given(
    fee=st.one_of(st.none(), fees),
    rate=st.one_of(st.none(), st.decimals(min_value=0, max_value=100, places=2)),
    renewal=st.one_of(st.none(), st.text(min_size=1, max_size=20)),
    notice=st.integers(0, 30),
)
def test_any_term_survives_a_snapshot_round_trip(fee, rate, renewal, notice):
    values = term(
        penalty_fee_amount=fee,
        penalty_tax_rate=rate,
        renewal_term_code=renewal,
        notice_period_count=notice,
    )

    assert TermValues.from_snapshot(json.loads(json.dumps(values.to_snapshot()))) == values
