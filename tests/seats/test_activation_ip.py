"""Activation by IP range: the middleware with REMOTE_ADDR and with the trusted proxy
header, v4 and v6, once per session, and a full account."""

import pytest
from django.conf import settings
from django.test import RequestFactory, override_settings
from django.urls import reverse

from seats.middleware import SESSION_KEY
from seats.models import IPRange, LogEntry, UserSubscription
from seats.services.activation import ip_activation_for_user, ip_range_accounts_for_address
from seats.services.seats import Via
from security.throttle import client_address
from tests.seats.factories import NOW, SeatAccountFactory, UserFactory

AUTH = "django.contrib.auth.middleware.AuthenticationMiddleware"
MIDDLEWARE = [
    *settings.MIDDLEWARE[: settings.MIDDLEWARE.index(AUTH) + 1],
    "seats.middleware.IPRangeActivationMiddleware",
    *settings.MIDDLEWARE[settings.MIDDLEWARE.index(AUTH) + 1 :],
]
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("_ip_middleware")]


@pytest.fixture
def _ip_middleware(settings):
    settings.MIDDLEWARE = MIDDLEWARE


PAGE = "subscriptions:home"


@pytest.fixture
def account():
    account = SeatAccountFactory(maximum_users=1)
    IPRange.objects.create(seat_account=account, cidr="203.0.113.0/24")
    IPRange.objects.create(seat_account=account, cidr="2001:db8::/48")
    return account


def _get(client, **meta):
    return client.get(reverse(PAGE), **meta)


@pytest.mark.parametrize("address", ["203.0.113.77", "2001:db8::abcd"])
def test_a_user_from_a_listed_range_gets_access(client, account, address):
    user = UserFactory()
    client.force_login(user)

    _get(client, REMOTE_ADDR=address)

    assert UserSubscription.objects.filter(seat_account=account, user=user).count() == 2
    assert set(LogEntry.objects.values_list("via", flat=True)) == {Via.IP_RANGE}
    assert client.session[SESSION_KEY] is True


@pytest.mark.parametrize("address", ["198.51.100.1", "2001:db9::1", "garbage"])
def test_a_user_from_elsewhere_gets_nothing(client, account, address):
    client.force_login(UserFactory())

    _get(client, REMOTE_ADDR=address)

    assert UserSubscription.objects.count() == 0


def test_anonymous_and_staff_get_nothing(client, account):
    _get(client, REMOTE_ADDR="203.0.113.5")
    client.force_login(UserFactory(is_staff=True))
    _get(client, REMOTE_ADDR="203.0.113.5")

    assert UserSubscription.objects.count() == 0


def test_the_check_runs_once_per_session(client, account):
    user = UserFactory()
    client.force_login(user)
    _get(client, REMOTE_ADDR="198.51.100.1")  # outside: checked, nothing found

    _get(client, REMOTE_ADDR="203.0.113.5")  # inside now, but already checked

    assert UserSubscription.objects.count() == 0


def test_the_main_user_takes_no_seat(client, account):
    client.force_login(account.subscription.customer.main_user)

    _get(client, REMOTE_ADDR="203.0.113.5")

    assert UserSubscription.objects.count() == 0


def test_a_full_account_gives_nothing_and_does_not_break_the_page(client, account):
    UserSubscription.objects.create(
        seat_account=account,
        user=UserFactory(),
        product=account.subscription.offer.product,
        started_at=NOW,
    )
    client.force_login(UserFactory())

    response = _get(client, REMOTE_ADDR="203.0.113.5")

    assert response.status_code in (200, 302)
    assert UserSubscription.objects.count() == 1


@override_settings(KONTOR_TRUSTED_PROXY_HEADER="HTTP_X_FORWARDED_FOR")
def test_behind_a_proxy_the_right_most_forwarded_address_counts(client, account):
    inside, outside = UserFactory(), UserFactory()

    client.force_login(outside)  # a forged left-most entry does not help
    _get(client, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.5, 198.51.100.1")
    client.logout()
    client.force_login(inside)
    _get(client, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.9, 203.0.113.5")

    assert set(UserSubscription.objects.values_list("user", flat=True)) == {inside.pk}


def test_without_the_setting_the_forwarded_header_is_ignored(client, account):
    client.force_login(UserFactory())

    _get(client, REMOTE_ADDR="198.51.100.1", HTTP_X_FORWARDED_FOR="203.0.113.5")

    assert UserSubscription.objects.count() == 0


def test_client_address_reads_the_configured_header():
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_REAL_IP="2001:DB8::1")
    assert client_address(request) == "10.0.0.1"
    with override_settings(KONTOR_TRUSTED_PROXY_HEADER="HTTP_X_REAL_IP"):
        assert client_address(request) == "2001:db8::1"
    with override_settings(KONTOR_TRUSTED_PROXY_HEADER="HTTP_X_MISSING"):
        assert client_address(request) is None


def test_ranges_are_matched_in_one_query(account, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert ip_range_accounts_for_address("203.0.113.200") == [account.pk]
    with django_assert_num_queries(1):
        assert ip_range_accounts_for_address("203.0.114.1") == []


def test_ranges_of_an_ended_subscription_do_not_count(account):
    account.subscription.status = "ended"
    account.subscription.ended_at = NOW
    account.subscription.save()

    assert ip_activation_for_user(user=UserFactory(), address="203.0.113.5") is None
    assert UserSubscription.objects.count() == 0
