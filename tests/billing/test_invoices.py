"""Invoices and credit notes (issue 7 item 4): line arithmetic, gap-free numbers even
when issued concurrently or rolled back, reverse charge, credit notes, payment, and a
database that refuses changes to issued invoices."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from billing.models import Invoice, InvoiceLine, NumberSeries
from billing.services.invoices import (
    InvoiceDraft,
    InvoiceError,
    LineDraft,
    credit_note_issue,
    invoice_create,
    invoice_issue,
    line_amounts,
)
from billing.services.payments import invoice_mark_paid
from notifications.events import EventType
from notifications.models import Event
from tests.concurrency import race
from tests.subscriptions.factories import CustomerFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
D = Decimal


def _line(net=None, *, quantity="1", unit_price="10.00", rate="19.00", kind="subscription"):
    return LineDraft(
        kind=kind,
        description=f"{kind} line",
        quantity=D(quantity),
        unit_price=D(unit_price),
        tax_rate=D(rate),
        net=None if net is None else D(net),
    )


def _draft(customer=None, lines=None) -> Invoice:
    draft = InvoiceDraft(
        customer=customer or CustomerFactory(),
        currency="EUR",
        lines=lines or [_line()],
    )
    return invoice_create(draft=draft)


def _issued(customer=None, lines=None) -> Invoice:
    return invoice_issue(invoice=_draft(customer, lines), now=NOW)


# --- arithmetic ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("quantity", "unit_price", "rate", "net", "tax", "gross"),
    [
        ("3", "0.335", "19", "1.01", "0.19", "1.20"),  # 1.005 -> 1.01 (half up, once)
        ("1", "10.00", "19", "10.00", "1.90", "11.90"),
        ("1", "0.05", "19", "0.05", "0.01", "0.06"),  # 0.0095 -> 0.01
        ("7", "2.50", "7", "17.50", "1.23", "18.73"),  # 1.225 -> 1.23
        ("12", "2.00", "0", "24.00", "0.00", "24.00"),
    ],
)
def test_a_line_is_rounded_once_half_up(quantity, unit_price, rate, net, tax, gross):
    amounts = line_amounts(
        quantity=D(quantity), unit_price=D(unit_price), tax_rate=D(rate), currency="EUR"
    )
    assert (amounts.net, amounts.tax, amounts.gross) == (D(net), D(tax), D(gross))


def test_totals_are_the_sums_of_the_rounded_lines():
    invoice = _draft(
        lines=[
            _line(quantity="3", unit_price="0.335"),
            _line(quantity="7", unit_price="2.50", rate="7.00"),
            _line("-2.00", kind="discount", unit_price="-2.00"),
        ]
    )
    lines = list(invoice.lines.order_by("position"))
    assert [line.net_amount for line in lines] == [D("1.01"), D("17.50"), D("-2.00")]
    assert invoice.net_amount == sum(line.net_amount for line in lines) == D("16.51")
    assert invoice.tax_amount == sum(line.tax_amount for line in lines) == D("1.04")
    assert invoice.gross_amount == D("17.55")


# --- numbers ---------------------------------------------------------------------------


def test_issuing_numbers_invoices_in_order_and_credit_notes_in_their_own_series():
    first, second = _issued(), _issued()
    credit = credit_note_issue(invoice=first, reason="Wrong user count", now=NOW)

    assert (first.number, second.number) == ("2027-000001", "2027-000002")
    assert credit.number == "CN-2027-000001"
    assert first.status == Invoice.Status.OPEN
    assert first.due_at == datetime(2027, 3, 15, 9, 0, tzinfo=UTC)  # 14 days


def test_a_rolled_back_issue_leaves_no_gap():
    _issued()
    draft = _draft()

    def issue_then_fail():
        with transaction.atomic():
            invoice_issue(invoice=draft, now=NOW)
            raise RuntimeError("the caller failed after issuing")

    with pytest.raises(RuntimeError):
        issue_then_fail()

    assert invoice_issue(invoice=draft, now=NOW).number == "2027-000002"
    assert NumberSeries.objects.get(key="invoice-2027").last_number == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_issuing_gives_each_invoice_its_own_number_without_gaps():
    drafts = [_draft() for _ in range(12)]

    outcomes = race(
        [lambda draft=draft: invoice_issue(invoice=draft, now=NOW) for draft in drafts],
        lambda error: None,
    )

    assert outcomes == ["ok"] * 12
    numbers = sorted(Invoice.objects.values_list("number", flat=True))
    assert numbers == [f"2027-{n:06d}" for n in range(1, 13)]


def test_issuing_twice_is_refused():
    invoice = _issued()
    with pytest.raises(InvoiceError, match="issued already"):
        invoice_issue(invoice=invoice, now=NOW)


def test_the_issued_event_carries_the_mail_with_the_link():
    invoice = _issued(CustomerFactory(email="finance@acme.example", language="de"))

    event = Event.objects.get(type=EventType.INVOICE_ISSUED)
    assert event.payload["number"] == invoice.number
    assert event.payload["gross"] == "11.90"
    (mail,) = event.mails
    assert mail["to"] == "finance@acme.example"
    assert mail["language"] == "de"
    assert mail["context"]["total"] == "11,90\xa0€"
    assert mail["context"]["invoice_url"].endswith(f"/billing/invoices/{invoice.public_id}/pdf/")


# --- tax -------------------------------------------------------------------------------


def test_an_eu_business_customer_abroad_gets_reverse_charge():
    austrian = CustomerFactory(company=True, country="AT", vat_id="ATU12345678")

    invoice = _issued(austrian)

    assert invoice.reverse_charge is True
    assert invoice.lines.get().tax_rate == D("0.00")
    assert (invoice.tax_amount, invoice.gross_amount) == (D("0.00"), D("10.00"))


@pytest.mark.parametrize(
    ("fields", "rate"),
    [
        ({"company": True, "country": "DE", "vat_id": "DE999999999"}, D("19.00")),
        ({"country": "AT"}, D("19.00")),  # a person: no reverse charge
        ({"company": True, "country": "AT", "vat_id": ""}, D("19.00")),
    ],
)
def test_no_reverse_charge_at_home_for_people_or_without_a_vat_id(fields, rate):
    invoice = _issued(CustomerFactory(**fields))
    assert not invoice.reverse_charge
    assert invoice.lines.get().tax_rate == rate


# --- the database refuses changes to issued invoices ----------------------------------


def _refused(write) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        write()


def test_an_issued_invoice_cannot_be_changed_deleted_or_given_lines():
    invoice = _issued()
    line = invoice.lines.get()

    _refused(lambda: Invoice.objects.filter(pk=invoice.pk).update(net_amount=D("1.00")))
    _refused(lambda: Invoice.objects.filter(pk=invoice.pk).update(customer_name="Someone"))
    _refused(lambda: Invoice.objects.filter(pk=invoice.pk).update(status="draft"))
    _refused(lambda: Invoice.objects.filter(pk=invoice.pk).delete())
    _refused(lambda: InvoiceLine.objects.filter(pk=line.pk).update(description="changed"))
    _refused(lambda: InvoiceLine.objects.filter(pk=line.pk).delete())
    _refused(
        lambda: InvoiceLine.objects.create(
            invoice=invoice,
            position=2,
            kind="credit",
            description="sneaked in",
            quantity=1,
            unit_price=1,
            net_amount=1,
            tax_rate=0,
            tax_amount=0,
            gross_amount=1,
        )
    )
    invoice.refresh_from_db()
    assert (invoice.net_amount, invoice.lines.count()) == (D("10.00"), 1)


def test_payment_state_and_the_pdf_may_still_be_written_once():
    invoice = _issued()

    Invoice.objects.filter(pk=invoice.pk).update(pdf="invoices/2027/03/2027-000001.pdf")
    _refused(lambda: Invoice.objects.filter(pk=invoice.pk).update(pdf="invoices/other.pdf"))
    invoice_mark_paid(invoice=invoice, now=NOW)

    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    assert invoice.pdf.name == "invoices/2027/03/2027-000001.pdf"


def test_a_draft_can_still_be_changed():
    draft = _draft()
    Invoice.objects.filter(pk=draft.pk).update(customer_name="Corrected GmbH")
    InvoiceLine.objects.filter(invoice=draft).update(description="corrected")
    draft.delete()
    assert not Invoice.objects.exists()


def test_one_invoice_per_subscription_and_period():
    from tests.subscriptions.factories import SubscriptionFactory

    subscription = SubscriptionFactory()
    values = {
        "customer": subscription.customer,
        "currency": "EUR",
        "lines": [_line()],
        "subscription": subscription,
        "period_start": NOW,
    }
    invoice_create(draft=InvoiceDraft(**values))

    with pytest.raises(IntegrityError), transaction.atomic():
        invoice_create(draft=InvoiceDraft(**values))


# --- credit notes and payments -------------------------------------------------------


def test_a_credit_note_negates_every_line_and_voids_the_invoice():
    invoice = _issued(lines=[_line(), _line(quantity="2", unit_price="3.50", rate="7.00")])

    credit = credit_note_issue(invoice=invoice, reason="Cancelled by mistake", now=NOW)

    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.VOID
    assert credit.credited_invoice == invoice
    assert (credit.net_amount, credit.tax_amount, credit.gross_amount) == (
        -invoice.net_amount,
        -invoice.tax_amount,
        -invoice.gross_amount,
    )
    assert [line.kind for line in credit.lines.all()] == ["credit", "credit"]
    assert credit.note == "Cancelled by mistake"
    event = Event.objects.get(type=EventType.CREDIT_NOTE_ISSUED)
    assert event.payload["credited_invoice"] == str(invoice.public_id)
    assert event.mails == []


@pytest.mark.parametrize("case", ["twice", "draft", "no reason", "credit note"])
def test_credit_note_refusals_write_nothing(case):
    invoice = _issued()
    if case == "twice":
        credit_note_issue(invoice=invoice, reason="first", now=NOW)
    target = {
        "draft": lambda: _draft(),
        "credit note": lambda: Invoice.objects.get(kind="credit_note"),
    }.get(case, lambda: invoice)
    if case == "credit note":
        credit_note_issue(invoice=invoice, reason="first", now=NOW)
    target = target()
    before = (Invoice.objects.count(), InvoiceLine.objects.count(), Event.objects.count())

    with pytest.raises(InvoiceError):
        credit_note_issue(invoice=target, reason="" if case == "no reason" else "again", now=NOW)

    assert (Invoice.objects.count(), InvoiceLine.objects.count(), Event.objects.count()) == before


def test_partial_then_full_payment_marks_the_invoice_paid_once():
    invoice = _issued()

    invoice_mark_paid(invoice=invoice, amount=D("5.00"), now=NOW)
    assert Invoice.objects.get(pk=invoice.pk).status == Invoice.Status.OPEN
    paid = invoice_mark_paid(invoice=invoice, now=NOW)

    assert (paid.status, paid.amount_paid, paid.paid_at) == (Invoice.Status.PAID, D("11.90"), NOW)
    assert Event.objects.filter(type=EventType.INVOICE_PAID).count() == 1


@pytest.mark.parametrize("amount", ["0.00", "-1.00", "11.91"])
def test_a_payment_outside_what_is_due_is_refused(amount):
    invoice = _issued()
    with pytest.raises(InvoiceError, match=r"between 0\.01 and 11\.90"):
        invoice_mark_paid(invoice=invoice, amount=D(amount), now=NOW)
    assert Invoice.objects.get(pk=invoice.pk).amount_paid == D("0.00")


def test_a_free_invoice_is_paid_at_issue():
    invoice = _issued(lines=[_line(unit_price="0.00")])
    assert (invoice.status, invoice.paid_at) == (Invoice.Status.PAID, NOW)


def test_the_credit_notes_reason_is_printed_on_it(settings, tmp_path):
    from billing.pdf import render_invoice_pdf
    from tests.billing.invoicing import pdf_text

    settings.MEDIA_ROOT = tmp_path
    credit = credit_note_issue(invoice=_issued(), reason="Wrong user count", now=NOW)

    text = pdf_text(render_invoice_pdf(credit))

    assert "Reason: Wrong user count" in text


def test_open_invoices_past_their_due_date_become_overdue_and_can_still_be_paid():
    from datetime import timedelta

    from billing.services.invoices import invoices_mark_overdue

    late, paid = _issued(), _issued()
    invoice_mark_paid(invoice=paid, now=NOW)
    credit = credit_note_issue(invoice=_issued(), reason="test", now=NOW)

    assert invoices_mark_overdue(now=late.due_at) == 0  # due that moment: not yet late
    assert invoices_mark_overdue(now=late.due_at + timedelta(seconds=1)) == 1
    assert invoices_mark_overdue(now=late.due_at + timedelta(days=1)) == 0  # runs twice

    statuses = dict(Invoice.objects.values_list("pk", "status"))
    assert statuses[late.pk] == Invoice.Status.OVERDUE
    assert statuses[paid.pk] == Invoice.Status.PAID
    assert statuses[credit.pk] == Invoice.Status.OPEN  # credit notes are not "late"
    assert invoice_mark_paid(invoice=late, now=NOW).status == Invoice.Status.PAID
