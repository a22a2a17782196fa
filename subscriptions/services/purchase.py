"""The purchase: one service for the portal's checkout, the admin and the API.

`subscription_purchase` checks everything first and writes nothing when it refuses
(PurchaseRefused names the form field at fault); then it copies what was sold into the
subscription (price, interval, user count, the term's values), so later offer edits
never change it (SPEC §1).

`purchase_options` and `payment_methods_for_purchase` are the reads the forms build
their choices from; the service checks against the same functions, so a form can never
offer what the service would refuse.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import Bundle, BundleItem, Offer, Product, Status
from catalog.models import PaymentMethod as PaymentKind
from catalog.periods import period_bounds
from coupons.exceptions import CouponRefused
from notifications.events import EventType
from notifications.services import emit
from subscriptions.exceptions import PurchaseRefused
from subscriptions.models import (
    Activity,
    CouponRedemption,
    Customer,
    PaymentMethod,
    Subscription,
    SubscriptionItem,
    User,
)
from subscriptions.services.coupons import (
    CouponQuote,
    Scope,
    coupon_quote,
    coupon_redeem_for_purchase,
    purchase_scope,
)
from subscriptions.services.customers import customer_create_for_user
from subscriptions.services.lifecycle import term_values
from subscriptions.services.payments import offer_accepts, payment_method_add
from subscriptions.terms import commitment_end

INVOICE = PaymentKind.INVOICE.value  # pass as `payment_method` to pay by invoice


@dataclass(frozen=True)
class PurchaseOptions:
    """What a buyer may add to an offer: optional products of the plan's bundles and
    add-on bundles, each in the catalog's order."""

    optional_items: tuple[BundleItem, ...] = ()
    addon_bundles: tuple[Bundle, ...] = ()


def offer_refusal(*, offer: Offer, now: datetime | None = None) -> str | None:
    """Why the offer cannot be bought now, or None when it can."""
    now = now or timezone.now()
    if offer.status != Status.ACTIVE or not offer.is_valid_at(now):
        return _("This offer is not on sale.")
    if offer.product_id and offer.product.status != Status.ACTIVE:
        return _("This offer's product is no longer sold.")
    if offer.plan_id and (offer.plan.status != Status.ACTIVE or not offer.plan.is_valid_at(now)):
        return _("This offer's plan is no longer sold.")
    return None


def purchase_options(*, offer: Offer, now: datetime | None = None) -> PurchaseOptions:
    """The optional products and add-on bundles this offer can be bought with now."""
    if not offer.plan_id:
        return PurchaseOptions()
    now = now or timezone.now()
    plan = offer.plan
    positions = dict(plan.plan_bundles.values_list("bundle_id", "position"))
    items = BundleItem.objects.filter(
        bundle__in=positions, required=False, product__status=Status.ACTIVE
    ).select_related("bundle", "product")
    optional: dict[int, BundleItem] = {}
    for item in sorted(items, key=lambda i: (positions[i.bundle_id], i.product.name, i.pk)):
        optional.setdefault(item.product_id, item)  # a product optional in two bundles: once
    candidates = plan.compatible_bundles.all() if plan.compatible_bundles_only else Bundle.objects
    addons = [
        bundle
        for bundle in candidates.filter(status=Status.ACTIVE).exclude(pk__in=positions)
        if bundle.is_valid_at(now)
    ]
    return PurchaseOptions(optional_items=tuple(optional.values()), addon_bundles=tuple(addons))


def accepts_payment_kind(offer: Offer, kind: str) -> bool:
    """Plans list the payment methods they support; product offers accept every kind."""
    return offer_accepts(offer, kind)


def payment_methods_for_purchase(*, customer: Customer | None, offer: Offer) -> list[PaymentMethod]:
    """The customer's active card and SEPA methods the offer accepts (invoice payment is
    offered separately, as `INVOICE`)."""
    if customer is None:
        return []
    methods = customer.payment_methods.filter(status=PaymentMethod.Status.ACTIVE).exclude(
        kind=INVOICE
    )
    return [method for method in methods if accepts_payment_kind(offer, method.kind)]


