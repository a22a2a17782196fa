"""The bulk path's two writers (COPY on PostgreSQL, bulk_create elsewhere) write the
same invitation and event rows."""

import itertools

import pytest
from django.db import connection, transaction

from notifications.models import Event
from seats.models import Invitation
from seats.services import invitations as service
from tests.seats.factories import NOW, SeatAccountFactory, UserFactory

pytestmark = pytest.mark.django_db

ROWS = [
    {"email": "Anna@Example.org", "first_name": " Anna ", "last_name": "Ä", "language": "de"},
    {"email": "bob@example.org", "first_name": "Bob", "language": "en"},
    {"email": "carl@example.org", "language": ""},
]


COLUMNS = (
    "public_id", "seat_account_id", "email", "first_name", "last_name", "language",
    "code_hash", "status", "expires_at", "invited_by_id", "redeemed_by_id", "redeemed_at",
    "sent_at",
)  # fmt: skip
PATHS = {"postgresql": [], "sqlite": []}


class _Rollback(Exception):
    pass


def _snapshot(account):
    invitations = list(
        Invitation.objects.filter(seat_account=account).order_by("email").values(*COLUMNS)
    )
    by_public_id = {str(row.pop("public_id")): row["email"] for row in invitations}
    events = []
    for event in Event.objects.filter(subject_id__in=by_public_id).order_by("pk"):
        payload = dict(event.payload)
        assert payload.pop("invitation") == event.subject_id
        events.append(
            {
                "email": by_public_id[event.subject_id],
                "type": event.type,
                "subject_type": event.subject_type,
                "payload": payload,
                "mails": event.mails,
                "occurred_at": event.occurred_at,
                "dispatched_at": event.dispatched_at,
            }
        )
    events.sort(key=lambda e: e["email"])
    return invitations, events


def _write(account, actor, monkeypatch, vendor):
    codes = (f"CODE-{i:04d}-AAAA-BBBB-CCCC-DDDD-EEEE" for i in itertools.count())
    monkeypatch.setattr(service, "new_code", lambda: next(codes))
    monkeypatch.setattr(connection, "vendor", vendor)
    copy_rows = service._copy_rows

    def spy(*args):
        PATHS[connection.vendor].append("copy")
        return copy_rows(*args)

    monkeypatch.setattr(service, "_copy_rows", spy)
    try:
        with transaction.atomic():
            made = service.invitations_create_many(account=account, rows=ROWS, actor=actor, now=NOW)
            returned = sorted(
                ({"pk": i.pk, **{c: getattr(i, c) for c in COLUMNS}} for i in made),
                key=lambda row: row["email"],
            )
            stored = Invitation.objects.filter(seat_account=account).order_by("email")
            assert returned == list(stored.values("pk", *COLUMNS))
            assert made[0].seat_account == account
            snapshot = _snapshot(account)
            raise _Rollback
    except _Rollback:
        pass
    finally:
        monkeypatch.undo()
    return snapshot


@pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY needs PostgreSQL")
def test_copy_and_bulk_create_write_the_same_rows(monkeypatch):
    account = SeatAccountFactory(maximum_users=10)
    actor = UserFactory()

    copied = _write(account, actor, monkeypatch, "postgresql")
    fallback = _write(account, actor, monkeypatch, "sqlite")

    assert PATHS == {"postgresql": ["copy"], "sqlite": []}
    assert copied == fallback
    invitations, events = copied
    assert [row["email"] for row in invitations] == [
        "anna@example.org",
        "bob@example.org",
        "carl@example.org",
    ]
    assert invitations[0]["first_name"] == "Anna"
    assert [row["language"] for row in invitations] == ["de", "en", "en"]
    assert len(events) == 3
    assert events[0]["mails"][0]["context"]["invitation_code"].startswith("CODE-")
    assert events[0]["mails"][0]["to"] == "anna@example.org"
    for event in events:
        context = event["mails"][0]["context"]
        assert context["invitation_url"] == service.invitation_link(
            account, context["invitation_code"]
        )
