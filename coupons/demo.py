"""Demo coupon campaigns on the demo catalog (`catalog.demo`), for `manage.py seed_demo`.

Idempotent like the other demo modules: a campaign is found by its code and created
through `campaign_create` (so it passes every rule) only when missing; what staff
changed since stays. Needs the demo catalog first.

- ``coupon-87``: the seed example, numeric ``coupon_##`` from 87, five single-use codes
  (coupon_87 … coupon_91), 20 % off the archive add-on.
- ``xyz-company``: one shared code ``XYZ-COMPANY`` for the 50 users of company XYZ, 100 %
  off Digital basic (the Pelcro model: a paid plan made free for group users).
- ``welcome-gift``: 20 random voucher codes, each granting Digital basic for 3 months.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from django.db import transaction

from catalog.demo import SeedError, SeedLog
from catalog.models import Bundle, Product
from coupons.models import Campaign
from coupons.services import campaign_create

VALID_FROM = datetime(2025, 1, 1, tzinfo=UTC)


def _bundle(code: str) -> Bundle:
    bundle = Bundle.objects.filter(code=code).first()
    if bundle is None:
        raise SeedError(f"The demo bundle {code} is missing: run seed_catalog first.")
    return bundle


def _campaigns() -> list[dict]:
    archive = _bundle("tb-archive-addon")
    digital = _bundle("tb-digital-basic")
    return [
        {
            "code": "coupon-87",
            "name": "Minus 20 (archive add-on)",
            "description": "The example of the merchant manual: 20 % off the archive add-on.",
            "provider": "Tagesblatt marketing",
            "bundle": archive,
            "charset": Campaign.Charset.NUMERIC,
            "template": "coupon_##",
            "quantity": 5,
            "range_start": 87,
            "discount_type": Campaign.DiscountType.PERCENT,
            "discount_percent": Decimal(20),
            "discounted_products": list(Product.objects.filter(code="tb-archive")),
        },
        {
            "code": "xyz-company",
            "name": "Company XYZ (50 users)",
            "description": "One shared code for the staff of company XYZ.",
            "provider": "Tagesblatt sales",
            "bundle": digital,
            "charset": Campaign.Charset.ALPHANUMERIC,
            "template": "XYZ-COMPANY",
            "quantity": 1,
            "redemption_quantity": 50,
            "discount_type": Campaign.DiscountType.PERCENT,
            "discount_percent": Decimal(100),
        },
        {
            "code": "welcome-gift",
            "name": "Welcome gift (3 months digital)",
            "provider": "Tagesblatt marketing",
            "kind": Campaign.Kind.VOUCHER,
            "bundle": digital,
            "charset": Campaign.Charset.ALPHANUMERIC,
            "template": "GIFT-######",
            "quantity": 20,
            "free_periods": 3,
        },
    ]


def seed_coupons() -> SeedLog:
    """Create the demo campaigns that are missing (with their codes)."""
    log = SeedLog()
    with transaction.atomic():
        for values in _campaigns():
            if Campaign.objects.filter(code=values["code"]).exists():
                log["unchanged"] += 1
                continue
            campaign_create(valid_from=VALID_FROM, **values)
            log["created"] += 1
    return log
