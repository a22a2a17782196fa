"""Benchmark `csv_invite`: invite N users from a CSV file (issue 5: 10,000 rows in well
under 10 s, within 3x of a hand-written COPY of the same rows).

Measured: `csv_invitations_import` on a seat account without a maximum (reading,
checking every row, `invitations_create_many`: invitations and their events). Baseline:
the rows the service writes, by hand in the same run: N invitation rows (e-mail, names,
language, code hash, expiry) and their N events (payload and mail JSON), codes drawn and
hashed, written with psycopg's `cursor.copy`, then removed. ``peak_mb``: tracemalloc's peak
of a separate, untimed check of the file.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
import uuid

from django.db import connection, transaction
from django.utils import timezone

from bench.harness import log, measure, tracemalloc_peak_mb
from notifications.models import Event
from seats.models import Invitation, SeatAccount
from seats.services.csv_import import csv_invitations_check, csv_invitations_import
from tests.seats.factories import SeatAccountFactory

DEFAULT_SCALE = 10_000


def _csv(n: int) -> bytes:
    lines = ["email;first_name;last_name;language"]
    lines += [
        f"user{i:07d}@example.com;First{i};Last{i};{'de' if i % 2 else 'en'}" for i in range(n)
    ]
    return ("\n".join(lines) + "\n").encode()


def _copy_baseline(account: SeatAccount, n: int) -> float:
    """COPY the rows the service writes: per row an invitation (fresh code, its SHA-256)
    and its INVITATION_CREATED event (payload and one "user invited" mail as JSON)."""
    now = timezone.now()
    expires = now + timezone.timedelta(days=account.invitation_validity_days)
    subscription = str(account.subscription.public_id)
    inviter = account.subscription.customer.name
    offer = str(account.subscription.offer.name)
    invitation_columns = ("public_id", "seat_account_id", "email", "first_name", "last_name",
                          "language", "code_hash", "status", "expires_at", "created_at",
                          "sent_at")  # fmt: skip
    event_columns = ("event_id", "type", "subject_type", "subject_id", "payload", "mails",
                     "occurred_at", "created_at")  # fmt: skip
    start = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        rows = []
        for i in range(n):
            code = base64.b32encode(secrets.token_bytes(20)).decode()[:28]
            email = f"copy{i:07d}@example.com"
            language = "de" if i % 2 else "en"
            rows.append((uuid.uuid4(), email, f"First{i}", f"Last{i}", language, code))
        sql = f"COPY seats_invitation ({', '.join(invitation_columns)}) FROM STDIN"
        with cursor.cursor.copy(sql) as copy:
            for public_id, email, first, last, language, code in rows:
                copy.write_row((public_id, account.pk, email, first, last, language,
                                hashlib.sha256(code.encode()).hexdigest(), "pending",
                                expires, now, now))  # fmt: skip
        sql = f"COPY notifications_event ({', '.join(event_columns)}) FROM STDIN"
        with cursor.cursor.copy(sql) as copy:
            for public_id, email, first, _last, language, code in rows:
                payload = {"invitation": str(public_id), "email": email,
                           "subscription": subscription,
                           "expires_at": expires.isoformat()}  # fmt: skip
                mail = {"template": "user_invited", "to": email, "language": language,
                        "context": {"recipient_first_name": first, "recipient_email": email,
                                    "inviter_name": inviter, "offer_name": offer,
                                    "invitation_url": f"https://example.com/join/{code}",
                                    "invitation_code": code,
                                    "expires_at": "1. Januar 2027"}}  # fmt: skip
                copy.write_row((uuid.uuid4(), "invitation.created", "seats.invitation",
                                str(public_id), json.dumps(payload), json.dumps([mail]),
                                now, now))  # fmt: skip
    seconds = time.perf_counter() - start
    Event.objects.filter(payload__email__startswith="copy").delete()
    Invitation.objects.filter(email__startswith="copy").delete()
    return seconds


def run(scale: int) -> dict:
    account = SeatAccountFactory(maximum_users=None)
    data = _csv(scale)
    log(f"CSV of {scale} rows, {len(data) / 2**20:.1f} MiB")
    baseline = _copy_baseline(account, scale)
    peak = tracemalloc_peak_mb(lambda: csv_invitations_check(account=account, file=data))
    result = measure(lambda: csv_invitations_import(account=account, file=data, actor=None))
    if not result.result == scale == Invitation.objects.filter(seat_account=account).count():
        raise RuntimeError(f"imported {result.result} of {scale} rows")
    return {
        "seconds": result.seconds,
        "baseline_seconds": baseline,
        "queries": result.queries,
        "peak_mb": peak,
    }
