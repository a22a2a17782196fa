"""Claims under real concurrency: threads with their own connections and transactions on
PostgreSQL, released together by a barrier (issue 6: 50 redemptions of a code with 10
left give exactly 10)."""

from __future__ import annotations

from collections import Counter

import pytest
from django.db import transaction

from coupons.exceptions import CouponRefused
from coupons.models import Code
from coupons.services import code_claim
from tests.concurrency import race
from tests.coupons.factories import NOW, make_campaign

pytestmark = pytest.mark.django_db(transaction=True)


def _race(calls) -> list[str]:
    """Each call in its own transaction; a refusal's reason, or "ok"."""

    def claim_in_transaction(call):
        with transaction.atomic():
            call()

    return race(
        [lambda call=call: claim_in_transaction(call) for call in calls],
        lambda error: error.reason if isinstance(error, CouponRefused) else None,
    )


def test_fifty_claims_of_a_code_with_ten_left_give_exactly_ten():
    campaign = make_campaign(template="XYZ-COMPANY", quantity=1, redemption_quantity=50)
    Code.objects.update(redeemed_count=40)
    call = lambda: code_claim(  # noqa: E731
        code="xyz-company", bundle_ids=[campaign.bundle_id], kind="coupon", now=NOW
    )

    outcomes = _race([call] * 50)

    assert Counter(outcomes) == {"ok": 10, "used_up": 40}
    assert Code.objects.get().redeemed_count == 50


def test_a_claim_rolled_back_with_its_purchase_gives_the_redemption_back():
    campaign = make_campaign(template="ONCE-CODE", quantity=1)

    def purchase():
        with transaction.atomic():
            code_claim(code="ONCE-CODE", bundle_ids=[campaign.bundle_id], kind="coupon", now=NOW)
            raise RuntimeError("payment declined")

    with pytest.raises(RuntimeError):
        purchase()

    assert Code.objects.get().redeemed_count == 0
