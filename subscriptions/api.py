"""The integration API's customers, subscriptions and coupon codes used for a purchase
(mounted by config/api.py). Handlers parse, call one service, and answer; the rules are
the services'. The reads are plain merchant-wide querysets: an API key belongs to the
merchant and sees every customer."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from django.db.models import Prefetch, Q, QuerySet
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Query, Router, Schema, Status
from pydantic import Field

from api.auth import scope
from api.pagination import PageParams, cursor_page, page_of
from api.problems import Problem, register_problem
from api.schemas import EmailOrBlank, Money, Timestamp, money, text
from catalog.models import Bundle, Offer, Product
from coupons.exceptions import CouponRefused
from coupons.services import code_lookup
from security.throttle import Kind, Throttled, client_for_api_key, guard
from subscriptions.exceptions import CancellationRefused, PurchaseRefused, SubscriptionError
from subscriptions.models import Customer, PaymentMethod, Subscription, SubscriptionItem
from subscriptions.services.accounts import customer_update_details
from subscriptions.services.coupons import coupon_quote, purchase_scope
from subscriptions.services.customers import customer_create
from subscriptions.services.lifecycle import subscription_cancel, subscription_undo_cancellation
from subscriptions.services.purchase import INVOICE, subscription_purchase

router = Router(tags=["customers and subscriptions"])

register_problem(
    PurchaseRefused,
    status=422,
    code=lambda e: "coupon_refused" if e.field == "coupon_code" else "purchase_refused",
    field=lambda e: f"body.{e.field}" if e.field else None,
)
register_problem(
    CancellationRefused,
    status=409,
    code="cancellation_refused",
    members=lambda e: {"earliest_end": e.earliest_end.isoformat() if e.earliest_end else None},
)
register_problem(SubscriptionError, status=409, code="subscription_state")
# Too many wrong codes for the customer or the API key (security.throttle).
register_problem(
    Throttled,
    status=429,
    code="too_many_failures",
    members=lambda e: {"retry_after": e.retry_after},
)


# --- schemas ---------------------------------------------------------------------------


class CustomerOut(Schema):
    id: UUID
    kind: str
    name: str
    email: str
    vat_id: str
    address_line1: str
    address_line2: str
    postal_code: str
    city: str
    country: str
    language: str
    currency: str
    main_user_email: str | None
    created_at: Timestamp
    updated_at: Timestamp


class CustomerIn(Schema):
    kind: Literal["person", "company"] = "person"
    name: text(200, 1)
    email: EmailOrBlank = ""
    vat_id: text(32) = ""
    address_line1: text(200) = ""
    address_line2: text(200) = ""
    postal_code: text(20) = ""
    city: text(100) = ""
    country: text(2) = ""
    language: Literal["en", "de"] = "en"
    currency: text(3, 3) = "EUR"
    main_user_email: EmailOrBlank = Field(
        "", description="The account's portal login (found, or created without a password)."
    )


class CustomerPatch(Schema):
    name: text(200, 1) | None = None
    email: EmailOrBlank | None = None
    vat_id: text(32) | None = None
    address_line1: text(200) | None = None
    address_line2: text(200) | None = None
    postal_code: text(20) | None = None
    city: text(100) | None = None
    country: text(2) | None = None
    language: Literal["en", "de"] | None = None


class CustomerFilters(Schema):
    email: text(254) | None = Field(None, description="Billing or main user e-mail (exact).")
    search: text(100) | None = Field(None, description="Part of the name.")
    kind: Literal["person", "company"] | None = None


class Interval(Schema):
    count: int
    unit: str


class SubscriptionOut(Schema):
    id: UUID
    customer: UUID
    offer: str | None = Field(None, description="The offer's code (None when corporate).")
    corporate_offer: str | None = None
    title: str
    status: str
    price: Money
    billing_interval: Interval | None
    user_count: int
    products: list[str]
    coupon_code: str
    started_at: Timestamp
    current_period_start: Timestamp | None
    current_period_end: Timestamp | None
    cancelled_at: Timestamp | None
    ends_at: Timestamp | None
    ended_at: Timestamp | None
    created_at: Timestamp


class SubscriptionIn(Schema):
    customer: UUID
    offer: text(64, 1) = Field(..., description="The offer's code.")
    optional_products: list[text(64, 1)] = Field([], max_length=50)
    addon_bundles: list[text(64, 1)] = Field([], max_length=50)
    coupon_code: text(64) = ""
    payment_method: text(36) | None = Field(
        None,
        description='"invoice", the id of one of the customer\'s payment methods, or '
        "null for a free offer.",
    )


class SubscriptionFilters(Schema):
    customer: UUID | None = None
    status: Literal["active", "cancelled", "ended"] | None = None
    offer: text(64) | None = Field(None, description="The offer's code.")


class CancelIn(Schema):
    mode: Literal["period_end", "now"] = "period_end"


class CodeCheckIn(Schema):
    offer: text(64, 1) = Field(..., description="The offer the code would be used for.")
    optional_products: list[text(64, 1)] = Field([], max_length=50)
    addon_bundles: list[text(64, 1)] = Field([], max_length=50)


class CodeCheckOut(Schema):
    code: str
    valid: bool
    reason: str | None = Field(None, description="Why not: unknown, expired, used_up, ….")
    detail: str
    list_price: Money | None = None
    discount: Money | None = None
    price: Money | None = None


class RedeemIn(Schema):
    customer: UUID
    offer: text(64, 1)
    optional_products: list[text(64, 1)] = Field([], max_length=50)
    addon_bundles: list[text(64, 1)] = Field([], max_length=50)
    payment_method: text(36) | None = None


# --- customers -------------------------------------------------------------------------


def _customer_out(customer: Customer) -> CustomerOut:
    return CustomerOut(
        id=customer.public_id,
        main_user_email=customer.main_user.email if customer.main_user_id else None,
        **{field: getattr(customer, field) for field in CustomerOut.model_fields
           if field not in ("id", "main_user_email")},
    )  # fmt: skip


def _customers() -> QuerySet[Customer]:
    return Customer.objects.select_related("main_user")


@router.get("/customers", response=page_of(CustomerOut, "CustomerPage"), auth=scope("read"))
def customer_list(request, filters: Query[CustomerFilters], page: Query[PageParams]):
    customers = _customers()
    if filters.email:
        customers = customers.filter(
            Q(email__iexact=filters.email) | Q(main_user__email__iexact=filters.email)
        )
    if filters.search:
        customers = customers.filter(name__icontains=filters.search)
    if filters.kind:
        customers = customers.filter(kind=filters.kind)
    items, cursor = cursor_page(customers, page)
    return {"items": [_customer_out(c) for c in items], "next_cursor": cursor}


@router.post("/customers", response={201: CustomerOut}, auth=scope("customers"))
def customer_post(request, body: CustomerIn):
    details = body.model_dump(exclude={"kind", "name", "main_user_email"})
    customer = customer_create(
        kind=body.kind,
        name=body.name,
        main_user_email=body.main_user_email,
        actor=request.auth.created_by,
        **details,
    )
    return Status(201, _customer_out(customer))


@router.get("/customers/{customer_id}", response=CustomerOut, auth=scope("read"))
def customer_get(request, customer_id: UUID):
    return _customer_out(get_object_or_404(_customers(), public_id=customer_id))


@router.patch("/customers/{customer_id}", response=CustomerOut, auth=scope("customers"))
def customer_patch(request, customer_id: UUID, body: CustomerPatch):
    customer = get_object_or_404(Customer, public_id=customer_id)
    details = body.model_dump(exclude_none=True)
    customer = customer_update_details(customer=customer, actor=request.auth.created_by, **details)
    return _customer_out(get_object_or_404(_customers(), pk=customer.pk))


# --- subscriptions ---------------------------------------------------------------------


def _subscriptions() -> QuerySet[Subscription]:
    items = SubscriptionItem.objects.select_related("product").order_by("product__code")
    return Subscription.objects.select_related(
        "customer", "offer", "corporate_offer"
    ).prefetch_related(Prefetch("items", queryset=items))


def subscription_out(subscription: Subscription) -> SubscriptionOut:
    interval = None
    if subscription.billing_interval_count:
        interval = Interval(
            count=subscription.billing_interval_count, unit=subscription.billing_interval_unit
        )
    return SubscriptionOut(
        id=subscription.public_id,
        customer=subscription.customer.public_id,
        offer=subscription.offer.code if subscription.offer_id else None,
        corporate_offer=(
            subscription.corporate_offer.code if subscription.corporate_offer_id else None
        ),
        title=subscription.title,
        status=subscription.status,
        price=money(subscription.price_amount, subscription.currency),
        billing_interval=interval,
        user_count=subscription.user_count,
        products=[item.product.code for item in subscription.items.all()],
        coupon_code=subscription.coupon_code,
        started_at=subscription.started_at,
        current_period_start=subscription.current_period_start,
        current_period_end=subscription.current_period_end,
        cancelled_at=subscription.cancelled_at,
        ends_at=subscription.ends_at,
        ended_at=subscription.ended_at,
        created_at=subscription.created_at,
    )


def _subscription(public_id: UUID) -> Subscription:
    return get_object_or_404(_subscriptions(), public_id=public_id)


@router.get(
    "/subscriptions", response=page_of(SubscriptionOut, "SubscriptionPage"), auth=scope("read")
)
def subscription_list(request, filters: Query[SubscriptionFilters], page: Query[PageParams]):
    subscriptions = _subscriptions()
    if filters.customer:
        subscriptions = subscriptions.filter(customer__public_id=filters.customer)
    if filters.status:
        subscriptions = subscriptions.filter(status=filters.status)
    if filters.offer:
        subscriptions = subscriptions.filter(offer__code=filters.offer)
    items, cursor = cursor_page(subscriptions, page)
    return {"items": [subscription_out(s) for s in items], "next_cursor": cursor}


def _referenced(model, field: str, value, **lookup):
    """The object a request body names, or 422 on that field."""
    found = model.objects.filter(**lookup).first()
    if found is None:
        raise Problem(422, "unknown_reference", f"No such {field}: {value}.", field=f"body.{field}")
    return found


def _codes(model, field: str, codes: list[str]) -> list:
    found = {obj.code: obj for obj in model.objects.filter(code__in=codes)}
    missing = [code for code in codes if code not in found]
    if missing:
        raise Problem(
            422, "unknown_reference", f"No such {field}: {', '.join(missing)}.",
            field=f"body.{field}",
        )  # fmt: skip
    return [found[code] for code in dict.fromkeys(codes)]


def _payment_method(customer: Customer, value: str | None):
    if value is None or value == INVOICE:
        return value
    try:
        public_id = UUID(value)
    except ValueError:
        raise Problem(
            422, "invalid_request", 'payment_method is "invoice", a payment method id or null.',
            field="body.payment_method",
        ) from None  # fmt: skip
    return _referenced(
        PaymentMethod, "payment_method", value, public_id=public_id, customer=customer
    )


def _wrong_code(error: BaseException) -> bool:
    return isinstance(error, CouponRefused) or (
        isinstance(error, PurchaseRefused) and error.field == "coupon_code"
    )


def _code_guard(request: HttpRequest, customer: Customer | None = None):
    """Wrong codes count against the customer and the API key (security.throttle)."""
    account = f"customer:{customer.pk}" if customer is not None else None
    client = client_for_api_key(request.auth.pk)
    return guard(kind=Kind.COUPON, account=account, client=client, fails=_wrong_code)


def _purchase(request: HttpRequest, body, *, coupon_code: str, coupon_kind: str):
    customer = _referenced(Customer, "customer", body.customer, public_id=body.customer)
    if not coupon_code:
        return _buy(request, body, customer, coupon_code=coupon_code, coupon_kind=coupon_kind)
    with _code_guard(request, customer) as attempt:
        subscription = _buy(
            request, body, customer, coupon_code=coupon_code, coupon_kind=coupon_kind
        )
        attempt.success()
    return subscription


def _buy(request: HttpRequest, body, customer: Customer, *, coupon_code: str, coupon_kind: str):
    subscription = subscription_purchase(
        customer=customer,
        offer=_referenced(Offer, "offer", body.offer, code=body.offer),
        optional_products=_codes(Product, "optional_products", body.optional_products),
        addon_bundles=_codes(Bundle, "addon_bundles", body.addon_bundles),
        coupon_code=coupon_code,
        coupon_kind=coupon_kind,
        payment_method=_payment_method(customer, body.payment_method),
        actor=request.auth.created_by,
    )
    return _subscription(subscription.public_id)


@router.post("/subscriptions", response={201: SubscriptionOut}, auth=scope("subscriptions"))
def subscription_post(request, body: SubscriptionIn):
    """Buy an offer for a customer (the purchase service the checkout uses)."""
    subscription = _purchase(request, body, coupon_code=body.coupon_code, coupon_kind="coupon")
    return Status(201, subscription_out(subscription))


@router.get("/subscriptions/{subscription_id}", response=SubscriptionOut, auth=scope("read"))
def subscription_get(request, subscription_id: UUID):
    return subscription_out(_subscription(subscription_id))


@router.post(
    "/subscriptions/{subscription_id}/cancel",
    response=SubscriptionOut,
    auth=scope("subscriptions"),
)
def subscription_cancel_post(request, subscription_id: UUID, body: CancelIn):
    """Cancel at the end of the period the term allows, or now."""
    subscription_cancel(
        subscription=_subscription(subscription_id),
        mode=body.mode,
        actor=request.auth.created_by,
    )
    return subscription_out(_subscription(subscription_id))


@router.post(
    "/subscriptions/{subscription_id}/undo-cancellation",
    response=SubscriptionOut,
    auth=scope("subscriptions"),
)
def subscription_undo_post(request, subscription_id: UUID):
    """Withdraw a cancellation that has not taken effect yet."""
    subscription_undo_cancellation(
        subscription=_subscription(subscription_id), actor=request.auth.created_by
    )
    return subscription_out(_subscription(subscription_id))


# --- coupon codes for a purchase -------------------------------------------------------


@router.post(
    "/coupon-codes/{code}/validate", response=CodeCheckOut, auth=scope("read"), tags=["coupons"]
)
def coupon_code_validate(request, code: text(64, 1), body: CodeCheckIn):
    """Whether the code could be used to buy this offer now, and the price it gives.
    Nothing is used; the answer is 200 either way (`valid`)."""
    offer = _referenced(Offer, "offer", body.offer, code=body.offer)
    scope_ = purchase_scope(
        offer=offer,
        optional_products=_codes(Product, "optional_products", body.optional_products),
        addon_bundles=_codes(Bundle, "addon_bundles", body.addon_bundles),
    )
    try:
        with _code_guard(request) as attempt:
            found = code_lookup(code=code)
            kind = found.campaign.kind if found is not None else "coupon"
            quote = coupon_quote(offer=offer, code=code, kind=kind, scope=scope_)
            attempt.success()
    except CouponRefused as refused:
        return CodeCheckOut(
            code=code, valid=False, reason=refused.reason, detail=str(refused.message)
        )
    currency = offer.currency
    return CodeCheckOut(
        code=quote.code.code,
        valid=True,
        detail="The code can be used for this offer.",
        list_price=money(quote.list_price, currency),
        discount=money(quote.discount, currency),
        price=money(quote.price, currency),
    )


@router.post(
    "/coupon-codes/{code}/redeem",
    response={201: SubscriptionOut},
    auth=scope("subscriptions"),
    tags=["coupons"],
)
def coupon_code_redeem(request, code: text(64, 1), body: RedeemIn):
    """Redeem a coupon (or voucher) code: the customer buys the offer with it, and the
    redemption is recorded with the subscription (one purchase, one transaction)."""
    found = code_lookup(code=code)
    kind = found.campaign.kind if found is not None else "coupon"
    subscription = _purchase(request, body, coupon_code=code, coupon_kind=kind)
    return Status(201, subscription_out(subscription))
