"""Invitations: create (one or a batch), revoke, re-send, redeem, expire.

A pending, unexpired invitation holds a seat, so creating one goes through `_claim_seat`
(the account row locked first, then counted). Redeeming marks the invitation redeemed and
then starts the user subscriptions through the same `_claim_seat`: the seat the invitation
held is the one the user takes, so an accepted invitation never finds the account full and
nothing is counted twice.

The code is returned only by the functions that make one (create, re-send) and goes out
only in the e-mail; the database keeps its SHA-256 (see seats.codes).
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import validate_email
from django.db import connection, transaction
from django.db.models.base import ModelState
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import override
from django_q.tasks import async_task

from notifications.events import EventType, MailType
from notifications.models import Event
from notifications.services import Mail, emit
from seats.codes import code_hash, new_code
from seats.exceptions import InvitationInvalid, InvitationRowsInvalid, SeatError, SeatsFull
from seats.models import Invitation, SeatAccount, UserSubscription
from subscriptions.models import Subscription, normalize_email

from .seats import (
    RUNNING,
    Via,
    _claim_seat,
    _lock_account,
    _start_checked,
    absolute_url,
    seats_free,
)

logger = logging.getLogger(__name__)

BULK_BATCH = 1000


# --- rules -------------------------------------------------------------------------


def _language(language: str | None) -> str:
    return language if language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


def _email_error(email: str) -> str | None:
    return None if _email_valid(email) else _("This is not a valid e-mail address.")


@functools.lru_cache(maxsize=65536)
def _email_valid(email: str) -> bool:
    """Cached: an importer checks each address before the import and again under the
    lock, and the answer depends on the address alone (the message, on the language)."""
    try:
        validate_email(email)
    except ValidationError:
        return False
    return True


class _Known:
    """The addresses an account already knows, read in three queries, so a batch of any
    size is checked without a query per row."""

    def __init__(self, account: SeatAccount, now: datetime) -> None:
        self.ended = account.subscription.status == Subscription.Status.ENDED
        main_user = account.subscription.customer.main_user
        self.main_email = normalize_email(main_user.email) if main_user else None
        self.users = {
            normalize_email(email)
            for email in UserSubscription.objects.filter(
                seat_account=account, state__in=RUNNING
            ).values_list("user__email", flat=True)
        }
        self.pending = {
            normalize_email(email)
            for email in Invitation.objects.filter(
                seat_account=account, status=Invitation.Status.PENDING, expires_at__gt=now
            ).values_list("email", flat=True)
        }

    def error(self, email: str) -> str | None:
        if self.ended:
            return _("This subscription has ended.")
        if email == self.main_email:
            return _("This is the main user, who always has access.")
        if email in self.users:
            return _("This person is already a user of this subscription.")
        if email in self.pending:
            return _("This person has already been invited.")
        return None


def invitation_rows_check(
    *, account: SeatAccount, rows: Sequence[Mapping[str, str]], now: datetime | None = None
) -> list[tuple[int, str]]:
    """The rule errors of a batch, as (row index, 0-based, message), without changing
    anything: bad e-mail, duplicate in the batch, the main user, already a user, already
    invited, and rows beyond the free seats. The importer shows these with line numbers;
    `invitations_create_many` checks the same again under the account lock."""
    return [(index, message) for index, _kind, message in _check_rows(account, rows, now)]


def _check_rows(account, rows, now) -> list[tuple[int, str, str]]:
    """(index, "rule" or "seat", message) per refused row."""
    now = now or timezone.now()
    known = _Known(account, now)
    errors: list[tuple[int, str, str]] = []
    seen: set[str] = set()
    valid = 0
    free = seats_free(account=account, now=now)
    for index, row in enumerate(rows):
        email = normalize_email(row.get("email") or "")
        message = _email_error(email) or known.error(email)
        if message is None and email in seen:
            message = _("This address appears more than once in the file.")
        seen.add(email)
        if message is not None:
            errors.append((index, "rule", message))
            continue
        valid += 1
        if free is not None and valid > free:
            message = _("No seat left for this row: the subscription has %(free)d free.")
            errors.append((index, "seat", message % {"free": free}))
    return errors


# --- the e-mail --------------------------------------------------------------------


def invitation_link(account: SeatAccount, code: str) -> str:
    """The offer's invitation URL with ?code=…, or Kontor's own landing page. Corporate
    offers have no invitation URL of their own: their users always join on Kontor's."""
    offer = account.subscription.offer
    base = offer.invitation_url if offer is not None else ""
    if base:
        separator = "&" if "?" in base else "?"
        return f"{base}{separator}{urlencode({'code': code})}"
    return absolute_url("join:redeem", code=code)


