"""The corporate usage page of the portal (issue 7 item 6), for a corporate
subscription's main user: the current accounting period so far — users per product,
counted as the contract says, and what the invoice would be if the period ended now
(the pricing engine, as the billing run prices it) — and the past periods' invoices.

Scoped like every portal page: another customer's subscription, a subscription that is
not corporate, and anyone who is not a main user get 404. A fixed number of queries
whatever the number of users (the count is one query, see billing.usage).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from uuid import UUID

from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone, translation

from billing.models import Invoice
from billing.usage import ProductUsage, usage_for_subscription
from catalog.money import format_money
from catalog.periods import period_containing
from subscriptions.models import Customer, Subscription
from subscriptions.selectors.customers import customer_for_user


def corporate_subscription_for_customer(*, customer: Customer, public_id: UUID) -> Subscription:
    """The customer's corporate subscription with this public id; 404 otherwise."""
    subscription = (
        Subscription.objects.select_related("corporate_offer")
        .filter(public_id=public_id, customer=customer, corporate_offer__isnull=False)
        .first()
    )
    if subscription is None:
        raise Http404
    return subscription


def invoices_for_subscription(*, subscription: Subscription) -> QuerySet[Invoice]:
    """The subscription's issued period invoices, newest period first."""
    return (
        Invoice.objects.filter(subscription=subscription, kind=Invoice.Kind.INVOICE)
        .exclude(status=Invoice.Status.DRAFT)
        .order_by("-period_start", "-id")
    )


@dataclass(frozen=True)
class CurrentPeriod:
    start: datetime
    end: datetime  # exclusive
    usage: list[ProductUsage]
    amounts: list[str]  # per product, formatted; "" when the contract cannot price
    total: str
    complete: bool  # every product could be priced


def current_period(subscription: Subscription, now: datetime, language: str):
    """The accounting period containing `now`, counted up to now; None before the start,
    after the end, or without an accounting period."""
    ends = subscription.ended_at or subscription.ends_at
    count, unit = subscription.billing_interval_count, subscription.billing_interval_unit
    if not count or now < subscription.started_at or (ends is not None and now >= ends):
        return None
    anchor = timezone.localtime(subscription.started_at)
    _index, start, end = period_containing(anchor, timezone.localtime(now), count, unit)
    usage = usage_for_subscription(subscription=subscription, start=start, end=now)
    currency = subscription.currency
    amounts = ["" if u.amount is None else format_money(u.amount, currency, language)
               for u in usage]  # fmt: skip
    total = sum((u.amount for u in usage if u.amount is not None), Decimal(0))
    return CurrentPeriod(
        start, end, usage, amounts, format_money(total, currency, language),
        complete=all(u.amount is not None for u in usage),
    )  # fmt: skip


def _last_day(end: datetime | None) -> datetime | None:
    """The last moment of a period whose end is exclusive (shown as its last day)."""
    return timezone.localtime(end) - timedelta(microseconds=1) if end else None


@login_required
def subscription_usage(request: HttpRequest, public_id: UUID) -> HttpResponse:
    customer = customer_for_user(user=request.user)
    subscription = corporate_subscription_for_customer(customer=customer, public_id=public_id)
    language = translation.get_language() or "en"
    period = current_period(subscription, timezone.now(), language)
    invoices = list(invoices_for_subscription(subscription=subscription))
    for invoice in invoices:
        invoice.gross_label = format_money(invoice.gross_amount, invoice.currency, language)
        invoice.last_day = _last_day(invoice.period_end)
    context = {
        "subscription": subscription,
        "period": period,
        "rows": list(zip(period.usage, period.amounts, strict=True)) if period else [],
        "invoices": invoices,
        "last_day": _last_day(period.end) if period else None,
    }
    return render(request, "billing/usage/subscription_usage.html", context)
