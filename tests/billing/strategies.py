"""Hypothesis strategies for price schedules, shared by the billing tests."""

from hypothesis import strategies as st

from billing.pricing import PriceSchedule, Tier

amounts = st.decimals(min_value=0, max_value=1000, places=2)
fine_amounts = st.decimals(min_value=0, max_value=100, places=3)  # sub-cent, to test rounding
quantities = st.integers(min_value=0, max_value=5000)
modes = st.sampled_from(["volume", "graduated", "stairstep"])


@st.composite
def tier_lists(draw, amount=amounts):
    """1-5 tiers with strictly increasing bounds, the last one open."""
    bounds = sorted(draw(st.sets(st.integers(min_value=1, max_value=500), max_size=4)))
    return tuple(Tier(bound, draw(amount), draw(amount)) for bound in [*bounds, None])


@st.composite
def schedules(draw, mode=modes, amount=amounts):
    """Per user (package size 1) or per package of 2-25 users."""
    size = draw(st.integers(min_value=1, max_value=25))
    return PriceSchedule(
        "per_user" if size == 1 else "per_package",
        draw(tier_lists(amount)),
        mode=draw(mode),
        package_size=size,
        base_fee=draw(amount),
    )
