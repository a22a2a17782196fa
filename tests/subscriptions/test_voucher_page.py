"""The portal's "Redeem a voucher" page: check a code, choose an offer, redeem (free,
no payment method, ends after the free periods); refusals change nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.cache import cache
from django.urls import reverse

from catalog.models import Offer
from coupons.models import Code
from subscriptions.models import CouponRedemption, Customer, Subscription
from tests.coupons.factories import make_campaign
from tests.factories import BundleFactory, OfferFactory, PlanFactory, ProductFactory

pytestmark = pytest.mark.django_db

URL = reverse("subscriptions:voucher_redeem")


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def voucher():
    bundle = BundleFactory(products=[ProductFactory(name="Archive")])
    offer = OfferFactory(
        code="archive-monthly",
        name="Archive, monthly",
        kind=Offer.Kind.COMPLEX_SUBSCRIPTION,
        product=None,
        plan=PlanFactory(bundles=[bundle]),
        price_amount=Decimal("4.90"),
    )
    campaign = make_campaign(kind="voucher", bundle=bundle, free_periods=3, quantity=2)
    codes = list(campaign.codes.order_by("pk").values_list("code", flat=True))
    return {"offer": offer, "campaign": campaign, "codes": codes}


@pytest.fixture
def reader(django_user_model):
    customer = Customer.objects.create(name="Rita Reader", email="rita@example.com")
    user = django_user_model.objects.create_user(
        email="rita@example.com", password="pw-rita-12345", customer=customer
    )
    customer.main_user = user
    customer.save(update_fields=["main_user"])
    return user


def test_checking_a_code_lists_what_it_can_be_redeemed_for(client, reader, voucher):
    client.force_login(reader)

    response = client.post(URL, {"code": voucher["codes"][0], "intent": "check"})

    html = response.content.decode()
    assert response.status_code == 200
    assert "Free for 3 billing periods: choose what you want" in html
    assert 'value="archive-monthly" checked' in html
    assert Subscription.objects.count() == 0


def test_redeeming_gives_a_free_subscription_that_ends_after_the_periods(client, reader, voucher):
    client.force_login(reader)
    code = voucher["codes"][0]

    response = client.post(URL, {"code": code, "offer": "archive-monthly", "intent": "redeem"})

    subscription = Subscription.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "subscriptions:subscription_detail", args=[subscription.public_id]
    )
    assert subscription.customer == reader.customer
    assert subscription.payment_method is None
    assert subscription.status == Subscription.Status.CANCELLED
    assert subscription.ends_at is not None
    redemption = CouponRedemption.objects.get()
    assert (redemption.kind, redemption.periods, redemption.discount_amount) == (
        "voucher",
        3,
        Decimal("4.90"),
    )
    page = client.get(response["Location"]).content.decode()
    assert "Voucher redeemed: Archive, monthly is yours free until" in page


def test_a_used_voucher_is_refused_and_nothing_changes(client, reader, voucher):
    client.force_login(reader)
    code = voucher["codes"][0]
    client.post(URL, {"code": code, "offer": "archive-monthly", "intent": "redeem"})

    response = client.post(URL, {"code": code, "offer": "archive-monthly", "intent": "redeem"})

    assert response.status_code == 200
    assert response.context["form"].errors == {"code": ["This code has already been used."]}
    assert Subscription.objects.count() == 1
    assert Code.objects.get(code=code).redeemed_count == 1


@pytest.mark.parametrize(
    ("code", "message"),
    [("NOPE-NOPE", "This code is not valid."), (None, "This code cannot be used here.")],
)
def test_unknown_codes_and_coupon_codes_are_refused(client, reader, voucher, code, message):
    if code is None:
        code = make_campaign(bundle=voucher["campaign"].bundle).codes.first().code
    client.force_login(reader)

    response = client.post(URL, {"code": code, "intent": "check"})

    assert response.context["form"].errors == {"code": [message]}
    assert Subscription.objects.count() == 0


def test_redeem_without_choosing_an_offer_is_refused(client, reader, voucher):
    client.force_login(reader)

    response = client.post(URL, {"code": voucher["codes"][1], "intent": "redeem"})

    assert response.context["form"].non_field_errors() == [
        "Choose what you want to redeem the voucher for."
    ]
    assert Subscription.objects.count() == 0


def test_the_page_needs_a_login(client):
    response = client.get(URL)

    assert response.status_code == 302
    assert reverse("subscriptions:login") in response["Location"]


def test_the_subscription_pages_show_the_voucher(client, reader, voucher):
    client.force_login(reader)
    client.post(URL, {"code": voucher["codes"][0], "offer": "archive-monthly", "intent": "redeem"})

    html = client.get(reverse("subscriptions:subscription_list")).content.decode()

    assert f"Free with voucher {voucher['codes'][0]} for 3 months" in html
