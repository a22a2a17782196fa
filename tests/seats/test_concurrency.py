"""The maximum user count under real concurrency: threads with their own connections and
transactions on PostgreSQL, released together by a barrier (issue 5, "Done when")."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connection

from seats.exceptions import InvitationInvalid, SeatError
from seats.models import Invitation, LogEntry, UserSubscription
from seats.services.invitations import invitation_create, invitation_redeem
from seats.services.seats import seats_taken, user_subscription_start
from tests.seats.factories import NOW, SeatAccountFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _race(calls) -> list[str]:
    """Run every call in its own thread at the same moment; what each one ended with:
    "ok", or the refusal's class name and reason."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[str] = []
    lock = threading.Lock()

    def run(call):
        try:
            barrier.wait(timeout=30)
            call()
            outcome = "ok"
        except InvitationInvalid as error:
            outcome = f"InvitationInvalid:{error.reason}"
        except SeatError as error:
            outcome = type(error).__name__
        finally:
            connection.close()
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return outcomes


def test_twenty_invitations_and_activations_at_once_take_exactly_the_five_free_seats():
    account = SeatAccountFactory(maximum_users=5)
    users = [UserFactory() for _ in range(10)]
    calls = [
        lambda i=i: invitation_create(account=account, email=f"invitee{i}@example.com", now=NOW)
        for i in range(10)
    ] + [
        lambda user=user: user_subscription_start(account=account, user=user, via="domain", now=NOW)
        for user in users
    ]

    outcomes = _race(calls)

    assert Counter(outcomes) == {"ok": 5, "SeatsFull": 15}
    pending = Invitation.objects.filter(seat_account=account, status="pending").count()
    started_users = (
        UserSubscription.objects.filter(seat_account=account).values("user").distinct().count()
    )
    assert pending + started_users == 5
    assert seats_taken(account=account, now=NOW) == 5
    # Two products each, one log entry per user subscription; no duplicates anywhere.
    assert UserSubscription.objects.filter(seat_account=account).count() == 2 * started_users
    assert LogEntry.objects.filter(seat_account=account).count() == 2 * started_users


def test_accepting_invitations_and_activating_by_domain_at_once_gives_exactly_five_users():
    """5 free seats: two held by pending invitations (each accepted by five threads at
    once), three free (for ten threads activating by domain)."""
    account = SeatAccountFactory(maximum_users=5)
    codes = [
        invitation_create(account=account, email=f"i{n}@example.com", now=NOW)[1] for n in range(2)
    ]
    redeemers = [UserFactory() for _ in range(10)]
    activators = [UserFactory() for _ in range(10)]
    calls = [
        lambda user=user, code=codes[n % 2]: invitation_redeem(code=code, user=user, now=NOW)
        for n, user in enumerate(redeemers)
    ] + [
        lambda user=user: user_subscription_start(account=account, user=user, via="domain", now=NOW)
        for user in activators
    ]

    outcomes = _race(calls)

    assert Counter(outcomes) == {"ok": 5, "InvitationInvalid:redeemed": 8, "SeatsFull": 7}
    users = set(
        UserSubscription.objects.filter(seat_account=account).values_list("user", flat=True)
    )
    assert len(users) == 5
    assert UserSubscription.objects.filter(seat_account=account).count() == 10
    assert Invitation.objects.filter(seat_account=account, status="redeemed").count() == 2
    assert seats_taken(account=account, now=NOW) == 5


def test_one_code_accepted_by_twenty_users_at_once_is_redeemed_once():
    account = SeatAccountFactory(maximum_users=5)
    _invitation, code = invitation_create(account=account, email="rita@example.com", now=NOW)
    users = [UserFactory() for _ in range(20)]

    outcomes = _race(
        [lambda user=user: invitation_redeem(code=code, user=user, now=NOW) for user in users]
    )

    assert Counter(outcomes) == {"ok": 1, "InvitationInvalid:redeemed": 19}
    assert UserSubscription.objects.filter(seat_account=account).count() == 2
    assert seats_taken(account=account, now=NOW) == 1
