"""Throttled portal login (security.throttle): 100 failures an hour per address, 20 in
10 minutes per client, exact counting, the window sliding by, and what is logged."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from security.models import Failure
from security.throttle import account_key, client_for_address
from tests.security.conftest import PASSWORD, add_failures

pytestmark = pytest.mark.django_db

URL = reverse("subscriptions:login")
MESSAGE = "Too many failed attempts. For your security, try again in"


def _login(client, email, password, ip="127.0.0.1"):
    return client.post(URL, {"username": email, "password": password}, REMOTE_ADDR=ip)


def _signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_the_101st_attempt_is_429_and_even_the_right_password_is_refused(client, member):
    add_failures(99, account=member.email, distinct_ips=True)

    hundredth = _login(client, member.email, "wrong-password")
    refused = _login(client, member.email, PASSWORD)

    assert hundredth.status_code == 200
    assert "Please enter a correct e-mail address and password" in hundredth.content.decode()
    assert refused.status_code == 429
    assert MESSAGE in refused.content.decode()
    assert refused["Retry-After"] == "3600"
    assert not _signed_in(client)
    assert Failure.objects.count() == 100  # the refused attempt is not counted


def test_the_account_count_ignores_case_and_spaces_of_the_address(client, member):
    add_failures(100, account=" MILA@Example.com ", distinct_ips=True)

    assert _login(client, member.email, PASSWORD).status_code == 429


def test_ninety_nine_failures_still_let_the_right_password_in(client, member):
    add_failures(99, account=member.email, distinct_ips=True)

    response = _login(client, member.email, PASSWORD)

    assert response.status_code == 302
    assert _signed_in(client)
    assert Failure.objects.count() == 99  # the successful attempt left no row


def test_the_client_limit_trips_earlier_across_different_accounts(client, member):
    for n in range(20):
        assert _login(client, f"guess{n}@example.com", "wrong", ip="203.0.113.7").status_code == 200

    refused = _login(client, member.email, PASSWORD, ip="203.0.113.7")
    elsewhere = _login(client, member.email, PASSWORD, ip="203.0.113.8")

    assert refused.status_code == 429
    assert MESSAGE in refused.content.decode()
    assert elsewhere.status_code == 302
    assert Failure.objects.count() == 20


def test_an_ipv6_client_counts_by_its_64(client, member):
    add_failures(20, ip="2001:db8:1:2::1")

    same_64 = _login(client, member.email, PASSWORD, ip="2001:db8:1:2:ffff::9")
    other_64 = _login(client, member.email, PASSWORD, ip="2001:db8:1:3::1")

    assert (same_64.status_code, other_64.status_code) == (429, 302)


def test_ipv4_clients_of_a_dual_stack_listener_count_by_their_own_address(client, member):
    """Behind a listener on [::], IPv4 clients arrive as ::ffff:a.b.c.d; counted by
    their /64 (::/64) every IPv4 client would share one count."""
    add_failures(20, ip="198.51.100.7")

    same = _login(client, member.email, PASSWORD, ip="::ffff:198.51.100.7")
    other = _login(client, member.email, PASSWORD, ip="::ffff:203.0.113.50")

    assert (same.status_code, other.status_code) == (429, 302)


def test_a_successful_login_does_not_forgive_the_clients_other_failures(client, member):
    add_failures(19, ip="203.0.113.9")
    assert _login(client, member.email, PASSWORD, ip="203.0.113.9").status_code == 302
    client.logout()

    twentieth = _login(client, "other@example.com", "wrong", ip="203.0.113.9")
    refused = _login(client, member.email, PASSWORD, ip="203.0.113.9")

    assert twentieth.status_code == 200
    assert refused.status_code == 429
    assert Failure.objects.filter(client_key=client_for_address("203.0.113.9").key).count() == 20


def test_the_window_slides_failures_an_hour_old_no_longer_count(client, member):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        add_failures(100, account=member.email, distinct_ips=True)
        assert _login(client, member.email, PASSWORD).status_code == 429
    with time_machine.travel(start + timedelta(minutes=59), tick=False):
        late = _login(client, member.email, PASSWORD)
        assert late.status_code == 429
        assert late["Retry-After"] == "60"
    with time_machine.travel(start + timedelta(hours=1, seconds=1), tick=False):
        assert _login(client, member.email, PASSWORD).status_code == 302


def test_the_client_window_is_ten_minutes(client, member):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        add_failures(20, ip="127.0.0.1")
        assert _login(client, member.email, PASSWORD).status_code == 429
    with time_machine.travel(start + timedelta(minutes=10, seconds=1), tick=False):
        assert _login(client, member.email, PASSWORD).status_code == 302


def test_failures_are_logged_with_a_hashed_account_and_without_the_password(client, member, caplog):
    secret = "Secret-Guess-7781"
    with caplog.at_level(logging.WARNING, logger="security.throttle"):
        _login(client, member.email, secret, ip="203.0.113.20")
        add_failures(20, ip="203.0.113.20")
        _login(client, member.email, PASSWORD, ip="203.0.113.20")

    ours = [r for r in caplog.records if r.name == "security.throttle"]
    failed, refused = (r.getMessage() for r in ours)
    hint = account_key(kind=Failure.Kind.LOGIN, account=member.email)[:12]
    assert failed == f"Failed login attempt (account {hint}, client 203.0.113.20)"
    assert refused.startswith(
        f"Refused login attempt: too many failures (account {hint}, client 203.0.113.20"
    )
    assert all(r.levelname == "WARNING" for r in ours)
    assert secret not in caplog.text
    assert PASSWORD not in caplog.text
    assert member.email not in caplog.text
    assert "mila" not in caplog.text
    stored = Failure.objects.filter(kind="login").values_list("account_key", "client_key")
    assert all(member.email not in key and "203.0.113" not in ck for key, ck in stored)


def test_the_trusted_proxy_header_names_the_client(client, member, settings):
    settings.KONTOR_TRUSTED_PROXY_HEADER = "HTTP_X_FORWARDED_FOR"
    add_failures(20, ip="192.0.2.44")

    spoofed_left = client.post(
        URL,
        {"username": member.email, "password": PASSWORD},
        HTTP_X_FORWARDED_FOR="10.9.9.9, 192.0.2.44",
    )

    assert spoofed_left.status_code == 429  # the right-most address, our proxy's, counts