def _link_maker(account: SeatAccount):
    """`invitation_link` for many codes of one account, with the URL built once: a code
    is URL-safe as it is (base32 and dashes), so it is appended unescaped."""
    marker = "CODEMARKER"
    template = invitation_link(account, marker)
    head, tail = template.split(marker, 1)
    return lambda code: f"{head}{code}{tail}"


def _expiry_text(expires_at: datetime, language: str) -> str:
    with override(language):
        return formats.date_format(timezone.localtime(expires_at), "DATE_FORMAT")


def _mail(account: SeatAccount, invitation: Invitation, code: str, expires_at: str = "") -> Mail:
    customer = account.subscription.customer
    expires_at = expires_at or _expiry_text(invitation.expires_at, invitation.language)
    offer_name = str(account.subscription.title)
    return Mail(
        template=MailType.USER_INVITED,
        to=invitation.email,
        language=invitation.language,
        context={
            "recipient_first_name": invitation.first_name,
            "recipient_email": invitation.email,
            "inviter_name": customer.name,
            "offer_name": offer_name,
            "invitation_url": invitation_link(account, code),
            "invitation_code": code,
            "expires_at": expires_at,
        },
    )


def _payload(account: SeatAccount, invitation: Invitation) -> dict:
    return {
        "invitation": str(invitation.public_id),
        "email": invitation.email,
        "subscription": str(account.subscription.public_id),
        "expires_at": invitation.expires_at.isoformat(),
    }


# --- creating ----------------------------------------------------------------------


def _new_invitation(account, *, email, first_name, last_name, language, actor, now):
    code = new_code()
    invitation = Invitation(
        seat_account=account,
        email=email,
        first_name=(first_name or "").strip(),
        last_name=(last_name or "").strip(),
        language=_language(language),
        code_hash=code_hash(code),
        expires_at=now + timedelta(days=account.invitation_validity_days),
        invited_by=actor,
        sent_at=now,
    )
    return invitation, code


def _expire_stale(
    account: SeatAccount, emails: Iterable[str], now: datetime, raw: bool = False
) -> None:
    """Pending invitations past their expiry hold no seat but still block a new one for
    the same address (one pending per address): mark them expired first. `raw` (on
    PostgreSQL) passes a batch's addresses as one array parameter."""
    if raw:
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE seats_invitation SET status = %s WHERE seat_account_id = %s"
                " AND status = %s AND expires_at <= %s AND email = ANY(%s)",
                [Invitation.Status.EXPIRED.value, account.pk, Invitation.Status.PENDING.value,
                 now, list(emails)],
            )  # fmt: skip
        return
    Invitation.objects.filter(
        seat_account=account,
        status=Invitation.Status.PENDING,
        expires_at__lte=now,
        email__in=list(emails),
    ).update(status=Invitation.Status.EXPIRED)


@transaction.atomic
def invitation_create(
    *,
    account: SeatAccount,
    email: str,
    first_name: str = "",
    last_name: str = "",
    language: str = "en",
    actor=None,
    now: datetime | None = None,
) -> tuple[Invitation, str]:
    """Invite one address: the invitation (holding a seat) and its code, which is
    returned only here and sent in the "user invited" e-mail."""
    now = now or timezone.now()
    email = normalize_email(email)
    message = _email_error(email)
    if message:
        raise SeatError(message)
    account = _claim_seat(account.pk, now=now)
    message = _Known(account, now).error(email)
    if message:
        raise SeatError(message)
    _expire_stale(account, [email], now)
    invitation, code = _new_invitation(
        account,
        email=email,
        first_name=first_name,
        last_name=last_name,
        language=language,
        actor=actor,
        now=now,
    )
    invitation.save()
    emit(
        type=EventType.INVITATION_CREATED,
        payload=_payload(account, invitation),
        subject=invitation,
        mails=[_mail(account, invitation, code)],
        occurred_at=now,
    )
    return invitation, code


