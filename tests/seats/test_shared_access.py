"""Invited users reach their own access: a "Shared with me" nav link (to seats:my_access)
from a session flag set at login, so portal pages gain no query."""

import pytest
from django.urls import reverse

from seats.services.invitations import invitation_create
from seats.services.seats import user_subscription_cancel, user_subscription_start
from tests.seats.factories import NOW, SeatAccountFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "pw-user-1"  # UserFactory's


def _login(client, user):
    response = client.post(
        reverse("subscriptions:login"), {"username": user.email, "password": PASSWORD}
    )
    assert response.status_code == 302


def _nav_link(html: str) -> bool:
    return f'href="{reverse("seats:my_access")}"' in html and "Shared with me" in html


def test_an_invitee_sees_the_nav_link_and_their_access(client):
    account = SeatAccountFactory()
    invitee = UserFactory(email="ivy@example.com")
    user_subscription_start(account=account, user=invitee, via="invitation", now=NOW)

    _login(client, invitee)
    home = client.get(reverse("subscriptions:home")).content.decode()
    assert _nav_link(home)

    response = client.get(reverse("seats:my_access"))
    assert response.status_code == 200
    assert {a.user for a in response.context["accesses"]} == {invitee}
    assert 'aria-current="page">Shared with me' in response.content.decode()


def test_force_login_sets_the_flag_too(client):
    account = SeatAccountFactory()
    invitee = UserFactory()
    user_subscription_start(account=account, user=invitee, via="invitation", now=NOW)

    client.force_login(invitee)

    assert _nav_link(client.get(reverse("subscriptions:home")).content.decode())


def test_a_user_without_shared_access_has_no_link(client):
    user = UserFactory()

    _login(client, user)

    assert not _nav_link(client.get(reverse("subscriptions:home")).content.decode())


def test_a_main_user_with_shared_access_finds_it_on_the_subscriptions_page(client):
    own = SeatAccountFactory()
    main_user = own.subscription.customer.main_user
    other = SeatAccountFactory()
    user_subscription_start(account=other, user=main_user, via="invitation", now=NOW)

    client.force_login(main_user)
    html = client.get(reverse("subscriptions:subscription_list")).content.decode()

    assert "Shared with me: access others gave you" in html
    assert _nav_link(html)


def test_a_main_user_without_shared_access_sees_no_shared_link(client):
    main_user = SeatAccountFactory().subscription.customer.main_user

    client.force_login(main_user)
    html = client.get(reverse("subscriptions:subscription_list")).content.decode()

    assert "Shared with me" not in html


def test_redeeming_an_invitation_shows_the_link_without_a_new_login(client):
    account = SeatAccountFactory()
    _invitation, code = invitation_create(account=account, email="ivy@example.com")
    invitee = UserFactory(email="ivy@example.com")
    _login(client, invitee)
    assert not _nav_link(client.get(reverse("subscriptions:home")).content.decode())

    response = client.post(reverse("join:redeem", args=[code]))

    assert response.status_code == 302
    assert _nav_link(client.get(reverse("subscriptions:home")).content.decode())


def test_the_access_page_clears_the_link_when_access_has_ended(client):
    account = SeatAccountFactory()
    invitee = UserFactory()
    started = user_subscription_start(account=account, user=invitee, via="invitation")
    _login(client, invitee)
    for user_subscription in started:
        user_subscription_cancel(user_subscription=user_subscription, mode="now", actor=None)

    client.get(reverse("seats:my_access"))

    assert not _nav_link(client.get(reverse("subscriptions:home")).content.decode())