def _coupon_quote(
    customer: Customer,
    offer: Offer,
    code: str,
    kind: str,
    scope: Scope,
    actor: User | None,
    now: datetime,
) -> CouponQuote | None:
    """The code checked against this purchase (nothing used yet), or None without one.
    Wrong guesses count against the customer; staff are not throttled."""
    if not code.strip():
        if kind == CouponRedemption.Kind.VOUCHER:
            raise PurchaseRefused(_("Enter the voucher code."), field="coupon_code")
        return None
    throttle_key = None if actor is not None and actor.is_staff else f"customer:{customer.pk}"
    try:
        return coupon_quote(
            offer=offer, code=code, kind=kind, scope=scope, throttle_key=throttle_key, now=now
        )
    except CouponRefused as refused:
        raise PurchaseRefused(str(refused.message), field="coupon_code") from None


def _redeem_coupon(subscription, code, kind, scope, actor, now) -> CouponRedemption:
    try:
        return coupon_redeem_for_purchase(
            subscription=subscription, code=code, kind=kind, scope=scope, actor=actor, now=now
        )
    except CouponRefused as refused:  # taken or disabled since the check
        raise PurchaseRefused(str(refused.message), field="coupon_code") from None


def _check_offer(offer: Offer, now: datetime) -> None:
    refusal = offer_refusal(offer=offer, now=now)
    if refusal:
        raise PurchaseRefused(refusal, field="offer")
    term = offer.effective_term
    if (
        term is not None
        and not offer.is_recurring
        and term.commitment_basis == term.Basis.BILLING_CYCLES
    ):
        # The catalog refuses this pairing (Offer.clean), but a term edited after the
        # offer was saved can still bring it here; a one-time purchase has no cycles.
        raise PurchaseRefused(
            _(
                "This offer cannot be bought: its term counts billing cycles, which a "
                "one-time purchase does not have."
            ),
            field="offer",
        )


def _check_choices(
    options: PurchaseOptions, optional_products: list[Product], addon_bundles: list[Bundle]
) -> None:
    allowed_products = {item.product_id for item in options.optional_items}
    for product in optional_products:
        if product.pk not in allowed_products:
            raise PurchaseRefused(
                _("%(product)s is not an optional product of this offer.")
                % {"product": product.name},
                field="optional_products",
            )
    allowed_bundles = {bundle.pk for bundle in options.addon_bundles}
    for bundle in addon_bundles:
        if bundle.pk not in allowed_bundles:
            raise PurchaseRefused(
                _("%(bundle)s cannot be added to this offer.") % {"bundle": bundle.name},
                field="addon_bundles",
            )


def _needs_payment(offer: Offer, quote: CouponQuote | None) -> bool:
    """A paid offer needs a payment method, unless a voucher covers it (the subscription
    ends after its free periods) or a coupon makes every period free."""
    if offer.price_amount <= Decimal(0) or (quote is not None and quote.kind == "voucher"):
        return False
    return quote is None or quote.price > 0 or quote.periods is not None


def _check_payment_method(
    customer: Customer,
    offer: Offer,
    payment_method: PaymentMethod | str | None,
    quote: CouponQuote | None = None,
) -> None:
    if payment_method is None:
        if _needs_payment(offer, quote):
            raise PurchaseRefused(_("Choose how you want to pay."), field="payment_method")
        return
    if isinstance(payment_method, str):
        if payment_method != INVOICE:
            raise PurchaseRefused(_("Choose how you want to pay."), field="payment_method")
        kind = INVOICE
    elif (
        payment_method.customer_id != customer.pk
        or payment_method.status != PaymentMethod.Status.ACTIVE
    ):
        raise PurchaseRefused(
            _("This payment method is not available. Choose another one."),
            field="payment_method",
        )
    else:
        kind = payment_method.kind
    if not accepts_payment_kind(offer, kind):
        raise PurchaseRefused(
            _("This offer cannot be paid by %(kind)s.") % {"kind": PaymentKind(kind).label},
            field="payment_method",
        )


