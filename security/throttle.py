"""Throttling guesses of secrets: passwords, one-time codes, invitation, voucher and
coupon codes (issue 10, point 8; docs/security.md).

Two sliding windows are counted for every attempt: the *account* it names (an e-mail
address for logins and password resets, the portal user or customer for codes) and the
*client* it comes from (the IP address, an IPv6 client's /64, or the API key). When
either holds its limit of failures, the attempt is refused with `Throttled` before
anything is checked, so a correct password or code is refused too, nothing is sent and
nothing redeemed. The HTTP layer answers 429 (security.middleware, the API's problem).

Counting is exact across processes and hosts: `attempt_begin` takes a PostgreSQL
advisory lock per key (for the length of one short transaction), counts, and inserts the
attempt's row *before* the secret is checked; `attempt_end` deletes the row when the
attempt succeeded. So in-flight attempts count as failures, and N concurrent attempts
can never get past a limit. A successful attempt removes only its own row: it does not
forgive earlier failures of the account nor of the client address.

Call it from views, outside any transaction of the request: a refused purchase rolls
back its own transaction, not the failure row written before it.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import ngettext

from .models import Failure

logger = logging.getLogger("security.throttle")

Kind = Failure.Kind

# Attempts of these kinds share one account count: a password guessed at the portal and
# at the admin login (and the second factor after it) is the same account's password.
FAMILY = {
    Kind.LOGIN: "login",
    Kind.ADMIN_LOGIN: "login",
    Kind.OTP: "login",
    Kind.PASSWORD_RESET: "reset",
    Kind.INVITATION: "code",
    Kind.VOUCHER: "code",
    Kind.COUPON: "code",
}


@dataclass(frozen=True)
class Limit:
    failures: int
    seconds: int


def account_limit() -> Limit:
    """Per account: 100 failures an hour (KONTOR_THROTTLE_ACCOUNT = (failures, seconds))."""
    return Limit(*getattr(settings, "KONTOR_THROTTLE_ACCOUNT", (100, 3600)))


def client_limit() -> Limit:
    """Per client address: 20 failures in 10 minutes (KONTOR_THROTTLE_CLIENT)."""
    return Limit(*getattr(settings, "KONTOR_THROTTLE_CLIENT", (20, 600)))


def api_key_limit() -> Limit:
    """Per API key (an integrator's server relays many people): as an account."""
    return Limit(*getattr(settings, "KONTOR_THROTTLE_API_KEY", (100, 3600)))


@dataclass(frozen=True)
class Client:
    """Where attempts come from: its hashed key, what the log shows, and its limit."""

    key: str
    label: str
    limit: Limit


class Throttled(Exception):
    """Too many failures: the attempt was refused before anything was checked."""

    def __init__(self, *, kind: str, retry_after: int) -> None:
        self.kind = kind
        self.retry_after = retry_after
        minutes = max(1, math.ceil(retry_after / 60))
        self.message = ngettext(
            "Too many failed attempts. For your security, try again in %(minutes)d minute.",
            "Too many failed attempts. For your security, try again in %(minutes)d minutes.",
            minutes,
        ) % {"minutes": minutes}
        super().__init__(self.message)


@dataclass
class Attempt:
    """One attempt under way; call `success()` when the secret was right."""

    kind: str
    failure_id: int
    account_hint: str
    client_label: str
    succeeded: bool = field(default=False)

    def success(self) -> None:
        self.succeeded = True


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def account_key(*, kind: str, account: str) -> str:
    """The stored key of an account: a hash of the kind's family and the account."""
    return _digest(f"{FAMILY[kind]}:{account.strip().lower()}")


def client_address(request) -> str | None:
    """The client's IP address per KONTOR_TRUSTED_PROXY_HEADER (the right-most address
    of that header, the one our own proxy appended), else REMOTE_ADDR."""
    header = getattr(settings, "KONTOR_TRUSTED_PROXY_HEADER", "")
    raw = request.META.get(header, "") if header else request.META.get("REMOTE_ADDR", "")
    candidate = raw.split(",")[-1].strip() if raw else ""
    try:
        address = ipaddress.ip_address(candidate)
    except ValueError:
        return None
    # A dual-stack listener shows IPv4 clients as ::ffff:a.b.c.d; counted by their /64
    # they would all share one bucket.
    mapped = getattr(address, "ipv4_mapped", None)
    return str(mapped or address)


def client_for_request(request) -> Client:
    return client_for_address(client_address(request))


def client_for_address(address: str | None) -> Client:
    """A client by its address; an IPv6 client counts by its /64, which one subscriber
    typically holds whole (a new address in it is no new client)."""
    address = address or "unknown"
    counted = address
    if ":" in address:
        counted = str(ipaddress.ip_network(f"{address}/64", strict=False))
    return Client(key=_digest(f"ip:{counted}"), label=address, limit=client_limit())


def client_for_api_key(key_id: int) -> Client:
    return Client(
        key=_digest(f"api-key:{key_id}"), label=f"api-key:{key_id}", limit=api_key_limit()
    )


def _lock(keys: list[str]) -> None:
    """Serialise the count-and-insert of attempts on the same keys across processes and
    hosts (released at commit). SQLite, the demo's database, serialises writers itself."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for key in sorted(set(keys)):
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [int(key[:15], 16)])


def _retry_after(key_field: str, key: str, limit: Limit, count: int, now: datetime) -> int:
    """Seconds until the window holds fewer than `limit.failures` failures again."""
    since = now - timedelta(seconds=limit.seconds)
    rows = Failure.objects.filter(**{key_field: key}, at__gte=since).order_by("at")
    oldest = rows.values_list("at", flat=True)[count - limit.failures]
    return max(1, math.ceil((oldest + timedelta(seconds=limit.seconds) - now).total_seconds()))


def _windows(*, account: str, client: Client | None, now: datetime) -> dict[str, tuple]:
    """Which counts apply: name -> (key field, key, limit, window start)."""
    windows = {}
    if account:
        limit = account_limit()
        windows["account"] = ("account_key", account, limit, now - timedelta(seconds=limit.seconds))
    if client is not None:
        since = now - timedelta(seconds=client.limit.seconds)
        windows["client"] = ("client_key", client.key, client.limit, since)
    return windows


def _over_limit(*, account: str, client: Client | None, now: datetime) -> int | None:
    """Seconds to wait when the account or the client holds its limit, else None. One
    query counts both windows (each served by its index)."""
    windows = _windows(account=account, client=client, now=now)
    if not windows:
        return None
    conditions = {
        name: Q(**{key_field: key, "at__gte": since})
        for name, (key_field, key, _limit, since) in windows.items()
    }
    either = Q()
    for condition in conditions.values():
        either |= condition
    counts = Failure.objects.filter(either).aggregate(
        **{name: Count("pk", filter=condition) for name, condition in conditions.items()}
    )
    waits = [
        _retry_after(key_field, key, limit, counts[name], now)
        for name, (key_field, key, limit, _since) in windows.items()
        if counts[name] >= limit.failures
    ]
    return max(waits) if waits else None


def attempt_begin(
    *, kind: str, account: str | None, client: Client | None, now: datetime | None = None
) -> Attempt:
    """Refuse with Throttled while the account or client holds its limit of failures;
    otherwise record the attempt as a failure until `attempt_end` learns it succeeded."""
    now = now or timezone.now()
    key = account_key(kind=kind, account=account) if account else ""
    hint = key[:12] if key else "-"
    label = client.label if client is not None else "-"
    with transaction.atomic():
        _lock([k for k in (key, client.key if client else "") if k])
        wait = _over_limit(account=key, client=client, now=now)
        if wait is not None:
            logger.warning(
                "Refused %s attempt: too many failures (account %s, client %s, retry in %ss)",
                kind, hint, label, wait,
            )  # fmt: skip
            raise Throttled(kind=kind, retry_after=wait)
        failure = Failure.objects.create(
            kind=kind, account_key=key, client_key=client.key if client else "", at=now
        )
    return Attempt(kind=kind, failure_id=failure.pk, account_hint=hint, client_label=label)


def attempt_end(attempt: Attempt) -> None:
    """A successful attempt's row goes; a failed one stays, counted, and is logged."""
    if attempt.succeeded:
        Failure.objects.filter(pk=attempt.failure_id).delete()
        return
    # The kind may have been narrowed meanwhile (a right password but a wrong code).
    Failure.objects.filter(pk=attempt.failure_id).exclude(kind=attempt.kind).update(
        kind=attempt.kind
    )
    logger.warning(
        "Failed %s attempt (account %s, client %s)",
        attempt.kind, attempt.account_hint, attempt.client_label,
    )  # fmt: skip


@contextmanager
def guard(
    *,
    kind: str,
    request=None,
    account: str | None = None,
    client: Client | None = None,
    fails: Callable[[BaseException], bool] | None = None,
) -> Iterator[Attempt]:
    """Wrap one check of a secret: raises Throttled before the body runs when over a
    limit; the attempt counts as a failure unless the body calls `attempt.success()`.
    An exception from the body is a failure when `fails(exception)` says so (all are,
    without `fails`). `client` defaults to the request's address."""
    if client is None and request is not None:
        client = client_for_request(request)
    attempt = attempt_begin(kind=kind, account=account, client=client)
    try:
        yield attempt
    except Exception as error:
        if fails is not None and not fails(error):
            attempt.success()  # refused for another reason than the secret
        raise
    finally:
        attempt_end(attempt)


def record_failure(*, kind: str, request=None, account: str | None = None) -> None:
    """Count one failure without a guarded check (e.g. a password reset request, where
    every request counts; raises Throttled when over a limit, before anything is sent)."""
    with guard(kind=kind, request=request, account=account):
        pass


def failures_expire(*, now: datetime | None = None) -> int:
    """Delete failures older than every window (the hourly schedule); the number gone."""
    now = now or timezone.now()
    longest = max(account_limit().seconds, client_limit().seconds, api_key_limit().seconds)
    deleted, _ = Failure.objects.filter(at__lt=now - timedelta(seconds=longest)).delete()
    return deleted
