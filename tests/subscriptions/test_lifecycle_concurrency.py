"""Lifecycle under concurrency, with real threads and real transactions."""

from __future__ import annotations

import threading
from datetime import datetime
from decimal import Decimal

import pytest
from django.db import connection, transaction

from notifications.events import EventType
from notifications.models import Event
from subscriptions.exceptions import SubscriptionError
from subscriptions.models import Charge, Customer, Subscription
from subscriptions.services.lifecycle import subscription_cancel, subscriptions_advance
from tests.factories import OfferFactory, TermFactory
from tests.subscriptions.factories import BERLIN, SubscriptionFactory

pytestmark = pytest.mark.django_db(transaction=True)


def berlin(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, tzinfo=BERLIN)


def in_thread(target) -> threading.Thread:
    def run():
        try:
            target()
        finally:
            connection.close()

    return threading.Thread(target=run)


def test_two_cancellations_at_once_cancel_once_and_charge_once():
    term = TermFactory(with_penalty=True, penalty_fee_amount=Decimal("120.00"))
    sub = SubscriptionFactory(term=term, offer=OfferFactory(), started_at=berlin(2027, 1, 1))
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def cancel():
        barrier.wait()
        try:
            subscription_cancel(subscription=sub, now=berlin(2027, 2, 10))
            outcomes.append("cancelled")
        except SubscriptionError as error:
            outcomes.append(str(error))

    threads = [in_thread(cancel) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes) == [
        "This subscription is already cancelled; it ends on 1 March 2027.",
        "cancelled",
    ]
    sub.refresh_from_db()
    assert sub.status == Subscription.Status.CANCELLED
    assert Charge.objects.filter(subscription=sub).count() == 1
    assert Charge.objects.get(subscription=sub).amount == Decimal("100.60")
    assert Event.objects.filter(type=EventType.SUBSCRIPTION_CANCELLED).count() == 1


def test_advance_skips_a_row_another_transaction_holds_and_does_it_next_time():
    held = SubscriptionFactory(offer=OfferFactory(), started_at=berlin(2027, 1, 1))
    free = SubscriptionFactory(offer=OfferFactory(), started_at=berlin(2027, 1, 1))
    locked, release = threading.Event(), threading.Event()

    def hold():
        with transaction.atomic():
            Subscription.objects.select_for_update().get(pk=held.pk)
            locked.set()
            release.wait(timeout=30)

    holder = in_thread(hold)
    holder.start()
    locked.wait(timeout=30)
    try:
        first = subscriptions_advance(now=berlin(2027, 2, 1))
    finally:
        release.set()
        holder.join(timeout=30)
    second = subscriptions_advance(now=berlin(2027, 2, 1))

    assert first == {"ended": 0, "renewed": 1, "commitments_renewed": 0, "failed": 0}
    assert second == {"ended": 0, "renewed": 1, "commitments_renewed": 0, "failed": 0}
    for sub in (held, free):
        sub.refresh_from_db()
        assert sub.current_period_start == berlin(2027, 2, 1)
    assert Event.objects.filter(type=EventType.SUBSCRIPTION_RENEWED).count() == 2


def test_advance_renews_a_subscription_whose_customer_row_another_transaction_holds():
    """Staff or the portal editing the customer (a row lock on it) must not make the job
    skip that customer's renewal: the job locks subscription rows only."""
    sub = SubscriptionFactory(offer=OfferFactory(), started_at=berlin(2027, 1, 1))
    locked, release = threading.Event(), threading.Event()

    def hold_customer():
        with transaction.atomic():
            # What an UPDATE of the customer's details takes.
            Customer.objects.select_for_update(no_key=True).get(pk=sub.customer_id)
            locked.set()
            release.wait(timeout=30)

    holder = in_thread(hold_customer)
    holder.start()
    assert locked.wait(timeout=10)
    try:
        counts = subscriptions_advance(now=berlin(2027, 2, 1))
    finally:
        release.set()
        holder.join(timeout=30)

    assert counts == {"ended": 0, "renewed": 1, "commitments_renewed": 0, "failed": 0}
    sub.refresh_from_db()
    assert sub.current_period_start == berlin(2027, 2, 1)