@transaction.atomic
def subscription_purchase(
    *,
    customer: Customer,
    offer: Offer,
    optional_products: Iterable[Product] = (),
    addon_bundles: Iterable[Bundle] = (),
    coupon_code: str = "",
    coupon_kind: str = CouponRedemption.Kind.COUPON,
    payment_method: PaymentMethod | str | None = None,
    actor: User | None = None,
    purchase_key: uuid.UUID | None = None,
    now: datetime | None = None,
) -> Subscription:
    """Buy `offer` for `customer`: a subscription with what was sold copied in, its
    products, an activity row and a `subscription.created` event. `payment_method` is
    one of the customer's methods, `INVOICE` ("invoice") for bank transfer, or None
    (free offers only). Raises PurchaseRefused and writes nothing when a rule refuses.

    `purchase_key` makes the purchase idempotent (the checkout form's key, so a double
    click or a resubmitted form buys once): when the customer already has a subscription
    with that key, it is returned and nothing else happens. Without a key every call is
    a new purchase.

    `coupon_code` is used for this purchase (`coupon_kind` "voucher": the voucher page's
    redemption, see subscriptions.services.coupons); a refused code refuses the purchase
    on the "coupon_code" field."""
    now = now or timezone.now()
    optional_products, addon_bundles = list(optional_products), list(addon_bundles)
    # One purchase at a time per customer (the main user, the invoice method, the key).
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    if purchase_key is not None:
        done = Subscription.objects.filter(customer=customer, purchase_key=purchase_key).first()
        if done is not None:
            return done
    offer = Offer.objects.select_related("product", "plan", "term", "plan__term").get(pk=offer.pk)
    _check_offer(offer, now)
    _check_choices(purchase_options(offer=offer, now=now), optional_products, addon_bundles)
    scope = purchase_scope(
        offer=offer, optional_products=optional_products, addon_bundles=addon_bundles
    )
    quote = _coupon_quote(customer, offer, coupon_code, coupon_kind, scope, actor, now)
    payment_method = _lock_payment_method(customer, payment_method)
    _check_payment_method(customer, offer, payment_method, quote)
    if payment_method == INVOICE:
        # The customer's invoice method, created on first use (payments' one way to).
        payment_method = payment_method_add(customer=customer, kind=INVOICE, actor=actor)
    subscription = _create_subscription(customer, offer, payment_method, purchase_key, now)
    _create_items(subscription, offer, optional_products, addon_bundles)
    redemption = None
    if quote is not None:
        redemption = _redeem_coupon(subscription, coupon_code, coupon_kind, scope, actor, now)
    _record(subscription, customer, offer, actor, now, redemption)
    return subscription


def _lock_payment_method(
    customer: Customer, payment_method: PaymentMethod | str | None
) -> PaymentMethod | str | None:
    """The method as it is now, locked until the purchase commits: the caller's object
    may be stale (removed in another tab since the form was shown), and removing waits
    for this lock, so it cannot slip in between the check and the new subscription."""
    if not isinstance(payment_method, PaymentMethod):
        return payment_method
    try:
        return PaymentMethod.objects.select_for_update().get(
            pk=payment_method.pk, customer=customer
        )
    except PaymentMethod.DoesNotExist:
        raise PurchaseRefused(
            _("This payment method is not available. Choose another one."),
            field="payment_method",
        ) from None


def _create_subscription(
    customer: Customer,
    offer: Offer,
    payment_method: PaymentMethod | None,
    purchase_key: uuid.UUID | None,
    now: datetime,
) -> Subscription:
    term = offer.effective_term
    # Month arithmetic runs on the merchant's wall clock (catalog.periods); stored as UTC.
    local_now = timezone.localtime(now)
    period_start = period_end = commitment_ends_at = None
    if offer.is_recurring:
        period_start, period_end = period_bounds(
            local_now, 0, offer.billing_interval_count, offer.billing_interval_unit
        )
    values = term_values(term) if term is not None else None
    if values is not None:
        commitment_ends_at = commitment_end(
            starts_at=local_now,
            term=values,
            interval_count=offer.billing_interval_count,
            interval_unit=offer.billing_interval_unit,
            anchor=local_now,
        )
    return Subscription.objects.create(
        customer=customer,
        offer=offer,
        price_amount=offer.price_amount,
        currency=offer.currency,
        billing_interval_count=offer.billing_interval_count,
        billing_interval_unit=offer.billing_interval_unit,
        user_count=offer.user_count,
        term=term,
        term_snapshot=values.to_snapshot() if values is not None else {},
        commitment_starts_at=now if values is not None else None,
        commitment_ends_at=commitment_ends_at,
        started_at=now,
        current_period_start=period_start,
        current_period_end=period_end,
        payment_method=payment_method,
        purchase_key=purchase_key,
    )