@transaction.atomic
def invitations_create_many(
    *,
    account: SeatAccount,
    rows: Sequence[Mapping[str, str]],
    actor=None,
    now: datetime | None = None,
) -> list[Invitation]:
    """Invite a batch (the CSV import): rows are mappings with "email" and optionally
    "first_name", "last_name", "language". All or nothing: any rule error raises
    InvitationRowsInvalid(errors) and too few seats raise SeatsFull, both creating
    nothing. One lock and one seat check for the whole batch, bulk inserts, and one
    queued task to dispatch the batch's events (the sweep is the fallback)."""
    now = now or timezone.now()
    account = _lock_account(account.pk)
    errors = _check_rows(account, rows, now)
    if any(kind == "rule" for _index, kind, _message in errors):
        raise InvitationRowsInvalid([(index, message) for index, _kind, message in errors])
    if errors:
        raise SeatsFull()
    if not rows:
        return []
    expires_at = now + timedelta(days=account.invitation_validity_days)
    made = []  # (code, the invitation's column values)
    for row in rows:
        code = new_code()
        made.append(
            (
                code,
                {
                    "public_id": uuid.uuid4(),
                    "seat_account_id": account.pk,
                    "email": normalize_email(row["email"]),
                    "first_name": (row.get("first_name", "") or "").strip(),
                    "last_name": (row.get("last_name", "") or "").strip(),
                    "language": _language(row.get("language") or "en"),
                    "code_hash": code_hash(code),
                    "status": Invitation.Status.PENDING.value,
                    "expires_at": expires_at,
                    "invited_by_id": actor.pk if actor is not None else None,
                    "sent_at": now,
                },
            )
        )
    postgresql = connection.vendor == "postgresql"
    _expire_stale(account, [values["email"] for _code, values in made], now, raw=postgresql)
    # Every row expires at the same moment: format that once per language.
    expiry = {lang: _expiry_text(expires_at, lang) for lang in dict(settings.LANGUAGES)}
    events = _bulk_events(account, made, expiry, now)
    if postgresql:
        return _copy_rows(made, events)
    invitations = Invitation.objects.bulk_create(
        [Invitation(**values) for _code, values in made], batch_size=BULK_BATCH
    )
    created = Event.objects.bulk_create([Event(**e) for e in events], batch_size=BULK_BATCH)
    event_ids = [event.pk for event in created]
    transaction.on_commit(lambda: _queue_dispatch(event_ids))
    return invitations


def _bulk_events(account, made, expiry, now) -> list[dict]:
    """The INVITATION_CREATED events of a batch as Event field values, their mails built
    as the dicts `dataclasses.asdict(Mail(...))` gives (the first one goes through `Mail`
    so a wrong template or context still fails here)."""
    customer_name = account.subscription.customer.name
    offer_name = str(account.subscription.title)
    subscription_id = str(account.subscription.public_id)
    subject_type = Invitation._meta.label_lower
    link = _link_maker(account)
    event_type = EventType.INVITATION_CREATED.value
    template = MailType.USER_INVITED.value
    events = []
    for index, (code, values) in enumerate(made):
        public_id = str(values["public_id"])
        email = values["email"]
        mail = {
            "template": template,
            "to": email,
            "language": values["language"],
            "context": {
                "recipient_first_name": values["first_name"],
                "recipient_email": email,
                "inviter_name": customer_name,
                "offer_name": offer_name,
                "invitation_url": link(code),
                "invitation_code": code,
                "expires_at": expiry[values["language"]],
            },
        }
        if index == 0:
            Mail(**mail)  # validates template, address and context once per batch
        events.append(
            {
                "event_id": uuid.uuid4(),
                "type": event_type,
                "subject_type": subject_type,
                "subject_id": public_id,
                "payload": {
                    "invitation": public_id,
                    "email": email,
                    "subscription": subscription_id,
                    "expires_at": values["expires_at"].isoformat(),
                },
                "mails": [mail],
                "occurred_at": now,
            }
        )
    return events


