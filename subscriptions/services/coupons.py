"""Coupons at checkout and vouchers in the portal (SPEC §5): what a code takes off a
purchase, and its redemption record.

Kontor prices offers, not products: a coupon's campaign names a bundle and, optionally,
which of the bundle's products it discounts. A code fits a purchase when the purchase
includes that bundle (through the offer's plan, an add-on, or, for a product offer, a
bundle containing the product) and at least one targeted product; it then takes its
percent or amount off the offer's price, never below zero, rounded once half up to the
cent (`coupons.discounts`). The seeds' example: an add-on offer at 10 USD with a code
giving 20 % on its product costs 8 USD.

A **coupon** is used at checkout, for that purchase: its discount applies to every
billing period of the subscription (Stripe's "forever"; a 100 % code makes a paid plan
free for a company's group users). A **voucher** is redeemed on the portal's voucher
page: the chosen offer of its bundle is free for the campaign's free periods, and the
subscription ends after them (it renews only if the customer buys again).

The code's count is taken by `coupons.services.code_claim` in the purchase's
transaction (concurrency-safe), so a refused or failed purchase spends nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.utils import timezone

from catalog.models import Bundle, BundleItem, Offer, Product, Status
from catalog.money import decimal_places
from catalog.periods import period_bounds
from coupons.discounts import line_discounts
from coupons.exceptions import CouponRefused
from coupons.models import Campaign, Code
from coupons.services import code_check, code_claim, code_lookup
from subscriptions.models import CouponRedemption, Subscription, User

OFFER_LINE = "offer"


@dataclass(frozen=True)
class Scope:
    """What a purchase includes, as a coupon sees it."""

    bundle_ids: frozenset[int]
    product_ids: frozenset[int]


@dataclass(frozen=True)
class CouponQuote:
    """A code checked against a purchase: what it takes off and for how long."""

    code: Code
    list_price: Decimal
    discount: Decimal
    periods: int | None

    @property
    def price(self) -> Decimal:
        return self.list_price - self.discount

    @property
    def kind(self) -> str:
        return self.code.campaign.kind


def purchase_scope(
    *, offer: Offer, optional_products: Iterable[Product] = (), addon_bundles: Iterable[Bundle] = ()
) -> Scope:
    """The bundles and products a purchase of `offer` with these choices includes."""
    if not offer.plan_id:
        bundles = BundleItem.objects.filter(product_id=offer.product_id).values_list(
            "bundle_id", flat=True
        )
        return Scope(frozenset(bundles), frozenset({offer.product_id}))
    plan_bundles = set(offer.plan.plan_bundles.values_list("bundle_id", flat=True))
    addons = {bundle.pk for bundle in addon_bundles}
    chosen = {product.pk for product in optional_products}
    items = BundleItem.objects.filter(bundle__in=plan_bundles | addons).values_list(
        "bundle_id", "product_id", "required"
    )
    products = {
        product_id
        for bundle_id, product_id, required in items
        if required or (bundle_id in plan_bundles and product_id in chosen)
    }
    return Scope(frozenset(plan_bundles | addons), frozenset(products))


def coupon_quote(
    *,
    offer: Offer,
    code: str,
    kind: str = Campaign.Kind.COUPON,
    scope: Scope | None = None,
    optional_products: Iterable[Product] = (),
    addon_bundles: Iterable[Bundle] = (),
    throttle_key: str | None = None,
    now: datetime | None = None,
) -> CouponQuote:
    """What `code` takes off this purchase, without using it (the checkout's "Apply").
    Raises CouponRefused with a message for the customer."""
    if scope is None:
        scope = purchase_scope(
            offer=offer, optional_products=optional_products, addon_bundles=addon_bundles
        )
    found = code_check(
        code=code, bundle_ids=scope.bundle_ids, kind=kind, now=now, throttle_key=throttle_key
    )
    return _quote(found, offer, scope)


def _quote(found: Code, offer: Offer, scope: Scope) -> CouponQuote:
    campaign = found.campaign
    targets = set(campaign.discounted_products.values_list("pk", flat=True))
    if targets and not targets & scope.product_ids:
        raise CouponRefused(reason="wrong_bundle")
    if campaign.kind == Campaign.Kind.VOUCHER:
        discount_type, value, periods = "percent", Decimal(100), campaign.free_periods
    elif campaign.discount_type == Campaign.DiscountType.PERCENT:
        discount_type, value, periods = "percent", campaign.discount_percent, _periods(campaign)
    else:
        if campaign.currency != offer.currency:
            raise CouponRefused(reason="wrong_bundle")
        discount_type, value, periods = "amount", campaign.discount_amount, _periods(campaign)
    discount = line_discounts(
        {OFFER_LINE: offer.price_amount},
        discount_type=discount_type,
        value=value,
        places=decimal_places(offer.currency),
    )[OFFER_LINE]
    return CouponQuote(
        code=found, list_price=offer.price_amount, discount=discount, periods=periods
    )


def _periods(campaign: Campaign) -> int | None:
    """How many billing periods a coupon's discount lasts: every period (None). A
    campaign setting for "the first N periods" is a follow-up; the redemption already
    stores the number, so billing needs no change for it."""
    return None


def coupon_redeem_for_purchase(
    *,
    subscription: Subscription,
    code: str,
    kind: str,
    scope: Scope,
    actor: User | None,
    throttle_key: str | None = None,
    now: datetime | None = None,
) -> CouponRedemption:
    """Use `code` for a purchase being made (inside its transaction): one redemption of
    the code is taken and recorded. Raises CouponRefused; the caller's rollback then
    undoes everything."""
    now = now or timezone.now()
    found = code_claim(
        code=code, bundle_ids=scope.bundle_ids, kind=kind, now=now, throttle_key=throttle_key
    )
    quote = _quote(found, subscription.offer, scope)
    subscription.coupon_code = found.code
    if kind == Campaign.Kind.VOUCHER:
        _end_after_free_periods(subscription, quote.periods or 1, now)
    subscription.save()
    return CouponRedemption.objects.create(
        code=found,
        campaign=found.campaign,
        customer=subscription.customer,
        subscription=subscription,
        kind=found.campaign.kind,
        list_price=quote.list_price,
        discount_amount=quote.discount,
        currency=subscription.currency,
        periods=quote.periods,
        redeemed_at=now,
        redeemed_by=actor,
    )


def _end_after_free_periods(subscription: Subscription, periods: int, now: datetime) -> None:
    """A voucher's subscription ends when its free periods do (it was not bought to
    renew); it shows as cancelled with that end date from the start."""
    if subscription.billing_interval_count is None:
        return  # a one-time purchase: nothing renews
    _start, end = period_bounds(
        timezone.localtime(subscription.started_at),
        periods - 1,
        subscription.billing_interval_count,
        subscription.billing_interval_unit,
    )
    subscription.status = Subscription.Status.CANCELLED
    subscription.cancelled_at = now
    subscription.ends_at = end


def voucher_offers(*, code: str, throttle_key: str | None = None, now: datetime | None = None):
    """The voucher's code and the offers on sale now that it can be redeemed for: the
    single-user, recurring offers whose plan includes the voucher's bundle. Raises
    CouponRefused."""
    now = now or timezone.now()
    found = code_lookup_for_voucher(code=code, throttle_key=throttle_key, now=now)
    offers = (
        Offer.objects.filter(
            status=Status.ACTIVE,
            plan__plan_bundles__bundle=found.campaign.bundle_id,
            plan__status=Status.ACTIVE,
            billing_interval_count__isnull=False,
            user_count=0,
        )
        .select_related("plan", "term", "plan__term")
        .order_by("price_amount", "name")
        .distinct()
    )
    return found, [offer for offer in offers if offer.is_valid_at(now)]


def code_lookup_for_voucher(*, code: str, throttle_key: str | None, now: datetime) -> Code:
    """The voucher code if it can be redeemed now (any offer of its own bundle)."""
    found = code_lookup(code=code)
    bundle_ids = {found.campaign.bundle_id} if found is not None else set()
    return code_check(
        code=code,
        bundle_ids=bundle_ids,
        kind=Campaign.Kind.VOUCHER,
        now=now,
        throttle_key=throttle_key,
    )
