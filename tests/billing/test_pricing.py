"""The pricing engine (billing.pricing): worked examples, refusals and properties.

The running example is the seeds' contract: 2.50 EUR per user, cheaper in bulk.

    tier   users     unit price
    1      1-10      2.50
    2      11-50     2.00
    3      51 and up 1.50
"""

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.pricing import PriceLine, PriceSchedule, Tier, breakdown, price

from .strategies import fine_amounts, modes, quantities, schedules, tier_lists

D = Decimal
ZERO = Decimal(0)

SEED_TIERS = (Tier(10, D("2.50")), Tier(50, D("2.00")), Tier(None, D("1.50")))


def per_user(mode="volume", tiers=SEED_TIERS, base_fee=ZERO):
    return PriceSchedule("per_user", tiers, mode=mode, base_fee=base_fee)


# --- volume: every user at the price of the tier the total falls in ---------------------


@pytest.mark.parametrize(
    ("users", "expected"),
    [
        (1, "2.50"),  # 1 x 2.50
        (10, "25.00"),  # 10 x 2.50, still tier 1 (up_to is inclusive)
        (11, "22.00"),  # 11 x 2.00: the whole quantity drops to tier 2
        (12, "24.00"),  # 12 x 2.00
        (50, "100.00"),  # 50 x 2.00
        (51, "76.50"),  # 51 x 1.50
        (1000, "1500.00"),  # 1000 x 1.50
    ],
)
def test_volume_prices_all_users_at_the_tier_the_total_falls_in(users, expected):
    assert price(per_user("volume"), users) == D(expected)


def test_volume_adds_the_flat_amount_of_the_tier_reached_only():
    # tier 1: 2.50/user + 5.00 flat; tier 2: 2.00/user + 8.00 flat
    schedule = per_user(
        "volume", (Tier(10, D("2.50"), D("5.00")), Tier(None, D("2.00"), D("8.00")))
    )

    assert price(schedule, 10) == D("30.00")  # 10 x 2.50 + 5.00
    assert price(schedule, 12) == D("32.00")  # 12 x 2.00 + 8.00 (tier 1's 5.00 not charged)


# --- graduated: each user at the price of its own tier ------------------------------------


@pytest.mark.parametrize(
    ("users", "expected"),
    [
        (1, "2.50"),  # 1 x 2.50
        (10, "25.00"),  # 10 x 2.50
        (12, "29.00"),  # 10 x 2.50 + 2 x 2.00
        (50, "105.00"),  # 10 x 2.50 + 40 x 2.00
        (51, "106.50"),  # 10 x 2.50 + 40 x 2.00 + 1 x 1.50
        (100, "180.00"),  # 25.00 + 80.00 + 50 x 1.50
    ],
)
def test_graduated_prices_each_user_in_its_own_tier(users, expected):
    assert price(per_user("graduated"), users) == D(expected)


def test_graduated_adds_the_flat_amount_of_every_tier_reached():
    # tier 1: 1.00/user + 3.00 flat; tier 2: 0.50/user + 4.00; tier 3: 0.25/user + 100.00
    schedule = per_user(
        "graduated",
        (
            Tier(5, D("1.00"), D("3.00")),
            Tier(10, D("0.50"), D("4.00")),
            Tier(None, D("0.25"), D("100.00")),
        ),
    )

    assert price(schedule, 5) == D("8.00")  # 5 x 1.00 + 3.00; tier 2 not reached
    assert price(schedule, 6) == D("12.50")  # 5 x 1.00 + 3.00 + 1 x 0.50 + 4.00
    assert price(schedule, 10) == D("14.50")  # 8.00 + 5 x 0.50 + 4.00; tier 3 not reached


def test_graduated_breakdown_has_one_line_per_tier_reached():
    # 12 users: 10 in tier 1 (25.00), 2 in tier 2 (4.00); tier 3 not reached
    assert breakdown(per_user("graduated"), 12) == [
        PriceLine(SEED_TIERS[0], 10, D("25.00")),
        PriceLine(SEED_TIERS[1], 2, D("4.00")),
    ]


def test_volume_breakdown_has_the_one_tier_reached():
    assert breakdown(per_user("volume"), 12) == [PriceLine(SEED_TIERS[1], 12, D("24.00"))]


# --- stairstep: one flat price for the tier the total falls in ----------------------------

STAIRS = (
    Tier(10, flat_amount=D("20.00")),
    Tier(50, flat_amount=D("80.00")),
    Tier(None, flat_amount=D("150.00")),
)


