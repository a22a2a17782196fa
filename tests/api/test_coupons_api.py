"""Coupon campaigns and codes through the API."""

from __future__ import annotations

from decimal import Decimal

import pytest

from coupons.models import Campaign, Code
from subscriptions.models import CouponRedemption
from tests.api.conftest import problem
from tests.factories import BundleFactory, BundleItemFactory, OfferFactory
from tests.subscriptions.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_create_a_campaign_and_read_it(api, travel):
    bundle = BundleFactory()
    response = api.post(
        "/api/v1/coupon-campaigns",
        {"code": "summer", "name": "Summer", "template": "SUMMER-########", "quantity": 3,
         "bundle": bundle.code, "discount_type": "percent", "discount_percent": "20"},
    )  # fmt: skip
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["generation"] == {"state": "done", "generated": 3, "quantity": 3,
                                  "percent": 100, "error": ""}  # fmt: skip
    assert body["discount"]["percent"] == "20.00"
    detail = api.get("/api/v1/coupon-campaigns/summer").json()
    assert detail["summary"]["codes"] == 3
    assert [c["code"] for c in api.get("/api/v1/coupon-campaigns?kind=coupon").json()["items"]] == [
        "summer"
    ]


def test_a_campaign_whose_codes_cannot_fit_is_422_and_not_created(api, travel):
    body = problem(
        api.post(
            "/api/v1/coupon-campaigns",
            {"code": "tiny", "name": "Tiny", "template": "T-##", "quantity": 5,
             "bundle": BundleFactory().code, "discount_type": "percent",
             "discount_percent": "10"},
        ),
        422, "invalid",
    )  # fmt: skip
    assert body["field"] == "body.template"
    assert not Campaign.objects.filter(code="tiny").exists()


def test_generate_a_thousand_unique_single_use_codes(api, world):
    response = api.post("/api/v1/coupon-campaigns/spring/codes", {"quantity": 1000})
    assert response.status_code == 201, response.content
    codes = response.json()["codes"]
    assert len(codes) == len(set(codes)) == 1000
    assert (
        Code.objects.filter(campaign=world.campaign, code__in=codes, redemption_limit=1).count()
        == 1000
    )
    world.campaign.refresh_from_db()
    assert world.campaign.quantity == world.campaign.generated_count == 1005


def test_more_than_a_thousand_codes_are_made_by_a_task(
    api, world, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = api.post("/api/v1/coupon-campaigns/spring/codes", {"quantity": 2500})
    assert len(callbacks) == 1
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status_url"].endswith("/api/v1/coupon-campaigns/spring")
    # The task was queued on commit (and ran, synchronous in tests).
    campaign = Campaign.objects.get(code="spring")
    assert campaign.generated_count == campaign.quantity == 2505
    assert Code.objects.filter(campaign=campaign).count() == 2505
    assert api.get("/api/v1/coupon-campaigns/spring").json()["generation"]["state"] == "done"


def test_codes_for_a_disabled_campaign_are_refused(api, world):
    assert api.post("/api/v1/coupon-campaigns/spring/disable").json()["status"] == "disabled"
    problem(api.post("/api/v1/coupon-campaigns/spring/codes", {"quantity": 3}), 409,
            "coupon_refused")  # fmt: skip
    assert Code.objects.filter(campaign=world.campaign).count() == 5
    assert api.post("/api/v1/coupon-campaigns/spring/enable").json()["status"] == "active"


def test_list_and_look_up_codes(api, world):
    codes = api.get("/api/v1/coupon-campaigns/spring/codes?status=active").json()["items"]
    assert len(codes) == 5
    one = codes[0]["code"]
    found = api.get(f"/api/v1/coupon-codes/{one.lower()}").json()
    assert (found["code"], found["remaining"], found["status"]) == (one, 1, "active")
    problem(api.get("/api/v1/coupon-codes/NOPE"), 404, "not_found")


def test_validate_a_code_for_an_offer_without_using_it(api, world):
    offer = world.subscription.offer
    code = world.campaign.codes.first().code
    body = api.post(f"/api/v1/coupon-codes/{code}/validate", {"offer": offer.code}).json()
    assert body["valid"] is True
    assert body["discount"]["currency"] == offer.currency
    assert Decimal(body["price"]["amount"]) == offer.price_amount * Decimal("0.8")
    assert Code.objects.get(code=code).redeemed_count == 0
    refused = api.post("/api/v1/coupon-codes/NOPE/validate", {"offer": offer.code}).json()
    assert (refused["valid"], refused["reason"]) == (False, "unknown")


def test_redeem_a_code_buys_the_offer_with_it(api, travel):
    offer = OfferFactory(price_amount=Decimal("10.00"))
    bundle = BundleFactory()
    BundleItemFactory(bundle=bundle, product=offer.product)
    from tests.coupons.factories import make_campaign

    campaign = make_campaign(bundle=bundle, discount_percent=Decimal(100), quantity=1)
    code = campaign.codes.get().code
    customer = CustomerFactory()
    response = api.post(f"/api/v1/coupon-codes/{code}/redeem",
                        {"customer": str(customer.public_id), "offer": offer.code})  # fmt: skip
    assert response.status_code == 201, response.content
    assert response.json()["coupon_code"] == code
    assert CouponRedemption.objects.get().customer == customer
    again = problem(
        api.post(f"/api/v1/coupon-codes/{code}/redeem",
                 {"customer": str(customer.public_id), "offer": offer.code}),
        422, "coupon_refused",
    )  # fmt: skip
    assert again["field"] == "body.coupon_code"
    assert CouponRedemption.objects.count() == 1
