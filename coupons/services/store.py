"""Writing many codes fast, and asking which codes exist: the database-specific part.

PostgreSQL gets COPY (psycopg's `cursor.copy`, in the caller's transaction, like the
seats app's invitations); SQLite, used by the demo only, gets `bulk_create`. Existence
is asked in one query on PostgreSQL (``upper(code) = ANY(array)``, which the unique index
on ``upper(code)`` answers), in batches on SQLite.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import psycopg
from django.db import connection, transaction
from django.db.models.functions import Upper

from coupons.models import Code

BATCH = 1000
SQLITE_IN_BATCH = 500
UNIQUE_INDEX = "coupons_code_unique_upper"


class CodesTaken(Exception):
    """Some codes of a batch exist already (in this or another campaign)."""


def existing_codes(codes: Sequence[str]) -> set[str]:
    """Those of `codes` that exist in any campaign, upper-cased."""
    wanted = [code.upper() for code in codes]
    if not wanted:
        return set()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT upper(code) FROM coupons_code WHERE upper(code) = ANY(%s)", [wanted]
            )
            return {row[0] for row in cursor.fetchall()}
    found: set[str] = set()
    for start in range(0, len(wanted), SQLITE_IN_BATCH):
        found.update(
            Code.objects.alias(upper=Upper("code"))
            .filter(upper__in=wanted[start : start + SQLITE_IN_BATCH])
            .values_list(Upper("code"), flat=True)
        )
    return found


def codes_insert(*, campaign_id: int, codes: Iterable[str], limit: int, now: datetime) -> None:
    """Insert the codes (fresh, redemption limit `limit`) in the caller's transaction.

    Raises CodesTaken, with nothing written, when one of them exists already: the
    insert runs in a savepoint, so the caller's transaction stays usable."""
    try:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                _copy(campaign_id, codes, limit, now)
            else:
                _bulk_create(campaign_id, codes, limit, now)
    except psycopg.errors.UniqueViolation as error:
        if error.diag.constraint_name != UNIQUE_INDEX:
            raise
        raise CodesTaken from error


def _copy(campaign_id: int, codes: Iterable[str], limit: int, now: datetime) -> None:
    sql = (
        "COPY coupons_code (campaign_id, code, redemption_limit, redeemed_count, disabled,"
        " created_at) FROM STDIN"
    )
    with connection.cursor() as wrapper, wrapper.cursor.copy(sql) as copy:
        write_row = copy.write_row
        for code in codes:
            write_row((campaign_id, code, limit, 0, False, now))


def _bulk_create(campaign_id: int, codes: Iterable[str], limit: int, now: datetime) -> None:
    from django.db import IntegrityError

    rows = [
        Code(campaign_id=campaign_id, code=code, redemption_limit=limit, created_at=now)
        for code in codes
    ]
    try:
        Code.objects.bulk_create(rows, batch_size=BATCH)
    except IntegrityError as error:
        raise CodesTaken from error
