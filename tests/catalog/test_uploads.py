"""The upload gate (issue 10, point 9): oversized, over-long, binary, mis-encoded files
and XLSX zip bombs are refused with a clear message before any parser sees them, through
every import: the seats' invitation upload, the subscription import and the bank
statement; nothing is changed."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from billing.models import BankStatement
from billing.services.bank_statements import StatementRefused, bank_statement_import
from catalog.uploads import MAX_BYTES, MAX_ROWS, check_spreadsheet, csv_text
from seats.models import Invitation
from subscriptions.models import Customer, Subscription
from tests.factories import OfferFactory
from tests.seats.factories import SeatAccountFactory

HEADER = b"email,first_name,last_name,language\n"


def xlsx(rows: int = 2, bomb: bool = False) -> bytes:
    """A minimal workbook; `bomb`: one part of 150 MB of zeros (a few hundred KB packed)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr(
            "xl/worksheets/sheet1.xml",
            f'<worksheet><dimension ref="A1:D{rows}"/><sheetData/></worksheet>',
        )
        if bomb:
            with archive.open("xl/sharedStrings.xml", "w") as part:
                for _ in range(150):
                    part.write(b"\0" * 2**20)
    return buffer.getvalue()


HOSTILE = [
    ("over 10 MB", "users.csv", HEADER + b"a@example.com,A,B,en\n" * (MAX_BYTES // 21 + 1),
     "larger than 10 MB"),
    ("over 50,000 rows", "users.csv", HEADER + b"a@x.de\n" * (MAX_ROWS + 1),
     "more than 50,000 rows"),
    ("Latin-1 text", "users.csv", "email,first_name\njörg@example.com,Jörg\n".encode("latin-1"),
     "not UTF-8 text"),
    ("UTF-16 text", "users.csv", "email\na@example.com\n".encode("utf-16"),
     "not a CSV text file"),
    ("a PNG named .csv", "users.csv", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "not a CSV text file"),
    ("a PDF named .csv", "users.csv", b"%PDF-1.7\n1 0 obj", "not a CSV text file"),
    ("a zip named .csv", "users.csv", xlsx(), "not a CSV text file"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "name", "data", "message"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_the_gate_refuses_hostile_csv(case, name, data, message):
    with pytest.raises(ValidationError, match=message):
        csv_text(data)


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (lambda: xlsx(bomb=True), "users.xlsx", "unpacks to far more data"),
        (lambda: xlsx(rows=MAX_ROWS + 2), "users.xlsx", "more than 50,000 rows"),
        (lambda: b"PK\x03\x04 not really a zip", "users.xlsx", "not an Excel workbook"),
        (lambda: b"email\na@example.com\n", "users.xlsx", "not an Excel workbook"),
    ],
    ids=["zip bomb", "too many rows", "broken zip", "text named .xlsx"],
)
def test_the_gate_refuses_hostile_workbooks(data, name, message):
    with pytest.raises(ValidationError, match=message):
        check_spreadsheet(data(), name)


def test_the_gate_lets_good_files_through():
    assert csv_text("\ufeffemail\njörg@example.com\n".encode()) == "email\njörg@example.com\n"
    assert csv_text("Betrag\n1,00 €\n".encode("cp1252"), fallback_encoding="cp1252") == (
        "Betrag\n1,00 €\n"
    )
    check_spreadsheet(xlsx(rows=MAX_ROWS), "users.xlsx")  # 49,999 data rows and a header


@pytest.mark.django_db
@pytest.mark.parametrize(("case", "name", "data", "message"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_the_seats_upload_refuses_them_and_invites_nobody(client, case, name, data, message):
    account = SeatAccountFactory(maximum_users=5)
    client.force_login(account.subscription.customer.main_user)

    page = client.post(
        reverse("seats:upload", args=[account.public_id]),
        {"file": SimpleUploadedFile(name, data, content_type="text/csv")},
    )

    assert message in page.content.decode()
    assert "token" not in page.context or not page.context["result"].rows
    assert not Invitation.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("people.xlsx", xlsx(bomb=True), "unpacks to far more data"),
        ("people.csv", b"\x89PNG\r\n\x1a\n\x00\x00", "not a CSV text file"),
        ("people.csv", "email\njörg@example.com\n".encode("latin-1"), "not UTF-8 text"),
    ],
    ids=["zip bomb", "png", "latin-1"],
)
def test_the_subscription_import_refuses_them_and_creates_nothing(
    client, staff_user, name, data, message
):
    offer = OfferFactory()
    client.force_login(staff_user)
    before = (Customer.objects.count(), Subscription.objects.count())

    page = client.post(
        reverse("admin:subscriptions_subscription_import"),
        {"format": "0", "offer": offer.pk, "import_file": SimpleUploadedFile(name, data)},
    )

    assert message in page.content.decode()
    assert "confirm_form" not in page.context
    assert (Customer.objects.count(), Subscription.objects.count()) == before


@pytest.mark.django_db
def test_the_bank_statement_import_refuses_them_and_stores_nothing():
    for _case, _name, data, message in HOSTILE:
        if message == "not UTF-8 text":
            continue  # bank exports may be Windows-1252: read, not refused
        with pytest.raises(StatementRefused, match=message):
            bank_statement_import(content=data, filename="statement.csv")
    assert not BankStatement.objects.exists()
