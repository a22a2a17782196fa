"""The seat limit through the HTTP API under real concurrency (issue 9's "Done when"):
20 invitation requests at once, each in its own thread with its own connection, on a
subscription with 5 free seats."""

from __future__ import annotations

from collections import Counter

import pytest

from seats.models import Invitation
from seats.services.seats import seats_taken
from tests.api.conftest import ApiClient, make_key
from tests.concurrency import race
from tests.seats.factories import NOW, SeatAccountFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_twenty_concurrent_invitations_on_five_free_seats_give_five_201_and_fifteen_409(travel):
    account = SeatAccountFactory(maximum_users=5)
    key = make_key("read", "seats")
    url = f"/api/v1/subscriptions/{account.subscription.public_id}/seats/invitations"
    responses = []

    def invite(n: int):
        response = ApiClient(key).post(url, {"email": f"invitee{n}@example.com"})
        responses.append(response)

    outcomes = race([lambda n=n: invite(n) for n in range(20)], lambda error: None)

    assert outcomes == ["ok"] * 20
    assert Counter(r.status_code for r in responses) == {201: 5, 409: 15}
    for refused in (r for r in responses if r.status_code == 409):
        assert refused["Content-Type"] == "application/problem+json"
        assert refused.json()["code"] == "seat_limit_reached"
        assert refused.json()["detail"] == "All seats of this subscription are taken."
    invited = {r.json()["email"] for r in responses if r.status_code == 201}
    assert (
        set(Invitation.objects.filter(seat_account=account).values_list("email", flat=True))
        == invited
    )
    assert seats_taken(account=account, now=NOW) == 5


def test_the_same_idempotency_key_sent_twice_at_once_invites_once(travel):
    account = SeatAccountFactory(maximum_users=5)
    key = make_key("read", "seats")
    url = f"/api/v1/subscriptions/{account.subscription.public_id}/seats/invitations"
    responses = []

    def invite():
        client = ApiClient(key)
        responses.append(
            client.post(url, {"email": "once@example.com"}, HTTP_IDEMPOTENCY_KEY="inv-1")
        )

    race([invite for _ in range(6)], lambda error: None)

    assert Invitation.objects.filter(seat_account=account).count() == 1
    statuses = Counter(r.status_code for r in responses)
    # One ran; the others got its response replayed or were told it is still running.
    assert statuses[201] >= 1
    assert set(statuses) <= {201, 409}
    created = [r for r in responses if r.status_code == 201]
    assert len({r.json()["id"] for r in created}) == 1
    assert sum(1 for r in created if r.get("Idempotent-Replayed") != "true") == 1
    for refused in (r for r in responses if r.status_code == 409):
        assert refused.json()["code"] == "idempotency_key_in_progress"