@pytest.mark.parametrize(
    ("users", "expected"),
    [
        (1, "20.00"),  # 1-10 users: 20.00 flat
        (10, "20.00"),
        (11, "80.00"),  # 11-50 users: 80.00 flat
        (50, "80.00"),
        (51, "150.00"),  # 51 and more: 150.00 flat
        (5000, "150.00"),
    ],
)
def test_stairstep_charges_the_flat_price_of_the_tier_reached(users, expected):
    assert price(per_user("stairstep", STAIRS), users) == D(expected)


def test_stairstep_charges_a_unit_amount_on_top_when_one_is_given():
    # A documented choice: nothing a merchant entered is ignored. 20.00 + 12 x 1.00.
    schedule = per_user(
        "stairstep", (Tier(10, D("0.50"), D("10.00")), Tier(None, D("1.00"), D("20.00")))
    )

    assert price(schedule, 12) == D("32.00")


# --- per package: a started package counts whole -----------------------------------------


@pytest.mark.parametrize(
    ("users", "packages", "expected"),
    [
        (1, 1, "5.00"),  # a started package counts whole
        (10, 1, "5.00"),
        (11, 2, "10.00"),  # 11 users = 2 packages of 10 = 2 x 5.00
        (20, 2, "10.00"),
        (21, 3, "15.00"),
    ],
)
def test_per_package_counts_started_packages_whole(users, packages, expected):
    # the seeds' example: 10 users for 5 EUR
    schedule = PriceSchedule("per_package", (Tier(None, D("5.00")),), package_size=10)

    assert schedule.units(users) == packages
    assert price(schedule, users) == D(expected)


def test_per_package_tier_bounds_count_packages_not_users():
    # packages of 10 users; 1-3 packages at 5.00, the 4th and more at 4.00 (graduated)
    schedule = PriceSchedule(
        "per_package",
        (Tier(3, D("5.00")), Tier(None, D("4.00"))),
        mode="graduated",
        package_size=10,
    )

    assert price(schedule, 30) == D("15.00")  # 3 packages x 5.00
    assert price(schedule, 31) == D("19.00")  # 4 packages: 3 x 5.00 + 1 x 4.00


# --- base fee and zero users ---------------------------------------------------------------


@pytest.mark.parametrize("mode", ["volume", "graduated", "stairstep"])
def test_zero_users_cost_the_base_fee_alone_without_any_flat_amount(mode):
    # base fee 10.00, tier 1 has a 7.00 flat amount that 0 users do not reach
    schedule = per_user(mode, (Tier(None, D("2.50"), D("7.00")),), base_fee=D("10.00"))

    assert price(schedule, 0) == D("10.00")
    assert breakdown(schedule, 0) == []


def test_base_fee_is_added_to_the_tiers():
    # 10.00 + 12 x 2.00 (volume)
    assert price(per_user("volume", base_fee=D("10.00")), 12) == D("34.00")


def test_free_contract_costs_zero_with_two_decimals():
    result = price(per_user(tiers=(Tier(None),)), 7)

    assert result == D(0)
    assert str(result) == "0.00"


# --- rounding -----------------------------------------------------------------------------


def test_rounds_sub_cent_unit_prices_half_up_to_the_cent():
    # 0.333 x 3 = 0.999 -> 1.00; 0.125 x 1 = 0.125 -> 0.13 (half up, not half even)
    assert price(per_user(tiers=(Tier(None, D("0.333")),)), 3) == D("1.00")
    assert price(per_user(tiers=(Tier(None, D("0.125")),)), 1) == D("0.13")
    assert price(per_user(tiers=(Tier(None, D("0.005")),)), 1) == D("0.01")


def test_graduated_rounds_each_line_so_the_lines_add_up_to_the_price():
    # two tiers at 0.125: 0.125 -> 0.13 per line, so the invoice shows 0.13 + 0.13 = 0.26
    # (the exact 0.25 would leave the lines one cent off the total)
    schedule = per_user("graduated", (Tier(1, D("0.125")), Tier(None, D("0.125"))))

    lines = breakdown(schedule, 2)

    assert [line.amount for line in lines] == [D("0.13"), D("0.13")]
    assert price(schedule, 2) == D("0.26") == sum(line.amount for line in lines)


