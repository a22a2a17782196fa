"""Inviting users from a CSV file: reading (BOM, semicolons, headers), every row error
with its line number, all-or-nothing, only the valid rows, over the maximum, large files
through a task with progress."""

import pytest

from notifications.models import Event
from seats.models import Invitation, UserSubscription
from seats.services.csv_import import (
    CsvNotClean,
    csv_import_progress,
    csv_invitations_check,
    csv_invitations_import,
    csv_invitations_import_start,
)
from tests.seats.factories import NOW, SeatAccountFactory, UserFactory

pytestmark = pytest.mark.django_db

HEADER = "email,first_name,last_name,language\n"


def _csv(*lines: str, header: str = HEADER) -> bytes:
    return (header + "".join(line + "\n" for line in lines)).encode()


def _nothing_created():
    return Invitation.objects.count() == 0 and Event.objects.count() == 0


def test_a_clean_file_is_imported():
    account = SeatAccountFactory()
    data = _csv("rita@example.com,Rita,Berg,de", "OTTO@example.com,Otto,,")

    count = csv_invitations_import(account=account, file=data, actor=None, now=NOW)

    assert count == 2
    invitations = {i.email: i for i in Invitation.objects.all()}
    assert set(invitations) == {"rita@example.com", "otto@example.com"}
    assert (
        invitations["rita@example.com"].first_name,
        invitations["rita@example.com"].language,
    ) == (
        "Rita",
        "de",
    )
    assert invitations["otto@example.com"].language == "en"


def test_bom_and_semicolons_and_german_headers_are_read():
    account = SeatAccountFactory()
    data = "\ufeffE-Mail;Vorname;Nachname;Sprache\r\nrita@example.com;Rita;Berg;Deutsch\r\n"

    result = csv_invitations_check(account=account, file=data.encode("utf-8"), now=NOW)

    assert result.errors == []
    row = result.rows[0]
    assert (row.line, row.email, row.first_name, row.last_name, row.language) == (
        2,
        "rita@example.com",
        "Rita",
        "Berg",
        "de",
    )


def test_commas_inside_quotes_stay_in_the_field():
    account = SeatAccountFactory()

    result = csv_invitations_check(
        account=account, file=_csv('rita@example.com,"Rita, Dr.",Berg,en'), now=NOW
    )

    assert result.rows[0].first_name == "Rita, Dr."


def test_every_row_error_is_reported_with_its_line_number_and_nothing_is_imported():
    account = SeatAccountFactory(maximum_users=10)
    main = account.subscription.customer.main_user
    member = UserFactory(email="member@example.com")
    UserSubscription.objects.create(
        seat_account=account,
        user=member,
        product=account.subscription.offer.product,
        started_at=NOW,
    )
    csv_invitations_import(
        account=account, file=_csv("invited@example.com,,,"), actor=None, now=NOW
    )
    invitations_before, events_before = Invitation.objects.count(), Event.objects.count()
    data = _csv(
        "good@example.com,Good,Row,en",  # line 2
        "not-an-address,,,",  # line 3
        "good@example.com,Again,,",  # line 4: duplicate of line 2
        "member@example.com,,,",  # line 5: already a user
        "invited@example.com,,,",  # line 6: pending invitation
        "klingon@example.com,,,tlh",  # line 7: unknown language
        f"{main.email},,,",  # line 8: the main user
        "",  # line 9: blank, skipped
        "last@example.com,,,de",  # line 10
    )

    result = csv_invitations_check(account=account, file=data, now=NOW)

    assert [(line, field) for line, field, _message in result.errors] == [
        (3, "email"),
        (4, "email"),
        (5, "email"),
        (6, "email"),
        (7, "language"),
        (8, "email"),
    ]
    assert "more than once" in result.errors[1][2]
    assert "tlh" in result.errors[4][2]
    assert [row.line for row in result.rows] == [2, 10]
    assert (result.valid_count, result.total) == (2, 8)
    with pytest.raises(CsvNotClean) as error:
        csv_invitations_import(account=account, file=data, actor=None, now=NOW)
    assert len(error.value.result.errors) == 6
    assert (Invitation.objects.count(), Event.objects.count()) == (
        invitations_before,
        events_before,
    )


