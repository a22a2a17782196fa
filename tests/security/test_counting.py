"""The counting itself: exact under real concurrency (threads, each with its own
database connection, released together), the hourly clean-up and its schedule."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from notifications.scheduling import declared_tasks
from security.models import Failure
from security.tasks import expire_failures
from security.throttle import (
    Throttled,
    attempt_begin,
    attempt_end,
    client_for_address,
    failures_expire,
)
from tests.concurrency import race
from tests.security.conftest import add_failures


def _one_failed_attempt(account: str | None, ip: str):
    def call():
        attempt = attempt_begin(kind="login", account=account, client=client_for_address(ip))
        attempt_end(attempt)  # a wrong password

    return call


def _throttled(error: Exception) -> str | None:
    return "throttled" if isinstance(error, Throttled) else None


@pytest.mark.django_db(transaction=True)
def test_twelve_attempts_at_once_never_get_past_a_limit_of_five(settings):
    settings.KONTOR_THROTTLE_CLIENT = (5, 600)
    calls = [_one_failed_attempt(f"user{n}@example.com", "203.0.113.50") for n in range(12)]

    outcomes = race(calls, _throttled)

    assert sorted(outcomes) == ["ok"] * 5 + ["throttled"] * 7
    assert Failure.objects.count() == 5


@pytest.mark.django_db(transaction=True)
def test_attempts_at_once_on_one_account_stop_exactly_at_its_limit(settings):
    settings.KONTOR_THROTTLE_ACCOUNT = (100, 3600)
    add_failures(96, account="target@example.com", distinct_ips=True)
    calls = [_one_failed_attempt("target@example.com", f"192.0.2.{n}") for n in range(1, 11)]

    outcomes = race(calls, _throttled)

    assert sorted(outcomes) == ["ok"] * 4 + ["throttled"] * 6
    assert Failure.objects.count() == 100


@pytest.mark.django_db
def test_the_clean_up_forgets_only_failures_older_than_every_window():
    now = timezone.now()
    add_failures(3, account="a@example.com", at=now - timedelta(hours=1, minutes=1))
    add_failures(2, account="a@example.com", at=now - timedelta(minutes=59))

    assert failures_expire(now=now) == 3
    assert expire_failures() == 0  # the task, run again: nothing more to do
    assert Failure.objects.count() == 2


def test_the_clean_up_is_scheduled_hourly():
    tasks = {task.name: task for task in declared_tasks()}

    assert tasks["security.expire_failures"].func == "security.tasks.expire_failures"
    assert tasks["security.expire_failures"].minutes == 60
