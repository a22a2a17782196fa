"""Operations of the API app: API keys (create, revoke, authenticate) and the
idempotency records (claim, finish, release, expire)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from api.keys import key_hash, key_matches, key_new, key_prefix
from api.models import ApiKey, IdempotencyRecord, Scope
from audit.recorder import record_bulk_change

logger = logging.getLogger(__name__)

# How often last_used_at is written: once a minute per key is enough to see a key in
# use, and spares every request a write.
LAST_USED_GRANULARITY = timedelta(minutes=1)
IDEMPOTENCY_TTL = timedelta(hours=24)
# A request still "in progress" after this long died (a killed worker): the key may be
# used again.
IN_PROGRESS_STALE_AFTER = timedelta(minutes=5)


# --- keys ------------------------------------------------------------------------------


def scopes_clean(scopes: Iterable[str]) -> list[str]:
    """The scopes in canonical order; ValidationError for an unknown one or none."""
    wanted = {scope.strip() for scope in scopes if scope.strip()}
    unknown = sorted(wanted - set(Scope.values))
    if unknown:
        raise ValidationError(
            {"scopes": _("Unknown scope: %(scopes)s.") % {"scopes": ", ".join(unknown)}}
        )
    if not wanted:
        raise ValidationError({"scopes": _("Choose at least one scope.")})
    return [scope for scope in Scope.values if scope in wanted]


@transaction.atomic
def api_key_create(*, name: str, scopes: Iterable[str], created_by=None) -> tuple[ApiKey, str]:
    """A new key: the row and the key itself, which is returned only here (show it
    once). ValidationError for an empty name or bad scopes; nothing is created."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("Give the key a name.")})
    scopes = scopes_clean(scopes)
    key, prefix = key_new()
    api_key = ApiKey(
        name=name, prefix=prefix, hashed_key=key_hash(key), scopes=scopes, created_by=created_by
    )
    api_key.full_clean()
    api_key.save()
    return api_key, key


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey, now: datetime | None = None) -> ApiKey:
    """The key stops working at once; revoking twice keeps the first date."""
    now = now or timezone.now()
    if ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=now):
        record_bulk_change(
            model=ApiKey,
            pks=[api_key.pk],
            changes={"revoked_at": (None, now)},
            operation="api_key_revoke",
        )
    api_key.refresh_from_db(fields=["revoked_at"])
    return api_key


def api_key_for_token(token: str) -> ApiKey | None:
    """The active key this token is, or None. Read-only (the idempotency middleware
    uses it before the API authenticates)."""
    prefix = key_prefix(token.strip())
    if prefix is None:
        return None
    api_key = ApiKey.objects.filter(prefix=prefix, revoked_at__isnull=True).first()
    if api_key is None or not key_matches(token.strip(), api_key.hashed_key):
        return None
    return api_key


def api_key_authenticate(*, token: str, now: datetime | None = None) -> ApiKey | None:
    """The active key this token is (or None), its last use recorded."""
    api_key = api_key_for_token(token)
    if api_key is None:
        return None
    now = now or timezone.now()
    if api_key.last_used_at is None or api_key.last_used_at <= now - LAST_USED_GRANULARITY:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
    return api_key


# --- idempotency -----------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    """What to do with a POST carrying an Idempotency-Key: `execute` it (the record is
    ours), `replay` the stored response, or refuse it (`conflict`: "reused" for another
    body or path, "in_progress" while the first is running)."""

    outcome: str  # "execute" | "replay" | "conflict"
    record: IdempotencyRecord | None = None
    conflict: str = ""


def idempotency_claim(
    *, api_key: ApiKey, key: str, method: str, path: str, body_hash: str, now=None
) -> Claim:
    """Claim `key` for this request. The unique (api key, key) constraint decides
    between concurrent first requests: one inserts, the others find its row. A stale
    in-progress row is taken over under a row lock, so only one retry re-runs it."""
    now = now or timezone.now()
    try:
        with transaction.atomic():
            record = IdempotencyRecord.objects.create(
                api_key=api_key, key=key, request_method=method, request_path=path,
                body_hash=body_hash, created_at=now,
            )  # fmt: skip
        return Claim("execute", record)
    except IntegrityError:
        pass
    with transaction.atomic():
        record = IdempotencyRecord.objects.select_for_update().filter(api_key=api_key, key=key)
        record = record.first()
        if record is None:  # released between our insert and this read: try once more
            return idempotency_claim(
                api_key=api_key, key=key, method=method, path=path, body_hash=body_hash, now=now
            )
        same = (record.request_method, record.request_path, record.body_hash) == (
            method,
            path,
            body_hash,
        )
        if not same:
            return Claim("conflict", record, "reused")
        if record.state == IdempotencyRecord.State.DONE:
            return Claim("replay", record)
        if record.created_at > now - IN_PROGRESS_STALE_AFTER:
            return Claim("conflict", record, "in_progress")
        record.created_at = now
        record.save(update_fields=["created_at"])
        return Claim("execute", record)


def idempotency_finish(
    *, record: IdempotencyRecord, status: int, content_type: str, body: str, location: str = ""
) -> None:
    """Keep the response for replays."""
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        state=IdempotencyRecord.State.DONE,
        response_status=status,
        response_content_type=content_type,
        response_body=body,
        response_location=location,
    )


def idempotency_release(*, record: IdempotencyRecord) -> None:
    """Forget the claim (the request was not carried out: a server error, refused
    access, rate limit), so a retry with the same key runs."""
    IdempotencyRecord.objects.filter(pk=record.pk).delete()


def idempotency_records_expire(*, now: datetime | None = None) -> int:
    """Delete records older than 24 hours (every hour); how many."""
    now = now or timezone.now()
    deleted, _by_model = IdempotencyRecord.objects.filter(
        created_at__lt=now - IDEMPOTENCY_TTL
    ).delete()
    return deleted
