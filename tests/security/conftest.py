"""Fixtures of the security tests: failures written in bulk (to set up "99 failures"
without 99 requests where the test is not about the counting itself)."""

from __future__ import annotations

from datetime import datetime

import pytest
from django.utils import timezone

from security.models import Failure
from security.throttle import account_key, client_for_address

PASSWORD = "a-Long-and-unusual-pw-42"


def add_failures(
    count: int,
    *,
    kind: str = Failure.Kind.LOGIN,
    account: str | None = None,
    ip: str | None = None,
    distinct_ips: bool = False,
    at: datetime | None = None,
) -> None:
    """`count` failures of `kind` for the account, from `ip` (or each from its own
    address in 198.51.100.0/24 and beyond, so no client limit is touched)."""
    at = at or timezone.now()
    key = account_key(kind=kind, account=account) if account else ""

    def client(n: int) -> str:
        if distinct_ips:
            return client_for_address(f"198.51.{100 + n // 250}.{n % 250 + 1}").key
        return client_for_address(ip).key if ip else ""

    Failure.objects.bulk_create(
        Failure(kind=kind, account_key=key, client_key=client(n), at=at) for n in range(count)
    )


@pytest.fixture
def member(django_user_model):
    """A portal user with a known password."""
    return django_user_model.objects.create_user(email="mila@example.com", password=PASSWORD)
