"""Seat counting and starting user subscriptions (seats.services.seats)."""

import pytest

from notifications.events import EventType
from notifications.models import Event
from seats.exceptions import SeatError, SeatsFull
from seats.models import Invitation, LogEntry, UserSubscription
from seats.services.seats import (
    products_for,
    seat_account_for_subscription,
    seats_free,
    seats_taken,
    user_subscription_start,
)
from tests.seats.factories import NOW, SeatAccountFactory, UserFactory
from tests.subscriptions.factories import SubscriptionFactory

pytestmark = pytest.mark.django_db


def _snapshot():
    return (UserSubscription.objects.count(), LogEntry.objects.count(), Event.objects.count())


def test_seat_account_for_subscription_uses_the_user_count_bought():
    account = SeatAccountFactory()
    subscription = account.subscription
    account.delete()

    created = seat_account_for_subscription(subscription=subscription)

    assert created.maximum_users == 4
    assert seat_account_for_subscription(subscription=subscription) == created


def test_seat_account_for_subscription_refuses_a_single_user_subscription():
    with pytest.raises(SeatError):
        seat_account_for_subscription(subscription=SubscriptionFactory())


def test_start_gives_one_user_subscription_per_product_with_log_and_events():
    account = SeatAccountFactory()
    user, staff = UserFactory(), UserFactory(is_staff=True)

    started = user_subscription_start(
        account=account, user=user, via="domain", actor=staff, now=NOW
    )

    assert len(started) == 2
    assert {u.product for u in started} == set(products_for(account))
    entries = LogEntry.objects.filter(user=user)
    assert (
        sorted((e.action, e.via, e.actor_id, e.at) for e in entries)
        == [("started", "domain", staff.pk, NOW)] * 2
    )
    events = Event.objects.filter(type=EventType.USER_SUBSCRIPTION_CREATED)
    assert events.count() == 2
    payload = events.first().payload
    assert payload["user"] == user.email
    assert payload["via"] == "domain"
    assert payload["subscription"] == str(account.subscription.public_id)
    assert seats_taken(account=account, now=NOW) == 1
    assert seats_free(account=account, now=NOW) == 3


def test_start_refuses_the_main_user_and_changes_nothing():
    account = SeatAccountFactory()
    before = _snapshot()

    with pytest.raises(SeatError):
        user_subscription_start(
            account=account, user=account.subscription.customer.main_user, via="staff", now=NOW
        )

    assert _snapshot() == before


def test_start_refuses_a_user_with_running_access():
    account = SeatAccountFactory()
    user = UserFactory()
    user_subscription_start(account=account, user=user, via="staff", now=NOW)
    before = _snapshot()

    with pytest.raises(SeatError):
        user_subscription_start(account=account, user=user, via="staff", now=NOW)

    assert _snapshot() == before


def test_start_refuses_when_full_counting_pending_invitations():
    account = SeatAccountFactory(maximum_users=2)
    user_subscription_start(account=account, user=UserFactory(), via="staff", now=NOW)
    Invitation.objects.create(
        seat_account=account,
        email="held@example.com",
        code_hash="0" * 64,
        expires_at=NOW.replace(month=2),
    )
    before = _snapshot()

    with pytest.raises(SeatsFull):
        user_subscription_start(account=account, user=UserFactory(), via="domain", now=NOW)

    assert _snapshot() == before
    assert seats_free(account=account, now=NOW) == 0


def test_an_expired_pending_invitation_holds_no_seat():
    account = SeatAccountFactory(maximum_users=1)
    Invitation.objects.create(
        seat_account=account, email="late@example.com", code_hash="1" * 64, expires_at=NOW
    )

    assert seats_taken(account=account, now=NOW) == 0
    assert (
        len(user_subscription_start(account=account, user=UserFactory(), via="ip_range", now=NOW))
        == 2
    )


def test_unlimited_account_has_no_free_count():
    account = SeatAccountFactory(maximum_users=None)

    assert seats_free(account=account, now=NOW) is None
    user_subscription_start(account=account, user=UserFactory(), via="staff", now=NOW)
    assert seats_taken(account=account, now=NOW) == 1
