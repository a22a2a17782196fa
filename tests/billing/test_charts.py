"""The price chart SVG (billing.charts), without the database."""

from decimal import Decimal
from xml.etree import ElementTree as ET

import pytest
from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.charts import (
    MAX_SAMPLES,
    chart_range,
    is_stepped,
    render_message,
    render_price_chart,
    sample_users,
)
from billing.pricing import PriceSchedule, Tier, price

from .strategies import schedules

D = Decimal
SVG = "{http://www.w3.org/2000/svg}"
SEED_TIERS = (Tier(10, D("2.50")), Tier(50, D("2.00")), Tier(None, D("1.50")))
STAIRS = (
    Tier(10, flat_amount=D("20.00")),
    Tier(50, flat_amount=D("80.00")),
    Tier(None, flat_amount=D("150.00")),
)


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 - our own output, not untrusted input


def texts(svg: str, css_class: str) -> list[str]:
    return [e.text for e in parse(svg).iter(f"{SVG}text") if e.get("class") == css_class]


def test_range_runs_half_again_past_the_last_tier_boundary():
    # last bound 50 users -> 75; never under 20; the maximum user count when larger
    assert chart_range(PriceSchedule("per_user", SEED_TIERS), None) == 75
    assert chart_range(PriceSchedule("per_user", SEED_TIERS), 500) == 500
    assert chart_range(PriceSchedule("per_user", (Tier(None, D(1)),)), None) == 20
    assert chart_range(PriceSchedule("per_user", (Tier(3, D(1)), Tier(None))), 5) == 20


def test_range_counts_package_bounds_in_users():
    # 3 packages of 10 users = 30 users; x 1.5 = 45
    schedule = PriceSchedule("per_package", (Tier(3, D(5)), Tier(None, D(4))), package_size=10)

    assert chart_range(schedule, None) == 45


def test_samples_every_user_in_a_small_range():
    assert sample_users(PriceSchedule("per_user", SEED_TIERS), 75) == list(range(76))


def test_samples_a_large_range_sparsely_but_both_sides_of_each_tier_boundary():
    schedule = PriceSchedule("per_user", (Tier(100), Tier(1001), Tier(None)))

    users = sample_users(schedule, 100_000)

    assert len(users) <= MAX_SAMPLES + 1 + 2 * 2
    assert {0, 100, 101, 1001, 1002, 100_000} <= set(users)
    assert users == sorted(set(users))


def test_samples_package_edges_when_packages_are_wide_enough_to_see():
    schedule = PriceSchedule("per_package", (Tier(None, D(5)),), package_size=7)

    users = sample_users(schedule, 1000)  # stride 5 would miss most multiples of 7

    assert {7, 8, 14, 15, 994, 995} <= set(users)


@pytest.mark.parametrize(
    ("schedule", "stepped"),
    [
        (PriceSchedule("per_user", SEED_TIERS), False),
        (PriceSchedule("per_user", STAIRS, mode="stairstep"), True),
        (PriceSchedule("per_user", SEED_TIERS, mode="stairstep"), False),  # unit amounts
        (PriceSchedule("per_package", (Tier(None, D(5)),), package_size=10), True),
    ],
)
def test_flat_ranges_are_drawn_as_steps_and_per_user_prices_as_a_line(schedule, stepped):
    assert is_stepped(schedule, 100) is stepped


def test_chart_labels_the_price_at_each_tier_boundary_and_at_the_end():
    # graduated: 10 users = 25.00; 50 users = 105.00; 75 users = 105.00 + 25 x 1.50 = 142.50
    svg = render_price_chart(
        PriceSchedule("per_user", SEED_TIERS, mode="graduated"), currency="EUR"
    )

    assert texts(svg, "chart-point-label") == ["€25.00", "€105.00", "€142.50"]
    assert texts(svg, "chart-tier-label") == ["≤ 10", "≤ 50"]
    assert texts(svg, "chart-subtitle") == ["Graduated tiers · per user · base fee €0.00"]


def test_chart_shows_prices_in_the_viewers_locale():
    with translation.override("de"):
        svg = render_price_chart(
            PriceSchedule("per_user", SEED_TIERS, mode="graduated"), currency="EUR", locale="de"
        )

    assert texts(svg, "chart-point-label") == ["25,00\xa0€", "105,00\xa0€", "142,50\xa0€"]
    assert "0\xa0€" in texts(svg, "chart-tick-label")  # whole amounts on the axis


def test_chart_stops_labelling_at_the_maximum_user_count():
    # stairstep, maximum 60 users: the range still runs to 75, washed out past 60
    svg = render_price_chart(
        PriceSchedule("per_user", STAIRS, mode="stairstep"), currency="EUR", maximum_users=60
    )

    assert texts(svg, "chart-point-label") == ["€20.00", "€80.00", "€150.00"]
    assert texts(svg, "chart-maximum-label") == ["maximum 60"]


def test_chart_of_a_free_contract_has_a_sensible_scale():
    svg = render_price_chart(PriceSchedule("per_user", (Tier(None),)), currency="EUR")

    assert texts(svg, "chart-tick-label")[:2] == ["€0.00", "€0.20"]
    assert texts(svg, "chart-subtitle") == ["per user · base fee €0.00"]


def test_chart_escapes_the_contract_name():
    svg = render_price_chart(
        PriceSchedule("per_user", SEED_TIERS), currency="EUR", name='Acme <Gold> & "Co"'
    )

    assert "<Gold>" not in svg
    title = parse(svg).find(f"{SVG}title")
    assert title.text == 'Price per accounting period Acme <Gold> & "Co"'


def test_message_chart_escapes_its_text():
    svg = render_message("Add <tiers> & see")

    assert texts(svg, "chart-message") == ["Add <tiers> & see"]


@settings(max_examples=40, deadline=None)
@given(schedules(), st.none() | st.integers(min_value=1, max_value=100_000))
def test_every_chart_is_well_formed_svg_without_style_attributes(schedule, maximum_users):
    svg = render_price_chart(schedule, currency="EUR", maximum_users=maximum_users)

    root = parse(svg)
    assert root.tag == f"{SVG}svg"
    assert not [e for e in root.iter() if "style" in e.attrib or e.tag == f"{SVG}style"]
    assert "NaN" not in svg
    assert "Infinity" not in svg
    last = chart_range(schedule, maximum_users)
    if maximum_users is None or maximum_users >= last:
        expected = price(schedule, last)
        assert root.findall(f"{SVG}circle")[-1].find(f"{SVG}title").text.endswith(f"€{expected:,}")
