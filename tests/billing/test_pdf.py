"""Invoice PDFs: rendered in the invoice's language with its locale's formats, stored once
at issue (the task), and every download returns the stored bytes.

Each render is also saved under test-artifacts/invoices/ (PDF and a PNG of page 1) to look at."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import IntegrityError, transaction

from billing.models import Invoice
from billing.pdf import invoice_pdf_bytes, invoice_pdf_store, pdf_save_once, render_invoice_pdf
from billing.services.invoices import credit_note_issue
from billing.services.payments import invoice_mark_paid
from billing.tasks import render_pdf
from tests.billing.invoicing import (
    BERLIN,
    issue_invoice,
    make_customer,
    pdf_text,
    save_for_review,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def test_english_invoice_shows_number_period_lines_and_totals_in_english_formats():
    invoice = issue_invoice(make_customer(language="en"))

    content = render_invoice_pdf(invoice)
    save_for_review("invoice-en", content)
    text = pdf_text(content)

    assert content.startswith(b"%PDF")
    assert invoice.number in text
    assert "Invoice " + invoice.number in text
    assert "Jan. 1, 2027 to March 31, 2027" in text  # period_end is exclusive
    assert "Issue date" in text
    assert "April 1, 2027" in text
    assert "Due date" in text
    assert "April 15, 2027" in text
    assert "€1,000.00" in text
    assert "€41.59" in text
    assert "€1,041.59" in text  # net
    assert "€192.91" in text  # VAT
    assert "€1,234.50" in text  # gross
    assert "19%" in text
    assert "7%" in text
    assert "Users active at any time in the period" in text
    assert "Kontor GmbH" in text
    assert "DE123456789" in text
    assert "Universität Musterstadt" in text
    assert "DE987654321" in text
    assert "DE89370400440532013000" in text  # IBAN for the transfer
    assert "Steuerschuldnerschaft" not in text


def test_german_invoice_uses_german_number_and_date_formats():
    invoice = issue_invoice(make_customer(language="de"))

    content = render_invoice_pdf(invoice)
    save_for_review("invoice-de", content)
    text = pdf_text(content)

    assert invoice.number in text
    assert "1.234,50 €" in text
    assert "1.041,59 €" in text
    assert "192,91 €" in text
    assert "€1,234.50" not in text
    assert "1. Januar 2027" in text
    assert "31. März 2027" in text
    assert "19 %" in text


def test_reverse_charge_invoice_prints_the_note_and_no_vat():
    customer = make_customer(language="en", country="AT")  # EU company, other country

    invoice = issue_invoice(customer)
    content = render_invoice_pdf(invoice)
    save_for_review("invoice-reverse-charge-en", content)
    text = pdf_text(content)

    assert invoice.reverse_charge is True
    assert "Steuerschuldnerschaft des Leistungsempfängers" in text
    assert "Reverse charge: VAT to be accounted for by the recipient" in text
    assert "ATU12345678" in text
    assert "€1,041.59" in text  # gross = net
    assert "€1,234.50" not in text


def test_german_reverse_charge_invoice_prints_the_statutory_wording():
    invoice = issue_invoice(make_customer(language="de", country="AT"))

    text = pdf_text(render_invoice_pdf(invoice))

    assert "Steuerschuldnerschaft des Leistungsempfängers" in text
    assert "1.041,59 €" in text


def test_credit_note_names_the_invoice_it_corrects(staff_user):
    invoice = issue_invoice(make_customer(language="en"))
    credit_note = credit_note_issue(
        invoice=invoice,
        reason="Wrong user count",
        actor=staff_user,
        now=datetime(2027, 4, 10, 9, 0, tzinfo=BERLIN),
    )

    content = render_invoice_pdf(credit_note)
    save_for_review("credit-note-en", content)
    text = pdf_text(content)

    assert credit_note.number.startswith("CN-")
    assert "Credit note " + credit_note.number in text
    assert "Corrects invoice" in text
    assert invoice.number in text
    assert "-€1,234.50" in text
    assert "IBAN DE89370400440532013000" in text  # only in the footer: nothing to transfer
    assert "Please transfer" not in text


def test_paid_invoice_says_already_paid_instead_of_asking_for_a_transfer():
    invoice = issue_invoice(make_customer(language="en"))
    invoice_mark_paid(invoice=invoice, now=datetime(2027, 4, 3, 12, 0, tzinfo=BERLIN))
    invoice.refresh_from_db()

    text = pdf_text(render_invoice_pdf(invoice))

    assert "Already paid on April 3, 2027" in text
    assert "Please transfer" not in text


def test_drafts_have_no_pdf():
    invoice = issue_invoice(make_customer())
    draft = Invoice.objects.get(pk=invoice.pk)
    draft.status, draft.number = Invoice.Status.DRAFT, None

    with pytest.raises(ValueError, match="issued"):
        render_invoice_pdf(draft)


def test_issuing_stores_the_pdf_through_the_task(django_capture_on_commit_callbacks):
    customer = make_customer()
    with django_capture_on_commit_callbacks(execute=True):
        invoice = issue_invoice(customer)

    invoice.refresh_from_db()
    assert invoice.pdf.name.endswith(f"/{invoice.number}.pdf")
    assert invoice.pdf.read().startswith(b"%PDF")


def test_stored_once_a_second_run_and_downloads_return_the_same_bytes():
    invoice = issue_invoice(make_customer())

    invoice_pdf_store(invoice_id=invoice.pk)
    invoice.refresh_from_db()
    name, path = invoice.pdf.name, Path(invoice.pdf.path)
    first, mtime = path.read_bytes(), path.stat().st_mtime_ns

    render_pdf(invoice.pk)  # the task again: nothing happens
    invoice_pdf_store(invoice_id=invoice.pk)
    invoice.refresh_from_db()

    assert invoice.pdf.name == name
    assert invoice_pdf_bytes(invoice=invoice) == first
    assert invoice_pdf_bytes(invoice=Invoice.objects.get(pk=invoice.pk)) == first
    assert path.stat().st_mtime_ns == mtime
    assert [p.name for p in path.parent.iterdir()] == [f"{invoice.number}.pdf"]


def test_download_before_the_task_ran_stores_it_and_then_keeps_it():
    invoice = issue_invoice(make_customer())
    assert not invoice.pdf

    first = invoice_pdf_bytes(invoice=invoice)
    again = invoice_pdf_bytes(invoice=Invoice.objects.get(pk=invoice.pk))

    assert first.startswith(b"%PDF")
    assert again == first
    assert Invoice.objects.get(pk=invoice.pk).pdf.name.endswith(f"/{invoice.number}.pdf")


def test_a_worker_that_lost_the_race_deletes_its_file_and_keeps_the_stored_one():
    """Two workers loaded the row before either stored: the second one's conditional
    update finds `pdf` set and changes nothing."""
    invoice = issue_invoice(make_customer())
    late = Invoice.objects.get(pk=invoice.pk)  # loaded while pdf was still empty
    invoice_pdf_store(invoice_id=invoice.pk)
    stored = Invoice.objects.get(pk=invoice.pk).pdf
    first = stored.read()

    assert pdf_save_once(invoice=late, content=b"%PDF-other") is False

    invoice.refresh_from_db()
    assert invoice.pdf.name == stored.name
    assert invoice_pdf_bytes(invoice=invoice) == first
    assert [p.name for p in Path(invoice.pdf.path).parent.iterdir()] == [f"{invoice.number}.pdf"]


def test_a_missing_invoice_id_is_skipped():
    invoice_pdf_store(invoice_id=987654321)


def test_the_database_refuses_replacing_a_stored_pdf():
    invoice = issue_invoice(make_customer())
    invoice_pdf_store(invoice_id=invoice.pk)

    with pytest.raises(IntegrityError), transaction.atomic():
        Invoice.objects.filter(pk=invoice.pk).update(pdf="invoices/other.pdf")


def test_unit_prices_keep_their_decimals_and_quantities_drop_trailing_zeros():
    from billing.services.invoices import LineDraft

    lines = [
        LineDraft(
            kind="usage",
            description="Per user",
            quantity=Decimal("2.500"),
            unit_price=Decimal("0.4950"),
            tax_rate=Decimal("19.00"),
        )
    ]
    text = pdf_text(render_invoice_pdf(issue_invoice(make_customer(language="de"), lines=lines)))

    assert "2,5 " in text
    assert "0,495 €" in text
    assert "1,24 €" in text  # 2.5 x 0.495 = 1.2375 -> 1.24


def test_an_invoice_paid_by_card_says_it_is_collected_instead_of_asking_for_a_transfer():
    from tests.subscriptions.factories import SubscriptionFactory
    from tests.subscriptions.test_portal_pages import make_payment_method

    customer = make_customer(language="en")
    card = make_payment_method(customer)
    subscription = SubscriptionFactory(customer=customer, payment_method=card)

    text = pdf_text(render_invoice_pdf(issue_invoice(customer, subscription=subscription)))

    assert "We collect €1,234.50 from your payment method Visa •••• 4242" in text
    assert "Please transfer" not in text