_INVITATION_COLUMNS = (
    "public_id", "seat_account_id", "email", "first_name", "last_name", "language",
    "code_hash", "status", "expires_at", "invited_by_id", "sent_at",
)  # fmt: skip
_EVENT_COLUMNS = ("event_id", "type", "subject_type", "subject_id", "occurred_at")


def _next_ids(cursor, table: str, count: int) -> list[int]:
    """`count` fresh ids from the sequence behind `table`.id."""
    cursor.execute(
        "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
        [table, count],
    )
    return [row[0] for row in cursor.fetchall()]


def _copy_rows(made, events: list[dict]) -> list[Invitation]:
    """PostgreSQL: write the invitations and their events with COPY (in the caller's
    transaction), queue the events' dispatch after commit, and return the invitations."""
    created = timezone.now()
    encode = DjangoJSONEncoder().encode
    with connection.cursor() as wrapper:
        cursor = wrapper.cursor
        # Ids drawn from the tables' own sequences, so nothing is read back afterwards.
        invitation_ids = _next_ids(cursor, "seats_invitation", len(made))
        event_ids = _next_ids(cursor, "notifications_event", len(events))
        sql = (
            "COPY seats_invitation (id, public_id, seat_account_id, email, first_name, last_name,"
            " language, code_hash, status, expires_at, invited_by_id, sent_at, created_at)"
            " FROM STDIN"
        )
        with cursor.copy(sql) as copy:
            for pk, (_code, values) in zip(invitation_ids, made, strict=True):
                copy.write_row(
                    [pk] + [values[column] for column in _INVITATION_COLUMNS] + [created]
                )
        sql = (
            "COPY notifications_event (id, event_id, type, subject_type, subject_id, occurred_at,"
            " payload, mails, created_at) FROM STDIN"
        )
        with cursor.copy(sql) as copy:
            for pk, event in zip(event_ids, events, strict=True):
                copy.write_row(
                    [pk]
                    + [event[column] for column in _EVENT_COLUMNS]
                    + [encode(event["payload"]), encode(event["mails"]), created]
                )
    transaction.on_commit(lambda: _queue_dispatch(event_ids))
    # The saved rows as model instances, built without Model.__init__'s per-field work
    # (a fifth of the batch's time at 10,000 rows): every concrete field is set.
    blank = dict.fromkeys(field.attname for field in Invitation._meta.concrete_fields)
    invitations = []
    for pk, (_code, values) in zip(invitation_ids, made, strict=True):
        invitation = Invitation.__new__(Invitation)
        invitation.__dict__.update(blank, **values, id=pk, created_at=created)
        invitation._state = ModelState()
        invitation._state.adding = False
        invitation._state.db = connection.alias
        invitations.append(invitation)
    return invitations


def _queue_dispatch(event_ids: list[int]) -> None:
    """One task per batch: each enqueue costs the broker a round trip (the ORM broker
    even a connection), and a batch is at most CHUNK_ROWS of the importer."""
    async_task("seats.tasks.dispatch_events", event_ids)


# --- revoking, re-sending, redeeming, expiring ---------------------------------------


def _lock_invitation(invitation: Invitation) -> tuple[SeatAccount, Invitation]:
    account = _lock_account(invitation.seat_account_id)
    locked = Invitation.objects.select_for_update().get(pk=invitation.pk)
    return account, locked


def _refuse_unless_pending(invitation: Invitation, now: datetime) -> None:
    if invitation.status == Invitation.Status.PENDING and invitation.expires_at <= now:
        raise InvitationInvalid("expired")
    if invitation.status != Invitation.Status.PENDING:
        raise InvitationInvalid(invitation.status)


@transaction.atomic
def invitation_revoke(
    *, invitation: Invitation, actor=None, now: datetime | None = None
) -> Invitation:
    """Withdraw a pending invitation: its code stops working and its seat is free."""
    now = now or timezone.now()
    _account, invitation = _lock_invitation(invitation)
    if invitation.status != Invitation.Status.PENDING:
        raise InvitationInvalid(invitation.status)
    invitation.status = Invitation.Status.REVOKED
    invitation.save(update_fields=["status"])
    logger.info("Invitation %s revoked by %s.", invitation.public_id, actor)
    return invitation


