"""Claims under real concurrency: threads with their own connections and transactions on
PostgreSQL, released together by a barrier (issue 6: 50 redemptions of a code with 10
left give exactly 10)."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connection, transaction

from coupons.exceptions import CouponRefused
from coupons.models import Code
from coupons.services import code_claim
from tests.coupons.factories import NOW, make_campaign

pytestmark = pytest.mark.django_db(transaction=True)


def _race(calls) -> list[str]:
    barrier = threading.Barrier(len(calls))
    outcomes: list[str] = []
    lock = threading.Lock()

    def run(call):
        try:
            barrier.wait(timeout=30)
            with transaction.atomic():
                call()
            outcome = "ok"
        except CouponRefused as error:
            outcome = error.reason
        finally:
            connection.close()
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return outcomes


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
