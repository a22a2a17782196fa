"""The invitation landing page /join/<code>/: accept signed in, register and accept, log
in and come back, and a clear page for every code that cannot be accepted."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from notifications.models import Event
from seats.models import Invitation, LogEntry, UserSubscription
from seats.services.invitations import invitation_create, invitation_revoke
from seats.services.seats import user_subscription_start
from subscriptions.models import User
from tests.seats.factories import NOW, SeatAccountFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-Passw0rd-for-tests"


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def account():
    return SeatAccountFactory(subscription__offer__name="Team News")


@pytest.fixture
def invited(account):
    """(invitation, code) for rita@example.com."""
    return invitation_create(account=account, email="rita@example.com", first_name="Rita")


def _url(code):
    return reverse("join:redeem", kwargs={"code": code})


def _snapshot():
    return (
        UserSubscription.objects.count(),
        sorted(Invitation.objects.values_list("status", flat=True)),
        LogEntry.objects.count(),
        Event.objects.count(),
        User.objects.count(),
    )


def test_a_visitor_sees_the_offer_who_invites_and_both_ways_in(client, account, invited):
    _invitation, code = invited

    response = client.get(_url(code))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Join Team News" in page
    assert f"{account.subscription.customer.name} invites you" in page
    assert f"{reverse('subscriptions:login')}?next=/join/{code}/" in page
    assert 'value="rita@example.com"' in page
    assert "Create account and accept" in page


def test_a_visitor_registers_and_accepts_in_one_step(client, invited):
    invitation, code = invited
    data = {
        "intent": "register",
        "email": "rita@example.com",
        "first_name": "Rita",
        "last_name": "Rot",
        "password": PASSWORD,
    }

    response = client.post(_url(code), data)

    assert response.status_code == 302
    assert response.url == _url(code)
    rita = User.objects.get(email="rita@example.com")
    assert UserSubscription.objects.filter(user=rita, state="active").count() == 2
    invitation.refresh_from_db()
    assert (invitation.status, invitation.redeemed_by) == ("redeemed", rita)
    success = client.get(_url(code))
    assert success.status_code == 200
    assert "You now have access to Team News." in success.content.decode()


def test_a_registration_with_errors_shows_them_and_changes_nothing(client, invited):
    _invitation, code = invited
    before = _snapshot()

    response = client.post(_url(code), {"intent": "register", "email": "rita@example.com"})

    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert _snapshot() == before


def test_a_signed_in_user_accepts(client, invited):
    _invitation, code = invited
    rita = UserFactory(email="rita@example.com")
    client.force_login(rita)
    page = client.get(_url(code)).content.decode()
    assert 'name="intent" value="accept"' in page
    assert "Create account" not in page

    response = client.post(_url(code), {"intent": "accept"})

    assert response.status_code == 302
    assert UserSubscription.objects.filter(user=rita).count() == 2
    assert "You now have access to Team News." in client.get(_url(code)).content.decode()


def test_a_signed_in_user_with_another_address_is_told_and_may_accept(client, invited):
    _invitation, code = invited
    other = UserFactory(email="someone@example.org")
    client.force_login(other)

    assert "This invitation was sent to rita@example.com" in client.get(_url(code)).content.decode()
    client.post(_url(code), {"intent": "accept"})
    assert UserSubscription.objects.filter(user=other).count() == 2


def test_an_anonymous_accept_changes_nothing(client, invited):
    _invitation, code = invited
    before = _snapshot()

    response = client.post(_url(code), {"intent": "accept"})

    assert response.status_code == 200
    assert _snapshot() == before


def test_an_unknown_code_gets_its_page(client, invited):
    before = _snapshot()

    response = client.get(_url("AAAA-BBBB-CCCC"))

    assert response.status_code == 404
    assert "We do not know this invitation code" in response.content.decode()
    assert _snapshot() == before


def test_a_code_accepted_already_gets_its_page_and_nothing_changes(client, invited):
    _invitation, code = invited
    client.force_login(UserFactory())
    client.post(_url(code), {"intent": "accept"})
    client.force_login(UserFactory())
    before = _snapshot()

    for response in (client.get(_url(code)), client.post(_url(code), {"intent": "accept"})):
        assert response.status_code == 410
        assert "already been accepted" in response.content.decode()
    assert _snapshot() == before


def test_an_expired_code_gets_its_page_and_nothing_changes(client, invited):
    _invitation, code = invited
    client.force_login(UserFactory())
    before = _snapshot()

    with time_machine.travel(NOW + timedelta(days=15), tick=False):
        for response in (client.get(_url(code)), client.post(_url(code), {"intent": "accept"})):
            assert response.status_code == 410
            assert "This invitation has expired" in response.content.decode()

    assert _snapshot() == before


def test_a_withdrawn_code_gets_its_page_and_nothing_changes(client, invited):
    invitation, code = invited
    invitation_revoke(invitation=invitation)
    client.force_login(UserFactory())
    before = _snapshot()

    response = client.post(_url(code), {"intent": "accept"})

    assert response.status_code == 410
    assert "This invitation has been withdrawn" in response.content.decode()
    assert _snapshot() == before


def test_the_main_user_is_refused_with_a_page_and_the_invitation_stays_open(
    client, account, invited
):
    _invitation, code = invited
    client.force_login(account.subscription.customer.main_user)
    before = _snapshot()

    response = client.post(_url(code), {"intent": "accept"})

    assert response.status_code == 409
    page = response.content.decode()
    assert "The main user always has access" in page
    assert "the invitation is still open" in page
    assert _snapshot() == before


def test_a_full_subscription_gets_its_page(client):
    """Pending invitations hold their seat, so an account is full for a code only when
    its seats shrank below what is held (here: staff lowered the maximum)."""
    account = SeatAccountFactory(maximum_users=2, subscription__offer__name="Team News")
    _invitation, code = invitation_create(account=account, email="rita@example.com")
    user_subscription_start(account=account, user=UserFactory(), via="staff")
    account.maximum_users = 1
    account.save(update_fields=["maximum_users"])
    client.force_login(UserFactory())
    before = _snapshot()

    response = client.post(_url(code), {"intent": "accept"})

    assert response.status_code == 409
    assert "Team News is full" in response.content.decode()
    assert _snapshot() == before


def test_the_page_works_in_german(client, invited):
    _invitation, code = invited

    response = client.get(_url(code), headers={"accept-language": "de"})

    assert response.status_code == 200
    assert 'lang="de"' in response.content.decode()
