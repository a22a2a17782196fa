"""Undoing a pending cancellation, and ending a subscription."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
import time_machine

from notifications.events import EventType
from notifications.models import Event
from subscriptions.exceptions import SubscriptionError
from subscriptions.models import Activity, Charge, Subscription
from subscriptions.services.lifecycle import (
    subscription_cancel,
    subscription_end,
    subscription_undo_cancellation,
)
from tests.factories import OfferFactory, TermFactory
from tests.subscriptions.factories import BERLIN, SubscriptionFactory

pytestmark = pytest.mark.django_db


def berlin(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=BERLIN)


def penalty_subscription() -> Subscription:
    """Monthly from 1 Jan 2027; 12 months with a 120.00 EUR pro-rata penalty after 14 days."""
    term = TermFactory(with_penalty=True, penalty_fee_amount=Decimal("120.00"))
    return SubscriptionFactory(term=term, offer=OfferFactory(), started_at=berlin(2027, 1, 1))


def event_types() -> list[str]:
    return list(Event.objects.order_by("created_at", "id").values_list("type", flat=True))


def test_undo_removes_the_penalty_and_reactivates():
    sub = penalty_subscription()
    subscription_cancel(subscription=sub, now=berlin(2027, 2, 10))
    assert Charge.objects.get(subscription=sub).amount == Decimal("100.60")

    with time_machine.travel(berlin(2027, 2, 20), tick=False):
        undone = subscription_undo_cancellation(subscription=sub)

    sub.refresh_from_db()
    assert undone.status == sub.status == Subscription.Status.ACTIVE
    assert sub.cancelled_at is None
    assert sub.ends_at is None
    assert not Charge.objects.exists()
    assert event_types() == [
        EventType.SUBSCRIPTION_CANCELLED,
        EventType.SUBSCRIPTION_CANCELLATION_UNDONE,
    ]
    undo_event = Event.objects.get(type=EventType.SUBSCRIPTION_CANCELLATION_UNDONE)
    assert undo_event.payload == {
        "subscription": str(sub.public_id),
        "customer": str(sub.customer.public_id),
        "status": "active",
        "ends_at": None,
        "penalty": None,
    }
    assert list(
        Activity.objects.filter(subscription=sub).order_by("id").values_list("verb", flat=True)
    ) == ["subscription.cancelled", "subscription.cancellation_undone"]


def test_cancelling_again_after_undo_records_a_new_penalty():
    sub = penalty_subscription()
    subscription_cancel(subscription=sub, now=berlin(2027, 2, 10))
    subscription_undo_cancellation(subscription=sub, now=berlin(2027, 2, 11))

    subscription_cancel(subscription=sub, now=berlin(2027, 3, 10))

    # Effective 1 Apr 2027: 275 days and the daylight-saving hour of 28 Mar are left,
    # 120.00 * (275 * 24 + 1) / (365 * 24) = 90.4246… → 90.42.
    assert Charge.objects.get(subscription=sub).amount == Decimal("90.42")


def test_undo_is_refused_once_the_cancellation_took_effect():
    sub = SubscriptionFactory(cancelled=True, started_at=berlin(2027, 1, 1))
    assert sub.ends_at == berlin(2027, 2, 1)

    with pytest.raises(SubscriptionError, match="not taken effect yet"):
        subscription_undo_cancellation(subscription=sub, now=berlin(2027, 2, 1))

    sub.refresh_from_db()
    assert sub.status == Subscription.Status.CANCELLED
    assert not Event.objects.exists()


def test_undo_of_an_active_subscription_is_refused():
    sub = SubscriptionFactory()

    with pytest.raises(SubscriptionError, match="not taken effect yet"):
        subscription_undo_cancellation(subscription=sub, now=berlin(2027, 1, 5))

    assert not Event.objects.exists()


def test_undo_is_refused_when_the_penalty_was_already_invoiced():
    sub = penalty_subscription()
    subscription_cancel(subscription=sub, now=berlin(2027, 2, 10))
    Charge.objects.filter(subscription=sub).update(invoiced_at=berlin(2027, 2, 11))

    with pytest.raises(SubscriptionError, match="already been invoiced"):
        subscription_undo_cancellation(subscription=sub, now=berlin(2027, 2, 12))

    sub.refresh_from_db()
    assert sub.status == Subscription.Status.CANCELLED
    assert Charge.objects.filter(subscription=sub).count() == 1


def test_end_ends_an_active_subscription_now():
    sub = SubscriptionFactory()

    with time_machine.travel(berlin(2027, 1, 20, 8), tick=False):
        ended = subscription_end(subscription=sub)

    sub.refresh_from_db()
    assert ended.status == sub.status == Subscription.Status.ENDED
    assert sub.ended_at == sub.ends_at == berlin(2027, 1, 20, 8)
    assert event_types() == [EventType.SUBSCRIPTION_ENDED]
    assert Activity.objects.get(subscription=sub).message == "Ended on 20 January 2027."


def test_end_of_a_cancelled_subscription_after_its_date_records_the_date_it_took_effect():
    sub = SubscriptionFactory(cancelled=True, started_at=berlin(2027, 1, 1))

    ended = subscription_end(subscription=sub, now=berlin(2027, 2, 3))

    assert ended.ended_at == berlin(2027, 2, 1)


def test_end_of_a_cancelled_subscription_before_its_date_ends_it_now():
    sub = SubscriptionFactory(cancelled=True, started_at=berlin(2027, 1, 1))

    ended = subscription_end(subscription=sub, now=berlin(2027, 1, 15))

    assert ended.ended_at == ended.ends_at == berlin(2027, 1, 15)


def test_ending_an_ended_subscription_is_refused():
    sub = SubscriptionFactory(ended=True)

    with pytest.raises(SubscriptionError, match="already ended"):
        subscription_end(subscription=sub, now=berlin(2027, 3, 1))

    assert not Event.objects.exists()
