"""Inviting a batch (the CSV importer's path): all or nothing, one seat check, fast."""

import time

import pytest
from django.core import mail

from notifications.events import EventType
from notifications.models import Event
from seats.exceptions import InvitationRowsInvalid, SeatsFull
from seats.models import Invitation
from seats.services.invitations import (
    invitation_create,
    invitation_rows_check,
    invitations_create_many,
)
from seats.services.seats import seats_taken, user_subscription_start
from tests.seats.factories import NOW, SeatAccountFactory, UserFactory, activate_mail_templates

pytestmark = pytest.mark.django_db


def _rows(n, start=0):
    return [
        {"email": f"user{start + i}@example.org", "first_name": f"U{i}", "language": "de"}
        for i in range(n)
    ]


def test_a_batch_creates_one_invitation_and_one_event_per_row(django_capture_on_commit_callbacks):
    activate_mail_templates()
    account = SeatAccountFactory(maximum_users=10)

    with django_capture_on_commit_callbacks(execute=True):
        invitations = invitations_create_many(account=account, rows=_rows(3), now=NOW)

    assert sorted(i.email for i in invitations) == [
        "user0@example.org",
        "user1@example.org",
        "user2@example.org",
    ]
    assert seats_taken(account=account, now=NOW) == 3
    events = Event.objects.filter(type=EventType.INVITATION_CREATED)
    assert events.count() == 3
    assert all(e.dispatched_at is not None for e in events)
    assert sorted(m.to[0] for m in mail.outbox) == sorted(i.email for i in invitations)


def test_rows_check_reports_every_rule_with_its_row():
    account = SeatAccountFactory(maximum_users=3)
    user_subscription_start(
        account=account, user=UserFactory(email="taken@example.org"), via="staff", now=NOW
    )
    invitation_create(account=account, email="pending@example.org", now=NOW)
    rows = [
        {"email": "ok@example.org"},
        {"email": "bad address"},
        {"email": "OK@example.org"},
        {"email": "taken@example.org"},
        {"email": "pending@example.org"},
        {"email": account.subscription.customer.main_user.email},
        {"email": "also-ok@example.org"},
    ]

    errors = invitation_rows_check(account=account, rows=rows, now=NOW)

    assert [index for index, _message in errors] == [1, 2, 3, 4, 5, 6]
    assert "more than once" in errors[1][1]
    assert "No seat left" in errors[5][1]


def test_a_batch_with_a_bad_row_creates_nothing():
    account = SeatAccountFactory(maximum_users=10)
    rows = [*_rows(3), {"email": "nope"}]

    with pytest.raises(InvitationRowsInvalid) as refused:
        invitations_create_many(account=account, rows=rows, now=NOW)

    assert [index for index, _m in refused.value.errors] == [3]
    assert (Invitation.objects.count(), Event.objects.count()) == (0, 0)


def test_a_batch_larger_than_the_free_seats_creates_nothing():
    account = SeatAccountFactory(maximum_users=2)

    with pytest.raises(SeatsFull):
        invitations_create_many(account=account, rows=_rows(3), now=NOW)

    assert (Invitation.objects.count(), Event.objects.count()) == (0, 0)


def test_ten_thousand_rows_are_invited_in_a_few_seconds_with_a_fixed_number_of_queries(
    django_assert_max_num_queries,
):
    account = SeatAccountFactory(maximum_users=None)
    rows = _rows(10_000)

    started = time.perf_counter()
    with django_assert_max_num_queries(40):
        invitations_create_many(account=account, rows=rows, now=NOW)
    seconds = time.perf_counter() - started

    assert Invitation.objects.filter(seat_account=account).count() == 10_000
    assert Event.objects.count() == 10_000
    assert seconds < 8, seconds
