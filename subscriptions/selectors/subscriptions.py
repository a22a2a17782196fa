"""Reads of a customer's subscriptions, scoped to the customer."""

from __future__ import annotations

from uuid import UUID

from django.core.exceptions import ValidationError
from django.db.models import Prefetch, QuerySet
from django.http import Http404

from subscriptions.models import Charge, Customer, Subscription, SubscriptionItem


def subscription_list_for_customer(*, customer: Customer) -> QuerySet[Subscription]:
    """The customer's subscriptions, newest first, with what a list or detail page shows
    (offer, term, payment method, coupon, products and their bundles) in a fixed number of
    queries."""
    items = SubscriptionItem.objects.select_related("product", "bundle").order_by(
        "source", "bundle__name", "product__name", "id"
    )
    return (
        Subscription.objects.filter(customer=customer)
        .select_related(
            "offer",
            "corporate_offer",
            "term",
            "payment_method",
            "coupon_redemption__code",
        )
        .prefetch_related(Prefetch("items", queryset=items))
        .order_by("-started_at", "-id")
    )


def subscription_get_for_customer(*, customer: Customer, public_id: UUID | str) -> Subscription:
    """One of the customer's subscriptions; 404 for anyone else's (or none)."""
    try:
        return subscription_list_for_customer(customer=customer).get(public_id=public_id)
    except (Subscription.DoesNotExist, ValidationError, ValueError) as error:
        raise Http404 from error


def subscription_pending_charges(*, subscription: Subscription) -> QuerySet[Charge]:
    """One-off amounts of a subscription (a customer's, from the selectors above) that
    wait for their invoice, such as an early-cancellation fee."""
    return subscription.charges.filter(invoiced_at__isnull=True).order_by("created_at", "id")