@transaction.atomic
def invitation_resend(
    *, invitation: Invitation, actor=None, now: datetime | None = None
) -> tuple[Invitation, str]:
    """Send a pending or expired invitation again with a new code and a new expiry; the
    old code stops working. An invitation that no longer holds a seat (expired) takes
    one again."""
    now = now or timezone.now()
    account, invitation = _lock_invitation(invitation)
    if invitation.status in (Invitation.Status.REDEEMED, Invitation.Status.REVOKED):
        raise InvitationInvalid(invitation.status)
    if invitation.status == Invitation.Status.EXPIRED or invitation.expires_at <= now:
        account = _claim_seat(account.pk, now=now)
        message = _Known(account, now).error(invitation.email)
        if message:
            raise SeatError(message)
    code = new_code()
    invitation.code_hash = code_hash(code)
    invitation.status = Invitation.Status.PENDING
    invitation.expires_at = now + timedelta(days=account.invitation_validity_days)
    invitation.sent_at = now
    invitation.save(update_fields=["code_hash", "status", "expires_at", "sent_at"])
    emit(
        type=EventType.INVITATION_CREATED,
        payload=_payload(account, invitation) | {"resent": True},
        subject=invitation,
        mails=[_mail(account, invitation, code)],
        occurred_at=now,
    )
    return invitation, code


def invitation_for_code(*, code: str) -> Invitation:
    """The invitation behind a code, for the landing page; InvitationInvalid("unknown")
    when there is none. Its status is for the caller to judge."""
    invitation = (
        Invitation.objects.select_related(
            "seat_account__subscription__offer",
            "seat_account__subscription__corporate_offer",
            "seat_account__subscription__customer",
            "invited_by",
        )
        .filter(code_hash=code_hash(code))
        .first()
    )
    if invitation is None:
        raise InvitationInvalid("unknown")
    return invitation


def invitation_status_for(invitation: Invitation, now: datetime | None = None) -> str:
    """pending, redeemed, revoked or expired, counting a pending one past its expiry as
    expired before the job marks it."""
    now = now or timezone.now()
    if invitation.status == Invitation.Status.PENDING and invitation.expires_at <= now:
        return Invitation.Status.EXPIRED
    return invitation.status


@transaction.atomic
def invitation_redeem(*, code: str, user, now: datetime | None = None) -> list[UserSubscription]:
    """Accept an invitation as `user` (any logged-in user; an address other than the
    invited one is allowed and logged). Unknown, redeemed, expired or revoked codes raise
    InvitationInvalid(reason); a user who cannot take the seat (the main user, one who
    already has access) gets SeatError. Either way nothing changes."""
    now = now or timezone.now()
    found = invitation_for_code(code=code)
    account, invitation = _lock_invitation(found)
    if invitation.code_hash != found.code_hash:
        # Re-sent between the lookup and the lock: this code no longer works.
        raise InvitationInvalid("unknown")
    _refuse_unless_pending(invitation, now)
    invitation.status = Invitation.Status.REDEEMED
    invitation.redeemed_by = user
    invitation.redeemed_at = now
    invitation.save(update_fields=["status", "redeemed_by", "redeemed_at"])
    if normalize_email(user.email) != normalize_email(invitation.email):
        logger.info(
            "Invitation %s for %s redeemed by %s.", invitation.public_id, invitation.email, user
        )
    return _start_checked(
        account.pk, user, via=Via.INVITATION, actor=user, invitation=invitation, now=now
    )


def invitations_expire_due(*, now: datetime | None = None, batch: int = 5000) -> int:
    """Mark pending invitations past their expiry as expired (every 5 minutes; safe to run
    twice). Rows someone holds right now are left for the next run."""
    now = now or timezone.now()
    with transaction.atomic():
        ids = list(
            Invitation.objects.select_for_update(skip_locked=True)
            .filter(status=Invitation.Status.PENDING, expires_at__lte=now)
            .values_list("pk", flat=True)[:batch]
        )
        return Invitation.objects.filter(pk__in=ids, status=Invitation.Status.PENDING).update(
            status=Invitation.Status.EXPIRED
        )