def _create_items(
    subscription: Subscription,
    offer: Offer,
    optional_products: list[Product],
    addon_bundles: list[Bundle],
) -> None:
    """Required products of the plan's bundles are included, chosen optional products
    optional, and each add-on bundle brings its required products (its optional ones
    are not offered: the checkout chooses bundles, not their parts). A product that
    arrives twice is listed once, under its first source."""
    rows: dict[int, SubscriptionItem] = {}

    def add(product_id: int, bundle_id: int | None, source: str) -> None:
        rows.setdefault(
            product_id,
            SubscriptionItem(
                subscription=subscription, product_id=product_id, bundle_id=bundle_id, source=source
            ),
        )

    if offer.plan_id:
        positions = dict(offer.plan.plan_bundles.values_list("bundle_id", "position"))
        plan_items = sorted(
            BundleItem.objects.filter(bundle__in=positions),
            key=lambda item: (positions[item.bundle_id], item.pk),
        )
        chosen = {product.pk for product in optional_products}
        for item in plan_items:
            if item.required:
                add(item.product_id, item.bundle_id, SubscriptionItem.Source.INCLUDED)
        for item in plan_items:
            if not item.required and item.product_id in chosen:
                add(item.product_id, item.bundle_id, SubscriptionItem.Source.OPTIONAL)
        addon_items = BundleItem.objects.filter(bundle__in=addon_bundles, required=True)
        for item in addon_items.order_by("bundle__name", "product__name"):
            add(item.product_id, item.bundle_id, SubscriptionItem.Source.ADDON)
    else:
        add(offer.product_id, None, SubscriptionItem.Source.INCLUDED)
    SubscriptionItem.objects.bulk_create(rows.values())


def _record(
    subscription: Subscription,
    customer: Customer,
    offer: Offer,
    actor: User | None,
    now: datetime,
    redemption: CouponRedemption | None = None,
) -> None:
    if customer.main_user_id is None and actor is not None and actor.customer_id == customer.pk:
        customer.main_user = actor
        customer.save(update_fields=["main_user", "updated_at"])
    subscription_created_record(
        subscription=subscription,
        actor=actor,
        message=_("Bought %(offer)s.") % {"offer": offer.name},
        now=now,
        redemption=redemption,
    )


def subscription_created_record(
    *,
    subscription: Subscription,
    actor: User | None,
    message: str,
    now: datetime,
    redemption: CouponRedemption | None = None,
) -> None:
    """The activity row and the `subscription.created` event of a new subscription (a
    purchase or a corporate deal): one payload shape for both."""
    Activity.objects.create(
        customer=subscription.customer,
        subscription=subscription,
        actor=actor,
        verb="subscription.created",
        message=message,
    )
    end = subscription.current_period_end
    emit(
        type=EventType.SUBSCRIPTION_CREATED,
        subject=subscription,
        occurred_at=now,
        payload={
            "subscription": str(subscription.public_id),
            "customer": str(subscription.customer.public_id),
            "offer": subscription.offer.code if subscription.offer_id else None,
            "corporate_offer": (
                subscription.corporate_offer.code if subscription.corporate_offer_id else None
            ),
            "price": str(subscription.price_amount),
            "currency": subscription.currency,
            "current_period_end": end.astimezone(UTC).isoformat() if end else None,
            "coupon": _coupon_payload(redemption),
        },
    )


def _coupon_payload(redemption: CouponRedemption | None) -> dict | None:
    if redemption is None:
        return None
    return {
        "code": redemption.code.code,
        "campaign": redemption.campaign.code,
        "kind": redemption.kind,
        "discount": str(redemption.discount_amount),
        "periods": redemption.periods,
        "ends_at": redemption.subscription.ends_at.astimezone(UTC).isoformat()
        if redemption.subscription.ends_at
        else None,
    }


def subscription_purchase_for_user(
    *, user: User, purchase_key: uuid.UUID | None = None, **purchase
) -> Subscription:
    """The portal's purchase: the signed-in user's customer account (a new person account
    on their first purchase) buys, in one transaction, so a refusal leaves no account.
    Only the account's main user buys for it (or a user of an account without one, who
    becomes its main user); the account's other users do not spend its money."""
    with transaction.atomic():
        customer = customer_create_for_user(user=user)
        if customer.main_user_id not in (None, user.pk):
            raise PurchaseRefused(_("Only the account's main user can buy for it."))
        return subscription_purchase(
            customer=customer, actor=user, purchase_key=purchase_key, **purchase
        )
