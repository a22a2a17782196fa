"""coupons.codes: templates to codes (pure; Hypothesis for the properties)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coupons.codes import (
    ALPHABET,
    expand_template,
    fresh_codes,
    literal_code,
    min_alphanumeric_placeholders,
    normalize,
)


def test_the_seed_example_gives_coupon_87_to_coupon_91():
    assert expand_template("coupon_##", "numeric", 5, 87) == [
        "coupon_87",
        "coupon_88",
        "coupon_89",
        "coupon_90",
        "coupon_91",
    ]


def test_numeric_codes_are_zero_padded_to_the_placeholder_width():
    assert expand_template("A-####", "numeric", 3) == ["A-0000", "A-0001", "A-0002"]


def test_scattered_placeholders_are_the_digits_of_one_number_left_to_right():
    assert expand_template("A#-#{x}", "numeric", 2, 12) == ["A1-2{x}", "A1-3{x}"]


@pytest.mark.parametrize(
    ("template", "charset", "quantity", "range_start", "message"),
    [
        ("coupon", "numeric", 5, 0, "at least one #"),
        ("coupon_##", "numeric", 0, 0, "at least 1"),
        ("coupon_##", "numeric", 5, -1, "cannot be negative"),
        ("coupon_##", "numeric", 5, 96, "needs the number 100, which has 3 digits"),
        ("coupon_##", "numeric", 101, 0, "needs the number 100"),
        ("X-###", "alphanumeric", 1, 0, "need at least 4 #"),
        ("X-#####", "alphanumeric", 1000, 0, "need at least 6 #"),
        ("X-####", "latin", 1, 0, "Unknown charset"),
    ],
)
def test_codes_that_cannot_fit_the_template_are_refused_with_the_reason(
    template, charset, quantity, range_start, message
):
    with pytest.raises(ValueError, match=message):
        expand_template(template, charset, quantity, range_start)


def test_the_last_number_that_fits_is_accepted():
    assert expand_template("c##", "numeric", 5, 95)[-1] == "c99"


@pytest.mark.parametrize(("quantity", "places"), [(1, 4), (1000, 6), (1_000_000, 8), (2, 5)])
def test_unguessable_means_a_code_space_of_a_million_per_code(quantity, places):
    assert min_alphanumeric_placeholders(quantity) == places
    assert len(ALPHABET) ** places >= quantity * 10**6
    assert len(ALPHABET) ** (places - 1) < quantity * 10**6


def test_the_alphabet_has_no_confusable_characters_and_no_lower_case():
    assert not set("0O1Il") & set(ALPHABET)
    assert ALPHABET.isupper()
    assert len(set(ALPHABET)) == len(ALPHABET) == 32


def _matches(code: str, template: str, symbols: str) -> bool:
    pattern = "".join(
        f"[{re.escape(symbols)}]" if char == "#" else re.escape(char) for char in template
    )
    return re.fullmatch(pattern, code) is not None


templates = st.tuples(
    st.text(alphabet="abcXYZ-_{}.", max_size=6),
    st.integers(min_value=1, max_value=10),
    st.text(alphabet="abc-_{}", max_size=4),
    st.integers(min_value=0, max_value=2),
).map(lambda t: t[0] + "#" * t[1] + t[2] + "#" * t[3])


@settings(max_examples=200, deadline=None)
@given(template=templates, quantity=st.integers(1, 300), data=st.data())
def test_numeric_codes_count_up_and_match_the_template(template, quantity, data):
    places = template.count("#")
    if 10**places < quantity:
        with pytest.raises(ValueError, match="digits"):
            expand_template(template, "numeric", quantity)
        return
    start = data.draw(st.integers(0, 10**places - quantity))
    codes = expand_template(template, "numeric", quantity, start)
    assert len(codes) == len(set(codes)) == quantity
    assert all(_matches(code, template, "0123456789") for code in codes)
    assert [int("".join(c for c, t in zip(code, template, strict=True) if t == "#"))
            for code in codes] == list(range(start, start + quantity))  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(template=templates, quantity=st.integers(1, 500))
def test_alphanumeric_codes_are_unique_match_the_template_and_use_the_alphabet(template, quantity):
    if template.count("#") < min_alphanumeric_placeholders(quantity):
        with pytest.raises(ValueError, match="unguessable"):
            expand_template(template, "alphanumeric", quantity)
        return
    codes = expand_template(template, "alphanumeric", quantity)
    assert len(codes) == quantity
    assert len({code.upper() for code in codes}) == quantity
    assert all(len(code) == len(template) for code in codes)
    assert all(_matches(code, template, ALPHABET) for code in codes)


def test_fresh_codes_draw_again_only_the_ones_reported_as_taken():
    seen: list[list[str]] = []

    def taken(candidates):
        seen.append(candidates)
        return candidates[:3] if len(seen) == 1 else []

    codes = fresh_codes("T-########", 10, taken)
    assert len(codes) == len(set(codes)) == 10
    assert [len(batch) for batch in seen] == [10, 3]
    assert not set(seen[0][:3]) & set(codes)


def test_fresh_codes_give_up_when_everything_is_taken():
    with pytest.raises(ValueError, match="enough unique codes"):
        fresh_codes("T-####", 2, lambda candidates: candidates)


def test_a_template_without_placeholders_is_one_literal_shared_code():
    assert literal_code("XYZ-COMPANY", 1) == "XYZ-COMPANY"
    assert literal_code("XYZ-COMPANY", 2) is None
    assert literal_code("XYZ-#####", 1) is None


def test_what_customers_type_is_compared_upper_case_without_surrounding_spaces():
    assert normalize("  xyz-company \n") == "XYZ-COMPANY"
