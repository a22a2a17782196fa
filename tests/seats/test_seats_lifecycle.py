"""Cancel, undo, reactivate, block, end what is due, and staff adding an existing user."""

from datetime import datetime, timedelta

import pytest
import time_machine
from django.core import mail

from notifications.events import EventType, MailType
from notifications.models import Event
from seats.exceptions import SeatError, SeatsFull
from seats.models import LogEntry, UserSubscription
from seats.services.seats import (
    seats_taken,
    user_add_existing,
    user_block,
    user_subscription_cancel,
    user_subscription_reactivate,
    user_subscription_start,
    user_subscription_undo_cancellation,
    user_subscriptions_end_due,
)
from subscriptions.models import Subscription
from tests.seats.factories import (
    NOW,
    PERIOD_END,
    SeatAccountFactory,
    UserFactory,
    activate_mail_templates,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def account():
    return SeatAccountFactory()


@pytest.fixture
def staff():
    return UserFactory(is_staff=True)


def _start(account, user=None):
    return user_subscription_start(
        account=account, user=user or UserFactory(), via="staff", now=NOW
    )


def _events(type_):
    return list(Event.objects.filter(type=type_).order_by("pk"))


def _snapshot():
    return (
        sorted(UserSubscription.objects.values_list("pk", "state")),
        LogEntry.objects.count(),
        Event.objects.count(),
    )


def test_cancel_at_period_end_keeps_access_until_the_subscription_period_ends(account, staff):
    first, _second = _start(account)

    cancelled = user_subscription_cancel(user_subscription=first, actor=staff, now=NOW)

    assert (cancelled.state, cancelled.ends_at) == ("cancelled", PERIOD_END)
    assert seats_taken(account=account, now=NOW) == 1
    [event] = _events(EventType.USER_SUBSCRIPTION_CANCELLED)
    assert datetime.fromisoformat(event.payload["ends_at"]) == PERIOD_END
    assert LogEntry.objects.filter(action="ended").count() == 0


def test_cancel_now_ends_at_once_frees_the_seat_and_logs_it(account, staff):
    first, second = _start(account)

    user_subscription_cancel(user_subscription=first, mode="now", actor=staff, now=NOW)
    user_subscription_cancel(user_subscription=second, mode="now", actor=staff, now=NOW)

    first.refresh_from_db()
    assert (first.state, first.ended_at) == ("ended", NOW)
    assert seats_taken(account=account, now=NOW) == 0
    ended = LogEntry.objects.filter(action="ended")
    assert sorted((e.product_id, e.actor_id, e.via) for e in ended) == sorted(
        [
            (first.product_id, staff.pk, "cancelled_now"),
            (second.product_id, staff.pk, "cancelled_now"),
        ]
    )
    assert len(_events(EventType.USER_SUBSCRIPTION_ENDED)) == 2


def test_cancel_refuses_what_has_ended(account):
    first, _second = _start(account)
    user_subscription_cancel(user_subscription=first, mode="now", now=NOW)
    before = _snapshot()

    with pytest.raises(SeatError):
        user_subscription_cancel(user_subscription=first, now=NOW)

    assert _snapshot() == before


def test_undo_cancellation_gives_running_access_back(account):
    first, _second = _start(account)
    user_subscription_cancel(user_subscription=first, now=NOW)

    undone = user_subscription_undo_cancellation(user_subscription=first, now=NOW)

    assert (undone.state, undone.ends_at) == ("active", None)
    assert len(_events(EventType.USER_SUBSCRIPTION_CANCELLATION_UNDONE)) == 1


def test_undo_refuses_access_that_is_not_cancelled(account):
    first, _second = _start(account)
    before = _snapshot()

    with pytest.raises(SeatError):
        user_subscription_undo_cancellation(user_subscription=first, now=NOW)

    assert _snapshot() == before


def test_end_due_ends_cancelled_access_at_its_end_date_once(account):
    first, _second = _start(account)
    user_subscription_cancel(user_subscription=first, now=NOW)

    assert user_subscriptions_end_due(now=PERIOD_END - timedelta(seconds=1)) == 0
    assert user_subscriptions_end_due(now=PERIOD_END + timedelta(minutes=3)) == 1
    assert user_subscriptions_end_due(now=PERIOD_END + timedelta(minutes=8)) == 0

    first.refresh_from_db()
    assert (first.state, first.ended_at) == ("ended", PERIOD_END)
    entry = LogEntry.objects.get(action="ended")
    assert (entry.at, entry.via, entry.actor) == (PERIOD_END, "cancelled", None)
    assert len(_events(EventType.USER_SUBSCRIPTION_ENDED)) == 1


def test_end_due_ends_all_access_of_an_ended_subscription(account):
    _start(account)
    _start(account)
    Subscription.objects.filter(pk=account.subscription_id).update(
        status=Subscription.Status.ENDED, ended_at=PERIOD_END
    )

    assert user_subscriptions_end_due(now=PERIOD_END + timedelta(minutes=1)) == 4

    assert set(UserSubscription.objects.values_list("state", flat=True)) == {"ended"}
    assert set(LogEntry.objects.filter(action="ended").values_list("via", "at")) == {
        ("subscription_ended", PERIOD_END)
    }


def test_reactivate_creates_a_new_user_subscription_and_takes_a_seat(account, staff):
    first, second = _start(account)
    user_subscription_cancel(user_subscription=first, mode="now", now=NOW)
    user_subscription_cancel(user_subscription=second, mode="now", now=NOW)

    new = user_subscription_reactivate(
        user_subscription=first, actor=staff, now=NOW + timedelta(days=1)
    )

    assert new.pk != first.pk
    assert (new.user, new.product, new.state) == (first.user, first.product, "active")
    assert seats_taken(account=account, now=NOW) == 1
    assert (
        LogEntry.objects.filter(user_subscription=new, action="started", via="reactivated").count()
        == 1
    )
    assert _events(EventType.USER_SUBSCRIPTION_CREATED)[-1].subject_id == str(new.public_id)


def test_reactivate_refuses_running_access_and_a_full_account():
    account = SeatAccountFactory(maximum_users=1)
    first, second = _start(account)
    with pytest.raises(SeatError, match="Only ended"):
        user_subscription_reactivate(user_subscription=first, now=NOW)
    user_subscription_cancel(user_subscription=first, mode="now", now=NOW)
    user_subscription_cancel(user_subscription=second, mode="now", now=NOW)
    _start(account)
    before = _snapshot()

    with pytest.raises(SeatsFull):
        user_subscription_reactivate(user_subscription=first, now=NOW)

    assert _snapshot() == before


def test_block_deactivates_the_user_and_ends_their_access_with_change_events(account, staff):
    user = UserFactory()
    _start(account, user)
    other_account = SeatAccountFactory()
    _start(other_account, user)

    ended = user_block(user=user, actor=staff, now=NOW)

    user.refresh_from_db()
    assert user.is_active is False
    assert len(ended) == 4
    assert set(UserSubscription.objects.filter(user=user).values_list("state", flat=True)) == {
        "ended"
    }
    assert (
        LogEntry.objects.filter(user=user, action="ended", via="blocked", actor=staff).count() == 4
    )
    assert len(_events(EventType.USER_SUBSCRIPTION_CHANGED)) == 4
    assert seats_taken(account=account, now=NOW) == 0


def test_a_blocked_user_cannot_be_started_again(account):
    user = UserFactory()
    user_block(user=user, now=NOW)
    before = _snapshot()

    with pytest.raises(SeatError, match="blocked"):
        _start(account, user)

    assert _snapshot() == before


def test_staff_add_an_existing_user_who_gets_the_user_added_email(
    account, staff, django_capture_on_commit_callbacks
):
    activate_mail_templates()
    user = UserFactory(first_name="Rita", language="de")

    with django_capture_on_commit_callbacks(execute=True):
        started = user_add_existing(account=account, user=user, actor=staff, now=NOW)

    assert len(started) == 2
    assert set(LogEntry.objects.values_list("via", "actor")) == {("staff", staff.pk)}
    [with_mail] = [e for e in _events(EventType.USER_SUBSCRIPTION_CREATED) if e.mails]
    assert with_mail.mails[0]["template"] == MailType.USER_ADDED
    assert with_mail.mails[0]["language"] == "de"
    assert sorted(with_mail.mails[0]["context"]["products"]) == sorted(
        u.product.name for u in started
    )
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [user.email]
    assert "Rita" in mail.outbox[0].body


def test_adding_the_main_user_is_refused_and_sends_nothing(account, staff):
    before = _snapshot()

    with pytest.raises(SeatError):
        user_add_existing(
            account=account, user=account.subscription.customer.main_user, actor=staff, now=NOW
        )

    assert _snapshot() == before


def test_the_due_jobs_are_declared_every_five_minutes_and_run_through_the_tasks(account):
    from notifications.scheduling import PeriodicTask, declared_tasks
    from seats import tasks

    declared = declared_tasks()
    assert PeriodicTask("seats.end_due", "seats.tasks.end_due", 5) in declared
    assert PeriodicTask("seats.expire_invitations", "seats.tasks.expire_invitations", 5) in declared
    first, _second = _start(account)
    user_subscription_cancel(user_subscription=first, mode="period_end", now=NOW)
    UserSubscription.objects.filter(pk=first.pk).update(ends_at=NOW)

    with time_machine.travel(NOW + timedelta(minutes=1), tick=False):
        assert tasks.end_due() == 1
        assert tasks.end_due() == 0
        assert tasks.expire_invitations() == 0
