"""Benchmark `csv_invite`: invite N users from a CSV file (issue 5: 10,000 rows in well
under 10 s, within 3x of a hand-written COPY of the same invitation rows).

Measured: `csv_invitations_import` on a seat account without a maximum (reading,
checking every row, `invitations_create_many`: invitations and their events). Baseline:
the same N invitation rows (e-mail, names, language, code hash, expiry) written with
psycopg's `cursor.copy` in the same run, then removed. ``peak_mb``: tracemalloc's peak
of a separate, untimed check of the file.
"""

from __future__ import annotations

import hashlib
import time
import uuid

from django.db import connection, transaction
from django.utils import timezone

from bench.harness import log, measure, tracemalloc_peak_mb
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
    now = timezone.now()
    expires = now + timezone.timedelta(days=account.invitation_validity_days)
    columns = ("public_id", "seat_account_id", "email", "first_name", "last_name", "language",
               "code_hash", "status", "expires_at", "created_at", "sent_at")  # fmt: skip
    start = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        sql = f"COPY seats_invitation ({', '.join(columns)}) FROM STDIN"
        with cursor.cursor.copy(sql) as copy:
            for i in range(n):
                email = f"copy{i:07d}@example.com"
                copy.write_row((uuid.uuid4(), account.pk, email, f"First{i}", f"Last{i}",
                                "de" if i % 2 else "en",
                                hashlib.sha256(uuid.uuid4().bytes).hexdigest(), "pending",
                                expires, now, now))  # fmt: skip
    seconds = time.perf_counter() - start
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
