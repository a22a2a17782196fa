"""coupons.discounts: the discount arithmetic (pure)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog.money import round_money
from coupons.discounts import discounted_total, line_discounts, round_half_up

D = Decimal


def test_the_seed_example_a_20_percent_code_on_a_10_usd_add_on_costs_8_usd():
    lines = {"extra-service": D("10.00")}
    assert discounted_total(lines, discount_type="percent", value=D(20)) == D("8.00")


def test_a_percent_coupon_applies_only_to_its_products():
    lines = {1: D("10.00"), 2: D("5.00")}
    assert line_discounts(lines, discount_type="percent", value=D(20), targets=[2]) == {
        1: D("0.00"),
        2: D("1.00"),
    }


def test_a_100_percent_coupon_makes_the_purchase_free():
    lines = {1: D("9.99"), 2: D("0.01")}
    assert discounted_total(lines, discount_type="percent", value=D(100)) == D("0.00")


def test_percent_rounds_half_up_once_per_line():
    # 12.5 % of 0.20 is 0.025 -> 0.03 (half up, not half even)
    assert line_discounts({1: D("0.20")}, discount_type="percent", value=D("12.5")) == {
        1: D("0.03")
    }


def test_an_amount_greater_than_the_price_makes_it_free_not_negative():
    lines = {1: D("6.00"), 2: D("4.00")}
    discounts = line_discounts(lines, discount_type="amount", value=D("25.00"))
    assert discounts == {1: D("6.00"), 2: D("4.00")}
    assert discounted_total(lines, discount_type="amount", value=D("25.00")) == D("0.00")


def test_an_amount_is_spread_in_proportion_to_the_lines():
    lines = {1: D("30.00"), 2: D("10.00")}
    assert line_discounts(lines, discount_type="amount", value=D("4.00")) == {
        1: D("3.00"),
        2: D("1.00"),
    }


def test_leftover_cents_go_to_the_largest_remainders_so_the_shares_add_up():
    lines = {1: D("0.01"), 2: D("0.01"), 3: D("0.01"), 4: D("0.01")}
    discounts = line_discounts(lines, discount_type="amount", value=D("0.02"))
    assert discounts == {1: D("0.01"), 2: D("0.01"), 3: D("0.00"), 4: D("0.00")}


def test_zero_decimal_currencies_round_to_whole_units():
    lines = {1: D(1000), 2: D(500)}
    discounts = line_discounts(lines, discount_type="amount", value=D(100), places=0)
    assert discounts == {1: D(67), 2: D(33)}


def test_the_rounding_is_the_money_module_rule():
    for amount in ("2.345", "-2.345", "0.005", "1.004"):
        assert round_half_up(D(amount)) == round_money(D(amount), "EUR")


@pytest.mark.parametrize("value", [D(0), D("-1"), D("100.01")])
def test_percent_outside_0_to_100_is_refused(value):
    with pytest.raises(ValueError, match="percent"):
        line_discounts({1: D(1)}, discount_type="percent", value=value)


def test_floats_are_refused():
    with pytest.raises(TypeError):
        line_discounts({1: D(1)}, discount_type="percent", value=10.0)


cents = st.integers(min_value=0, max_value=100_000).map(lambda n: D(n) / 100)


@settings(max_examples=300, deadline=None)
@given(
    amounts=st.lists(cents, min_size=1, max_size=8),
    value=cents,
    data=st.data(),
)
def test_amount_shares_never_exceed_a_line_and_add_up_to_the_capped_amount(amounts, value, data):
    lines = dict(enumerate(amounts))
    targets = data.draw(st.sets(st.sampled_from(list(lines))))
    discounts = line_discounts(lines, discount_type="amount", value=value, targets=targets)
    targeted = [k for k in lines if not targets or k in targets]
    assert all(D(0) <= discounts[k] <= lines[k] for k in lines)
    assert all(discounts[k] == 0 for k in lines if k not in targeted)
    assert sum(discounts.values()) == min(value, sum(lines[k] for k in targeted))
    assert all(d == d.quantize(D("0.01")) for d in discounts.values())


@settings(max_examples=300, deadline=None)
@given(
    amounts=st.lists(cents, min_size=1, max_size=8),
    percent=st.integers(1, 10_000).map(lambda n: D(n) / 100),
)
def test_percent_discounts_stay_within_each_line(amounts, percent):
    lines = dict(enumerate(amounts))
    discounts = line_discounts(lines, discount_type="percent", value=percent)
    for key, amount in lines.items():
        assert discounts[key] == round_half_up(amount * percent / 100)
        assert D(0) <= discounts[key] <= amount