# --- refusals -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"tiers": ()}, "at least one tier"),
        ({"tiers": (Tier(10),)}, "last tier must be open"),
        ({"tiers": (Tier(None), Tier(None))}, "Only the last tier"),
        ({"tiers": (Tier(10), Tier(10), Tier(None))}, "increase strictly"),
        ({"tiers": (Tier(50), Tier(10), Tier(None))}, "increase strictly"),
        ({"tiers": ("10",)}, "Tier objects"),
        ({"strategy": "per_seat"}, "Unknown pricing strategy"),
        ({"mode": "tiered"}, "Unknown tier mode"),
        ({"package_size": 10}, "Per-user pricing has no packages"),
        ({"strategy": "per_package", "package_size": 0}, "package size"),
        ({"strategy": "per_package", "package_size": 2.5}, "package size"),
        ({"base_fee": D("-1.00")}, "cannot be negative"),
        ({"base_fee": 10}, "must be a Decimal"),
        ({"base_fee": 10.0}, "must be a Decimal"),
        ({"base_fee": D("NaN")}, "finite"),
    ],
)
def test_schedule_refuses_invalid_shapes(kwargs, message):
    arguments = {"strategy": "per_user", "tiers": (Tier(None, D("1.00")),)} | kwargs

    with pytest.raises(ValueError, match=message):
        PriceSchedule(**arguments)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ((0,), "whole number"),
        ((True,), "whole number"),
        (("10",), "whole number"),
        ((None, D("-0.01")), "cannot be negative"),
        ((None, 2.5), "must be a Decimal"),
        ((None, D(0), D("Infinity")), "finite"),
        ((None, D(0), 1), "must be a Decimal"),
    ],
)
def test_tier_refuses_invalid_values(arguments, message):
    with pytest.raises(ValueError, match=message):
        Tier(*arguments)


@pytest.mark.parametrize("quantity", [-1, 2.0, "3", None])
def test_price_refuses_a_quantity_that_is_not_a_whole_number_of_users(quantity):
    with pytest.raises(ValueError, match="quantity"):
        price(per_user(), quantity)


def test_schedule_keeps_tiers_as_a_tuple_and_is_hashable():
    schedule = PriceSchedule("per_user", [Tier(None, D("1.00"))])

    assert schedule.tiers == (Tier(None, D("1.00")),)
    assert hash(schedule) == hash(PriceSchedule("per_user", (Tier(None, D("1.00")),)))


# --- properties ---------------------------------------------------------------------------


@given(schedules(mode=st.just("graduated"), amount=fine_amounts), quantities, quantities)
def test_graduated_price_never_falls_as_users_grow(schedule, a, b):
    low, high = sorted((a, b))

    assert price(schedule, low) <= price(schedule, high)


@given(st.builds(Tier, st.none(), fine_amounts, fine_amounts), fine_amounts, quantities)
def test_volume_and_graduated_agree_with_one_tier(tier, base_fee, users):
    volume = PriceSchedule("per_user", (tier,), mode="volume", base_fee=base_fee)
    graduated = PriceSchedule("per_user", (tier,), mode="graduated", base_fee=base_fee)

    assert price(volume, users) == price(graduated, users)


@given(tier_lists(fine_amounts), modes, fine_amounts, quantities)
def test_per_package_of_one_user_equals_per_user(tiers, mode, base_fee, users):
    by_user = PriceSchedule("per_user", tiers, mode=mode, base_fee=base_fee)
    by_package = PriceSchedule("per_package", tiers, mode=mode, package_size=1, base_fee=base_fee)

    assert price(by_package, users) == price(by_user, users)


@given(schedules(amount=fine_amounts), quantities)
def test_price_is_never_below_the_base_fee(schedule, users):
    assert price(schedule, users) >= schedule.base_fee.quantize(D("0.01"))


@given(schedules(amount=fine_amounts), quantities)
def test_price_always_has_exactly_two_decimal_places(schedule, users):
    assert price(schedule, users).as_tuple().exponent == -2


@given(schedules(amount=fine_amounts), quantities)
def test_price_is_the_rounded_base_fee_plus_the_breakdown(schedule, users):
    lines = breakdown(schedule, users)

    exact = schedule.base_fee + sum(line.amount for line in lines)

    assert price(schedule, users) == exact.quantize(D("0.01"), rounding=ROUND_HALF_UP)
    if schedule.mode == "graduated":
        assert sum(line.units for line in lines) == schedule.units(users)


@given(schedules(), quantities)
def test_a_started_package_costs_as_much_as_a_full_one(schedule, users):
    full = -(-users // schedule.package_size) * schedule.package_size

    assert price(schedule, users) == price(schedule, full)
