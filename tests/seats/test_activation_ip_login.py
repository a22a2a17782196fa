"""Activation by IP range at login (the `user_logged_in` hook wired in SeatsConfig.ready,
no middleware): in range, out of range, behind the trusted proxy, a full account."""

import pytest
from django.test import override_settings
from django.urls import reverse

from seats.middleware import SESSION_KEY, SHARED_ACCESS_KEY
from seats.models import IPRange, LogEntry, UserSubscription
from seats.services.seats import Via
from tests.seats.factories import NOW, SeatAccountFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "pw-user-1"  # UserFactory's


@pytest.fixture
def account():
    account = SeatAccountFactory(maximum_users=1)
    IPRange.objects.create(seat_account=account, cidr="203.0.113.0/24")
    return account


def _login(client, user, **meta):
    response = client.post(
        reverse("subscriptions:login"), {"username": user.email, "password": PASSWORD}, **meta
    )
    assert response.status_code == 302, "the login must succeed"
    return response


def test_the_ip_hook_is_wired_without_middleware(settings):
    assert "seats.middleware.IPRangeActivationMiddleware" not in settings.MIDDLEWARE


def test_a_login_from_a_listed_range_starts_a_user_subscription(client, account):
    user = UserFactory()

    _login(client, user, REMOTE_ADDR="203.0.113.77")

    accesses = UserSubscription.objects.filter(seat_account=account, user=user)
    assert accesses.count() == 2  # one per product of the factory's offer
    assert {a.state for a in accesses} == {UserSubscription.State.ACTIVE}
    entries = LogEntry.objects.all()
    assert {e.via for e in entries} == {Via.IP_RANGE}
    assert client.session[SESSION_KEY] is True
    assert client.session[SHARED_ACCESS_KEY] is True


def test_a_login_from_elsewhere_starts_nothing(client, account):
    user = UserFactory()

    _login(client, user, REMOTE_ADDR="198.51.100.1")

    assert UserSubscription.objects.count() == 0
    assert LogEntry.objects.count() == 0
    assert client.session[SHARED_ACCESS_KEY] is False


@override_settings(KONTOR_TRUSTED_PROXY_HEADER="HTTP_X_FORWARDED_FOR")
def test_behind_the_trusted_proxy_the_right_most_address_counts(client, account):
    forged, honest = UserFactory(), UserFactory()

    # The client forged an in-range address on the left; the proxy appended the real one.
    _login(client, forged, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9, 198.51.100.7")
    assert not UserSubscription.objects.filter(user=forged).exists()

    client.logout()
    _login(client, honest, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.7, 203.0.113.9")
    assert UserSubscription.objects.filter(user=honest, seat_account=account).exists()


def test_a_full_account_starts_nothing_and_the_login_works(client, account):
    UserSubscription.objects.create(
        seat_account=account,
        user=UserFactory(),
        product=account.subscription.offer.product,
        started_at=NOW,
    )
    user = UserFactory()

    _login(client, user, REMOTE_ADDR="203.0.113.77")

    assert not UserSubscription.objects.filter(user=user).exists()
    assert client.get(reverse("subscriptions:home")).status_code == 200


def test_staff_logging_in_from_a_listed_range_get_nothing(client, account):
    _login(client, UserFactory(is_staff=True), REMOTE_ADDR="203.0.113.77")

    assert UserSubscription.objects.count() == 0


def test_force_login_without_an_address_starts_nothing(client, account):
    client.force_login(UserFactory())

    assert UserSubscription.objects.count() == 0
    assert SESSION_KEY not in client.session
