"""Inviting from the portal: one address by form, revoke and resend, and a CSV list with
its row errors, line numbers and the explicit 'valid rows only' import."""

from __future__ import annotations

import pytest
import time_machine
from django.urls import reverse

from seats.models import Invitation
from tests.seats.factories import NOW, SeatAccountFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def account():
    return SeatAccountFactory(maximum_users=2)


@pytest.fixture
def owner_client(client, account):
    client.force_login(account.subscription.customer.main_user)
    return client


def invite(client, account, email, **extra):
    return client.post(
        reverse("seats:invite", args=[account.public_id]),
        {"email": email, "first_name": "Ivy", "last_name": "Ink", "language": "de", **extra},
        follow=True,
    )


def test_invite_creates_a_pending_invitation_and_returns_to_the_list(owner_client, account):
    response = invite(owner_client, account, "Ivy@Example.com")

    invitation = Invitation.objects.get()
    assert (invitation.email, invitation.language, invitation.status) == (
        "ivy@example.com",
        "de",
        "pending",
    )
    assert invitation.invited_by == account.subscription.customer.main_user
    assert response.redirect_chain[-1][0] == reverse("seats:seat_list", args=[account.public_id])
    assert "ivy@example.com is invited" in response.content.decode()


def test_invite_refuses_a_duplicate_and_a_full_account_and_creates_nothing(owner_client, account):
    invite(owner_client, account, "ivy@example.com")

    response = invite(owner_client, account, "ivy@example.com")
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert Invitation.objects.count() == 1

    invite(owner_client, account, "tom@example.com")
    response = invite(owner_client, account, "una@example.com")
    assert "All seats of this subscription are taken." in response.content.decode()
    assert Invitation.objects.count() == 2


def test_invite_refuses_a_bad_address_with_a_field_error(owner_client, account):
    response = invite(owner_client, account, "not-an-address")

    assert response.context["form"].errors["email"]
    assert not Invitation.objects.exists()


def test_revoke_and_resend_an_invitation(owner_client, account):
    invite(owner_client, account, "ivy@example.com")
    invitation = Invitation.objects.get()
    old_hash = invitation.code_hash
    a = account.public_id

    owner_client.post(reverse("seats:resend", args=[a, invitation.public_id]))
    invitation.refresh_from_db()
    assert invitation.code_hash != old_hash

    response = owner_client.post(
        reverse("seats:revoke", args=[a, invitation.public_id]), follow=True
    )
    invitation.refresh_from_db()
    assert invitation.status == "revoked"
    assert "withdrawn" in response.content.decode()

    response = owner_client.post(
        reverse("seats:revoke", args=[a, invitation.public_id]), follow=True
    )
    assert "This invitation has been withdrawn." in response.content.decode()
