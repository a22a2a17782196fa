"""Pausing a subscription's access while an invoice stays unpaid, and resuming it.

Dunning (billing) pauses access when the merchant's policy says so and the last retry
failed; paying the invoice resumes it. A paused subscription keeps running and is
billed as usual (nothing is cancelled because a payment failed): the pause is what the
merchant's systems act on, told by the `subscription.access_paused` and
`subscription.access_resumed` events and the subscription's `access_paused_at`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.db import transaction
from django.utils import timezone

from notifications.events import EventType
from notifications.services import emit
from subscriptions.models import Activity, Subscription, User


def subscription_access_pause(
    *,
    subscription: Subscription,
    reason: str,
    actor: User | None = None,
    now: datetime | None = None,
) -> Subscription:
    """Pause access (once: pausing a paused subscription changes nothing)."""
    now = now or timezone.now()
    with transaction.atomic():
        sub = _locked(subscription)
        if sub.access_paused_at is not None or sub.status == Subscription.Status.ENDED:
            return sub
        sub.access_paused_at = now
        sub.save(update_fields=["access_paused_at", "updated_at"])
        _record(sub, EventType.SUBSCRIPTION_ACCESS_PAUSED, actor, reason, now)
    return sub


def subscription_access_resume(
    *,
    subscription: Subscription,
    reason: str,
    actor: User | None = None,
    now: datetime | None = None,
) -> Subscription:
    """Resume paused access (resuming one that is not paused changes nothing)."""
    now = now or timezone.now()
    with transaction.atomic():
        sub = _locked(subscription)
        if sub.access_paused_at is None:
            return sub
        paused_at, sub.access_paused_at = sub.access_paused_at, None
        sub.save(update_fields=["access_paused_at", "updated_at"])
        _record(sub, EventType.SUBSCRIPTION_ACCESS_RESUMED, actor, reason, now, paused_at)
    return sub


def _locked(subscription: Subscription) -> Subscription:
    return (
        Subscription.objects.select_for_update().select_related("customer").get(pk=subscription.pk)
    )


def _record(sub, verb, actor, reason, now, paused_at=None) -> None:
    Activity.objects.create(
        customer=sub.customer, subscription=sub, actor=actor, verb=verb, message=reason
    )
    payload = {
        "subscription": str(sub.public_id),
        "customer": str(sub.customer.public_id),
        "access_paused_at": _iso(sub.access_paused_at),
        "reason": reason,
    }
    if paused_at is not None:
        payload["paused_since"] = _iso(paused_at)
    emit(type=verb, subject=sub, payload=payload, occurred_at=now)


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment else None
