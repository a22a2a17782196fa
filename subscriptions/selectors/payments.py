"""Reads of payment methods, scoped to the customer whose portal is shown."""

from __future__ import annotations

from uuid import UUID

from django.db.models import Prefetch, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from subscriptions.models import Customer, PaymentMethod, Subscription

RUNNING = (Subscription.Status.ACTIVE, Subscription.Status.CANCELLED)


def payment_method_list_for_customer(*, customer: Customer) -> QuerySet[PaymentMethod]:
    """The customer's active methods, newest first, each with `running_subscriptions`
    (the running subscriptions it pays for, with their offers)."""
    return PaymentMethod.objects.filter(
        customer=customer, status=PaymentMethod.Status.ACTIVE
    ).prefetch_related(
        Prefetch(
            "subscriptions",
            queryset=Subscription.objects.filter(status__in=RUNNING)
            .select_related("offer", "corporate_offer")
            .order_by("started_at", "id"),
            to_attr="running_subscriptions",
        )
    )


def payment_method_get_for_customer(*, customer: Customer, public_id: UUID | str) -> PaymentMethod:
    """One of the customer's active methods; 404 for anyone else's, a removed one, or
    an id that is no UUID (it comes from a form field)."""
    return get_object_or_404(
        PaymentMethod,
        customer=customer,
        public_id=_uuid(public_id),
        status=PaymentMethod.Status.ACTIVE,
    )


def payment_method_choices_for_subscription(
    *, subscription: Subscription
) -> QuerySet[PaymentMethod]:
    """The customer's active methods the subscription's offer accepts (every one for a
    corporate subscription: corporate offers have no plan)."""
    methods = PaymentMethod.objects.filter(
        customer_id=subscription.customer_id, status=PaymentMethod.Status.ACTIVE
    )
    plan = subscription.offer.plan if subscription.offer is not None else None
    if plan is not None and plan.payment_methods:
        methods = methods.filter(kind__in=plan.payment_methods)
    return methods


def subscription_for_payment_change(*, customer: Customer, public_id: UUID | str) -> Subscription:
    """The customer's running subscription whose payment method may change; 404 else."""
    return get_object_or_404(
        Subscription.objects.select_related("offer__plan", "corporate_offer", "payment_method"),
        customer=customer,
        public_id=public_id,
        status__in=RUNNING,
    )


def _uuid(value: UUID | str) -> UUID:
    try:
        return value if isinstance(value, UUID) else UUID(str(value))
    except ValueError:
        raise Http404 from None
