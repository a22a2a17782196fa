"""Coupons at checkout and vouchers (issue 6 items 4 and 5): what a code takes off a
purchase, its redemption record, every refusal (nothing written, nothing spent), the
guess throttle, 100 % coupons without a payment method, vouchers that end after their
free periods, and 50 buyers racing for a code with 10 redemptions left."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.urls import reverse

from catalog.models import Offer, PeriodUnit
from coupons.models import Code
from coupons.services import code_disable
from notifications.events import EventType
from notifications.models import Event
from subscriptions.exceptions import PurchaseRefused
from subscriptions.models import CouponRedemption, Customer, Subscription
from subscriptions.services.coupons import coupon_quote, voucher_offers
from subscriptions.services.purchase import INVOICE, subscription_purchase
from tests.concurrency import race
from tests.coupons.factories import NOW, make_campaign
from tests.factories import BundleFactory, OfferFactory, PlanFactory, ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()  # the guess throttle counts in the cache
    yield
    cache.clear()


@pytest.fixture
def addon():
    """The seeds' example: an add-on bundle sold at 10 USD, a code with 20 % on its
    product."""
    product = ProductFactory(name="Crossword")
    bundle = BundleFactory(products=[product])
    offer = OfferFactory(
        kind=Offer.Kind.COMPLEX_SUBSCRIPTION,
        product=None,
        plan=PlanFactory(bundles=[bundle]),
        price_amount=Decimal("10.00"),
        currency="USD",
    )
    campaign = make_campaign(
        bundle=bundle, discounted_products=[product], discount_percent=Decimal(20), quantity=3
    )
    return {"offer": offer, "bundle": bundle, "product": product, "campaign": campaign}


def _customer(n: int = 1) -> Customer:
    return Customer.objects.create(name=f"Buyer {n}", email=f"buyer{n}@example.com")


def _code(campaign, index: int = 0) -> str:
    return campaign.codes.order_by("pk").values_list("code", flat=True)[index]


def _buy(offer, code, customer=None, **kwargs):
    return subscription_purchase(
        customer=customer or _customer(),
        offer=offer,
        coupon_code=code,
        payment_method=kwargs.pop("payment_method", INVOICE),
        now=kwargs.pop("now", NOW),
        **kwargs,
    )


def _nothing_written():
    return (
        Subscription.objects.count(),
        CouponRedemption.objects.count(),
        sum(Code.objects.values_list("redeemed_count", flat=True)),
    )


def test_the_seeds_example_costs_8_usd_and_records_the_redemption(addon):
    code = _code(addon["campaign"])

    subscription = _buy(addon["offer"], code.lower())

    redemption = subscription.coupon_redemption
    assert (redemption.list_price, redemption.discount_amount) == (
        Decimal("10.00"),
        Decimal("2.00"),
    )
    assert redemption.price_after_discount == Decimal("8.00")
    assert (redemption.kind, redemption.periods, redemption.currency) == ("coupon", None, "USD")
    assert redemption.customer == subscription.customer
    assert redemption.redeemed_at == NOW
    assert subscription.coupon_code == code
    assert Code.objects.get(code=code).redeemed_count == 1
    event = Event.objects.get(type=EventType.SUBSCRIPTION_CREATED)
    assert event.payload["coupon"]["code"] == code
    assert event.payload["coupon"]["discount"] == "2.00"


def test_the_quote_shows_the_discount_and_uses_nothing(addon):
    quote = coupon_quote(offer=addon["offer"], code=_code(addon["campaign"]), now=NOW)

    assert (quote.list_price, quote.discount, quote.price) == (
        Decimal("10.00"),
        Decimal("2.00"),
        Decimal("8.00"),
    )
    assert _nothing_written() == (0, 0, 0)


def test_a_used_coupon_is_refused_the_second_time_and_nothing_changes(addon):
    code = _code(addon["campaign"])
    _buy(addon["offer"], code, customer=_customer(1))
    before = _nothing_written()

    with pytest.raises(PurchaseRefused) as refused:
        _buy(addon["offer"], code, customer=_customer(2))

    assert str(refused.value) == "This code has already been used."
    assert refused.value.field == "coupon_code"
    assert _nothing_written() == before


def _refusal(offer, code, **kwargs) -> str:
    before = _nothing_written()
    with pytest.raises(PurchaseRefused) as refused:
        _buy(offer, code, **kwargs)
    assert refused.value.field == "coupon_code"
    assert _nothing_written() == before
    return str(refused.value)


def test_unknown_expired_disabled_and_wrong_bundle_codes_are_refused(addon):
    campaign = addon["campaign"]
    assert _refusal(addon["offer"], "NO-SUCH-CODE") == "This code is not valid."
    campaign.valid_from = NOW + timedelta(days=1)
    campaign.save(update_fields=["valid_from"])
    assert _refusal(addon["offer"], _code(campaign)) == "This code is not valid yet."
    campaign.valid_from = NOW - timedelta(days=30)
    campaign.valid_until = NOW - timedelta(days=1)
    campaign.save(update_fields=["valid_from", "valid_until"])
    assert _refusal(addon["offer"], _code(campaign)) == "This code has expired."
    campaign.valid_until = None
    campaign.save(update_fields=["valid_until"])
    code_disable(code=campaign.codes.get(code=_code(campaign, 1)))
    assert _refusal(addon["offer"], _code(campaign, 1)) == "This code has been disabled."
    other = OfferFactory(price_amount=Decimal("5.00"), currency="USD")
    assert _refusal(other, _code(campaign, 2)) == "This code is not valid for this purchase."


def test_a_code_for_another_product_of_the_bundle_is_refused(addon):
    other_product = ProductFactory()
    campaign = make_campaign(bundle=addon["bundle"], discounted_products=[])
    campaign.bundle.items.create(product=other_product, required=False)
    narrow = make_campaign(bundle=campaign.bundle, discounted_products=[other_product])

    assert _refusal(addon["offer"], _code(narrow)) == "This code is not valid for this purchase."
    assert _buy(addon["offer"], _code(campaign)).coupon_redemption.discount_amount == Decimal(
        "2.00"
    )


def test_a_voucher_code_is_refused_at_checkout(addon):
    voucher = make_campaign(kind="voucher", bundle=addon["bundle"], free_periods=2)

    assert _refusal(addon["offer"], _code(voucher)) == "This code cannot be used here."


def test_an_amount_coupon_never_makes_the_price_negative(addon):
    campaign = make_campaign(
        bundle=addon["bundle"], discount_type="amount", discount_amount=Decimal("25.00"),
        currency="USD",
    )  # fmt: skip

    redemption = _buy(addon["offer"], _code(campaign)).coupon_redemption

    assert redemption.discount_amount == Decimal("10.00")
    assert redemption.price_after_discount == Decimal("0.00")


def test_a_100_percent_coupon_needs_no_payment_method(addon):
    group = make_campaign(bundle=addon["bundle"], discount_percent=Decimal(100))

    subscription = _buy(addon["offer"], _code(group), payment_method=None)

    assert subscription.payment_method is None
    assert subscription.coupon_redemption.price_after_discount == Decimal("0.00")


def test_a_partial_coupon_still_needs_a_payment_method(addon):
    message = _refusal_any(addon["offer"], _code(addon["campaign"]), payment_method=None)

    assert message == "Choose how you want to pay."


def _refusal_any(offer, code, **kwargs) -> str:
    before = _nothing_written()
    with pytest.raises(PurchaseRefused) as refused:
        _buy(offer, code, **kwargs)
    assert _nothing_written() == before
    return str(refused.value)


def test_wrong_guesses_are_throttled_per_customer(addon):
    customer = _customer()
    for _ in range(10):
        _refusal(addon["offer"], "GUESS-1234", customer=customer)

    message = _refusal(addon["offer"], _code(addon["campaign"]), customer=customer)

    assert message.startswith("Too many invalid codes")
    assert _buy(addon["offer"], _code(addon["campaign"])).coupon_redemption is not None


def test_a_voucher_makes_the_offer_free_for_its_periods_and_then_ends(addon):
    voucher = make_campaign(kind="voucher", bundle=addon["bundle"], free_periods=3)
    code = _code(voucher)

    found, offers = voucher_offers(code=code, now=NOW)
    assert found.campaign == voucher
    assert offers == [addon["offer"]]
    subscription = _buy(addon["offer"], code, payment_method=None, coupon_kind="voucher")

    redemption = subscription.coupon_redemption
    assert (redemption.kind, redemption.periods) == ("voucher", 3)
    assert redemption.price_after_discount == Decimal("0.00")
    assert subscription.status == Subscription.Status.CANCELLED
    # Three monthly periods on the merchant's wall clock: 13:00 in Berlin on 15 January
    # (CET) to 13:00 on 15 April (CEST), i.e. 11:00 UTC.
    assert addon["offer"].billing_interval_unit == PeriodUnit.MONTH
    assert subscription.ends_at == datetime(2027, 4, 15, 11, 0, tzinfo=UTC)


def test_a_voucher_without_a_code_is_refused(addon):
    assert _refusal(addon["offer"], " ", coupon_kind="voucher") == "Enter the voucher code."


@pytest.mark.django_db(transaction=True)
def test_50_buyers_racing_for_a_code_with_10_redemptions_get_exactly_10(addon):
    shared = make_campaign(
        bundle=addon["bundle"], quantity=1, redemption_quantity=10, template="XYZ-####"
    )
    code = _code(shared)
    customers = [_customer(n) for n in range(50)]
    outcomes = race(
        [
            lambda customer=customer: _buy(addon["offer"], code, customer=customer)
            for customer in customers
        ],
        lambda error: str(error) if isinstance(error, PurchaseRefused) else None,
    )

    assert outcomes.count("ok") == 10
    assert outcomes.count("This code has already been used.") == 40
    assert CouponRedemption.objects.filter(code__code=code).count() == 10
    assert Code.objects.get(code=code).redeemed_count == 10
    assert Subscription.objects.count() == 10


def test_staff_see_redemptions_in_the_admin_read_only(admin_client, addon):
    code = _code(addon["campaign"])
    subscription = _buy(addon["offer"], code)

    listing = admin_client.get(reverse("admin:subscriptions_couponredemption_changelist"))
    detail = admin_client.get(
        reverse("admin:subscriptions_subscription_change", args=[subscription.pk])
    )
    add = admin_client.get(reverse("admin:subscriptions_couponredemption_add"))

    assert listing.status_code == 200
    assert code in listing.content.decode()
    assert detail.status_code == 200
    assert code in detail.content.decode()
    assert add.status_code == 403
