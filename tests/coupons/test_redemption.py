"""Checking, claiming and releasing codes; throttling wrong guesses."""

from __future__ import annotations

from datetime import timedelta

import pytest

from coupons.exceptions import CouponRefused, NothingToRelease
from coupons.models import Code
from coupons.services import (
    campaign_disable,
    campaign_enable,
    code_check,
    code_claim,
    code_disable,
    code_enable,
    code_lookup,
    code_release,
    guess_record_failure,
    guess_throttle_check,
)
from tests.coupons.factories import NOW, VALID_FROM, make_campaign

pytestmark = pytest.mark.django_db


@pytest.fixture
def shared():
    """The seeds' company XYZ: one code, 50 redemptions."""
    return make_campaign(template="XYZ-COMPANY", quantity=1, redemption_quantity=50)


def _use(campaign, code="XYZ-COMPANY", **kwargs):
    values = {"code": code, "bundle_ids": [campaign.bundle_id], "kind": "coupon", "now": NOW}
    return code_claim(**(values | kwargs))


def _reason(call) -> str:
    with pytest.raises(CouponRefused) as caught:
        call()
    return caught.value.reason


def test_a_code_is_found_whatever_the_case_and_spaces(shared):
    assert code_lookup(code="  xyz-company ").code == "XYZ-COMPANY"
    assert code_lookup(code="xyz") is None
    assert code_lookup(code="   ") is None


def test_checking_a_code_consumes_nothing(shared):
    code = code_check(code="xyz-company", bundle_ids=[shared.bundle_id], kind="coupon", now=NOW)

    assert code.code == "XYZ-COMPANY"
    assert Code.objects.get().redeemed_count == 0


def test_claiming_counts_one_redemption(shared):
    code = _use(shared)

    assert code.redeemed_count == 1
    assert Code.objects.get().redeemed_count == 1


def test_a_shared_code_is_used_at_most_its_redemption_quantity(shared):
    Code.objects.update(redeemed_count=49)
    _use(shared)

    assert _reason(lambda: _use(shared)) == "used_up"
    assert Code.objects.get().redeemed_count == 50


def test_a_single_use_coupon_is_spent_after_one_purchase():
    campaign = make_campaign(charset="numeric", template="coupon_##", range_start=87)
    _use(campaign, code="COUPON_87")

    assert _reason(lambda: _use(campaign, code="coupon_87")) == "used_up"


@pytest.mark.parametrize(
    ("setup", "kwargs", "reason", "message"),
    [
        (None, {"code": "NOPE"}, "unknown", "This code is not valid."),
        ("disable_code", {}, "disabled", "This code has been disabled."),
        ("disable_campaign", {}, "disabled", "This code has been disabled."),
        (None, {"kind": "voucher"}, "wrong_kind", "This code cannot be used here."),
        (None, {"now": VALID_FROM - timedelta(seconds=1)}, "not_yet_valid", "not valid yet"),
        ("expire", {}, "expired", "This code has expired."),
        (None, {"bundle_ids": [0]}, "wrong_bundle", "not valid for this purchase"),
        ("use_up", {}, "used_up", "already been used"),
    ],
)
def test_each_refusal_has_its_reason_and_message_and_changes_nothing(
    shared, setup, kwargs, reason, message
):
    code = Code.objects.get()
    if setup == "disable_code":
        code_disable(code=code)
    elif setup == "disable_campaign":
        campaign_disable(campaign=shared)
    elif setup == "expire":
        type(shared).objects.update(valid_until=NOW)
    elif setup == "use_up":
        Code.objects.update(redeemed_count=50)
    before = Code.objects.get().redeemed_count

    with pytest.raises(CouponRefused) as caught:
        _use(shared, **kwargs)

    assert caught.value.reason == reason
    assert message in str(caught.value.message)
    assert Code.objects.get().redeemed_count == before


def test_enabling_again_makes_the_code_usable(shared):
    code = Code.objects.get()
    code_disable(code=code)
    campaign_disable(campaign=shared)
    code_enable(code=code)
    campaign_enable(campaign=shared)

    assert _use(shared).redeemed_count == 1


def test_a_voucher_is_checked_as_a_voucher():
    campaign = make_campaign(kind="voucher", template="GIFT-######", free_periods=3)
    code = Code.objects.filter(campaign=campaign).first()

    claimed = code_claim(code=code.code, bundle_ids=[campaign.bundle_id], kind="voucher", now=NOW)

    assert claimed.campaign.free_periods == 3
    assert _reason(lambda: _use(campaign, code=code.code)) == "wrong_kind"


def test_staff_give_a_redemption_back(shared):
    code = _use(shared)

    released = code_release(code_id=code.pk)

    assert released.redeemed_count == 0
    with pytest.raises(NothingToRelease):
        code_release(code_id=code.pk)
    assert Code.objects.get().redeemed_count == 0


def test_ten_wrong_guesses_from_one_client_are_throttled_for_fifteen_minutes(shared):
    for i in range(10):
        assert _reason(lambda i=i: _use(shared, code=f"GUESS{i}", throttle_key="10.0.0.1")) == (
            "unknown"
        )

    with pytest.raises(CouponRefused) as caught:
        _use(shared, throttle_key="10.0.0.1")

    assert caught.value.reason == "throttled"
    assert str(caught.value.message) == "Too many invalid codes. Try again in 15 minutes."
    assert Code.objects.get().redeemed_count == 0
    # Another client is not affected, and after the window the first may try again.
    assert _use(shared, throttle_key="10.0.0.2").redeemed_count == 1
    later = NOW + timedelta(minutes=15)
    assert _use(shared, throttle_key="10.0.0.1", now=later).redeemed_count == 2


def test_valid_codes_and_other_refusals_do_not_count_as_guesses(shared):
    for _ in range(12):
        _reason(lambda: _use(shared, kind="voucher", throttle_key="customer-7"))

    assert _use(shared, throttle_key="customer-7").redeemed_count == 1


def test_the_throttle_window_starts_at_the_first_failure():
    for minute in range(10):
        guess_record_failure("k", now=NOW + timedelta(minutes=minute))

    with pytest.raises(CouponRefused, match="Try again in 6 minutes"):
        guess_throttle_check("k", now=NOW + timedelta(minutes=9))
    guess_throttle_check("k", now=NOW + timedelta(minutes=15))
