"""Campaigns for tests, made through the real service (`campaign_create`), so every
campaign a test sees passed the same checks as one staff create.

    campaign = make_campaign()                       # 5 random single-use 20 % codes
    campaign = make_campaign(charset="numeric", template="coupon_##", range_start=87)
    campaign = make_campaign(kind="voucher", free_periods=3)
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from decimal import Decimal

from coupons.models import Campaign
from coupons.services import campaign_create
from tests.factories import BundleFactory

NOW = datetime(2027, 1, 15, 12, 0, tzinfo=UTC)
VALID_FROM = datetime(2026, 1, 1, tzinfo=UTC)
_numbers = itertools.count(1)


def make_campaign(**overrides) -> Campaign:
    n = next(_numbers)
    values = {
        "name": f"Campaign {n}",
        "code": f"campaign-{n}",
        "template": f"C{n}-######",
        "valid_from": VALID_FROM,
        "quantity": 5,
        "charset": "alphanumeric",
        "discount_type": "percent",
        "discount_percent": Decimal(20),
    }
    if overrides.get("kind") == "voucher":
        values.update(discount_type="", discount_percent=None, free_periods=1)
    if overrides.get("discount_type") == "amount":
        values.update(discount_percent=None, discount_amount=Decimal("5.00"))
    values.update(overrides)
    if "bundle" not in values:
        values["bundle"] = BundleFactory()
    return campaign_create(**values)
