"""Bank statement import: lines matched to open invoices by number and amount, part
payments, a review list for the rest, and refusals that store nothing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from billing.exceptions import InvoiceError
from billing.models import BankStatement, BankStatementLine, Invoice, Payment
from billing.services.bank_statements import (
    StatementRefused,
    bank_line_assign,
    bank_line_ignore,
    bank_statement_import,
)
from notifications.events import EventType
from notifications.models import Event
from tests.billing.invoicing import issue_invoice, make_customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def invoices():
    """Three open invoices of 1,234.50 each: 2027-000001 … 2027-000003."""
    return [issue_invoice(make_customer(name=f"Customer {n}")) for n in range(3)]


def csv_bytes(*rows: str, header: str = "date,amount,reference,payer") -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def statuses(statement: BankStatement) -> list[tuple[int, str, str | None]]:
    return [
        (line.row, line.status, line.invoice.number if line.invoice else None)
        for line in statement.lines.select_related("invoice")
    ]


def test_a_matching_a_partial_and_an_unknown_line(invoices):
    first, second, _third = invoices
    content = csv_bytes(
        "2027-04-03,1234.50,Invoice 2027-000001,Universität Musterstadt",
        "2027-04-04,500.00,RE 2027-000002 Teilzahlung,Customer 1",
        "2027-04-05,99.00,Membership fee,Somebody",
    )

    statement = bank_statement_import(content=content, filename="april.csv")

    assert statuses(statement) == [
        (2, "matched", "2027-000001"),
        (3, "partial", "2027-000002"),
        (4, "review", None),
    ]
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.amount_paid) == (Invoice.Status.PAID, Decimal("1234.50"))
    assert (second.status, second.amount_paid, second.amount_due) == (
        Invoice.Status.OPEN,
        Decimal("500.00"),
        Decimal("734.50"),
    )
    payment = Payment.objects.get(invoice=first)
    assert (payment.method, payment.source, payment.payer) == (
        "bank_transfer",
        "bank_statement",
        "Universität Musterstadt",
    )
    assert Payment.objects.count() == 2
    assert statement.lines.get(row=4).note == "No open invoice's number in the reference."
    assert list(Event.objects.filter(type=EventType.INVOICE_PAID).values_list("subject_id")) == [
        (str(first.public_id),)
    ]


def test_german_bank_export_with_semicolons_decimal_commas_and_cp1252(invoices):
    content = (
        "Buchungstag;Betrag;Verwendungszweck;Auftraggeber\n"
        "03.04.2027;1.234,50;Rechnung 2027-000003;Müller GmbH\n"
        "04.04.2027;-20,00;Kontoführung;Bank\n"
    ).encode("cp1252")

    statement = bank_statement_import(content=content, filename="umsaetze.csv")

    assert statuses(statement) == [(2, "matched", "2027-000003"), (3, "ignored", None)]
    line = statement.lines.get(row=2)
    assert (line.booked_on, line.amount, line.payer) == (
        date(2027, 4, 3),
        Decimal("1234.50"),
        "Müller GmbH",
    )


def test_more_than_due_and_a_paid_invoice_wait_for_review(invoices):
    content = csv_bytes(
        "2027-04-03,1234.50,2027-000001,A",
        "2027-04-04,1234.50,2027-000001 again,A",
        "2027-04-05,2000.00,2027-000002,B",
    )

    statement = bank_statement_import(content=content, filename="s.csv")

    assert statuses(statement) == [
        (2, "matched", "2027-000001"),
        (3, "review", "2027-000001"),
        (4, "review", "2027-000002"),
    ]
    assert statement.lines.get(row=3).note == "Invoice 2027-000001 is not open."
    assert statement.lines.get(row=4).note == "2000.00 is more than the 1234.50 due."
    assert Invoice.objects.get(number="2027-000002").amount_paid == 0


def test_importing_the_same_bookings_again_pays_nothing_twice(invoices):
    content = csv_bytes("2027-04-04,500.00,2027-000002,B")
    bank_statement_import(content=content, filename="week1.csv")

    again = bank_statement_import(
        content=csv_bytes("2027-04-04,500.00,2027-000002,B", "2027-04-06,734.50,2027-000002,B"),
        filename="month.csv",
    )

    assert statuses(again) == [(2, "duplicate", None), (3, "matched", "2027-000002")]
    assert Invoice.objects.get(number="2027-000002").status == Invoice.Status.PAID
    assert Payment.objects.count() == 2


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (csv_bytes("03/04/27,12.00,2027-000001,A"), 'Row 2: "03/04/27" is not a date'),
        (csv_bytes("2027-04-03,12.3x,2027-000001,A"), 'Row 2: "12.3x" is not an amount.'),
        (csv_bytes("2027-04-03,12.345,2027-000001,A"), 'Row 2: "12.345" is not an amount.'),
        (csv_bytes("2027-04-03,1,x", header="date,sum,reference"), "missing: amount"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a CSV text file"),
        (csv_bytes(), "no bookings"),
    ],
)
def test_a_bad_file_is_refused_whole_and_stores_nothing(invoices, content, message):
    with pytest.raises(StatementRefused, match=message):
        bank_statement_import(content=content, filename="x")

    assert not BankStatement.objects.exists()
    assert not Payment.objects.exists()
    assert not Event.objects.filter(type=EventType.INVOICE_PAID).exists()


def test_every_bad_row_is_named_and_the_good_ones_are_not_paid_either(invoices):
    content = csv_bytes(
        "2027-13-01,1,a,b", "2027-04-03,1234.50,2027-000001,b", "2027-04-03,zwölf,a,b"
    )

    with pytest.raises(StatementRefused) as refused:
        bank_statement_import(content=content, filename="x")

    assert refused.value.errors == [
        'Row 2: "2027-13-01" is not a date (use 2027-04-03 or 03.04.2027).',
        'Row 4: "zwölf" is not an amount.',
    ]
    assert not BankStatement.objects.exists()
    assert Invoice.objects.get(number="2027-000001").status == Invoice.Status.OPEN


def test_staff_assign_or_ignore_lines_under_review(invoices, staff_user):
    statement = bank_statement_import(
        content=csv_bytes("2027-04-05,1234.50,Uni Musterstadt April,X", "2027-04-06,5.00,?,Y"),
        filename="s.csv",
    )
    unknown, stray = statement.lines.order_by("row")

    with pytest.raises(InvoiceError, match="There is no invoice 2099-000001"):
        bank_line_assign(line=unknown, invoice_number="2099-000001", actor=staff_user)
    assigned = bank_line_assign(line=unknown, invoice_number=" 2027-000003 ", actor=staff_user)
    ignored = bank_line_ignore(line=stray, note="Refund requested", actor=staff_user)

    assert (assigned.status, assigned.invoice.number) == ("assigned", "2027-000003")
    assert Invoice.objects.get(number="2027-000003").status == Invoice.Status.PAID
    assert assigned.payment.recorded_by == staff_user
    assert (ignored.status, ignored.note) == ("ignored", "Refund requested")
    with pytest.raises(InvoiceError, match="Only a line under review"):
        bank_line_assign(line=assigned, invoice_number="2027-000001")
    assert BankStatementLine.objects.filter(status="review").count() == 0