def test_only_valid_imports_just_the_valid_rows_when_chosen():
    account = SeatAccountFactory()
    data = _csv("good@example.com,,,", "bad,,,", "fine@example.com,,,")

    count = csv_invitations_import(account=account, file=data, actor=None, only_valid=True, now=NOW)

    assert count == 2
    assert set(Invitation.objects.values_list("email", flat=True)) == {
        "good@example.com",
        "fine@example.com",
    }


def test_rows_over_the_maximum_are_errors_with_their_line_numbers():
    account = SeatAccountFactory(maximum_users=2)
    data = _csv(*(f"user{n}@example.com,,," for n in range(4)))

    result = csv_invitations_check(account=account, file=data, now=NOW)

    assert [(line, field) for line, field, _m in result.errors] == [(4, "email"), (5, "email")]
    assert "2 free" in result.errors[0][2]
    with pytest.raises(CsvNotClean):
        csv_invitations_import(account=account, file=data, actor=None, now=NOW)
    assert _nothing_created()

    assert (
        csv_invitations_import(account=account, file=data, actor=None, only_valid=True, now=NOW)
        == 2
    )
    assert sorted(Invitation.objects.values_list("email", flat=True)) == [
        "user0@example.com",
        "user1@example.com",
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"name,city\nRita,Berlin\n", "email"),
        (HEADER.encode(), "no rows"),
        ("email\nrita@exämple.com\n".encode("latin-1"), "UTF-8"),
    ],
)
def test_unreadable_files_give_one_file_error(data, message):
    account = SeatAccountFactory()

    result = csv_invitations_check(account=account, file=data, now=NOW)

    assert [(line, field) for line, field, _m in result.errors] == [(0, "file")]
    assert message in result.errors[0][2]
    with pytest.raises(CsvNotClean):
        csv_invitations_import(account=account, file=data, actor=None, only_valid=True, now=NOW)
    assert _nothing_created()


def test_a_small_upload_is_imported_at_once_with_its_progress_done():
    account = SeatAccountFactory()

    upload = csv_invitations_import_start(
        account=account, file=_csv("rita@example.com,,,"), actor=None
    )

    assert (upload.queued, upload.imported) == (False, 1)
    assert csv_import_progress(upload.upload_id) == {
        "state": "done",
        "processed": 1,
        "total": 1,
        "error": "",
    }


def test_a_large_upload_runs_as_a_task_with_progress(django_capture_on_commit_callbacks):
    account = SeatAccountFactory(maximum_users=None)
    actor = account.subscription.customer.main_user
    data = _csv(*(f"user{n:05d}@example.com,First{n},Last,de" for n in range(10_000)))

    with django_capture_on_commit_callbacks() as callbacks:
        upload = csv_invitations_import_start(account=account, file=data, actor=actor)
    assert upload.queued is True
    assert len(callbacks) == 1
    assert csv_import_progress(upload.upload_id)["state"] == "queued"
    assert Invitation.objects.count() == 0
    callbacks[0]()  # the queued task, run inline (Conf.SYNC); its own mails stay queued

    assert Invitation.objects.filter(seat_account=account).count() == 10_000
    assert Invitation.objects.filter(invited_by=actor, language="de").count() == 10_000
    assert csv_import_progress(upload.upload_id) == {
        "state": "done",
        "processed": 10_000,
        "total": 10_000,
        "error": "",
    }


def test_a_dirty_upload_is_refused_before_anything_is_queued(django_capture_on_commit_callbacks):
    account = SeatAccountFactory(maximum_users=None)
    data = _csv(*(f"user{n}@example.com,,," for n in range(600)), "broken,,,")

    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(CsvNotClean):
        csv_invitations_import_start(account=account, file=data, actor=None)

    assert callbacks == []
    assert _nothing_created()
