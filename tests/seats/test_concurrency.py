"""The maximum user count under real concurrency: threads with their own connections and
transactions on PostgreSQL, released together by a barrier (issue 5, "Done when")."""

from __future__ import annotations

from collections import Counter

import pytest

from seats.exceptions import InvitationInvalid, SeatError
from seats.models import Invitation, LogEntry, UserSubscription
from seats.services.invitations import invitation_create, invitation_redeem
from seats.services.seats import seats_taken, user_subscription_start
from tests.concurrency import race
from tests.seats.factories import NOW, SeatAccountFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _outcome(error: Exception) -> str | None:
    """A refusal's class name (and an invitation's reason); None for anything else."""
    if isinstance(error, InvitationInvalid):
        return f"InvitationInvalid:{error.reason}"
    if isinstance(error, SeatError):
        return type(error).__name__
    return None


def _race(calls) -> list[str]:
    return race(calls, _outcome)


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
