"""Every issued invoice is an e-invoice: issuing refuses data that cannot form a valid
EN 16931 invoice, names the missing field, and changes nothing (the invoice stays a
draft, no number is taken, no event recorded, no PDF task queued) — in `invoice_issue`,
in `credit_note_issue` and in the billing run's bulk path. A person (B2C) without a
postal address is still invoiced."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import time_machine

from billing.models import BillingRun, Invoice, NumberSeries
from billing.services.invoices import (
    InvoiceDraft,
    InvoiceError,
    credit_note_issue,
    invoice_create,
    invoice_issue,
)
from billing.services.runs import billing_run_start
from notifications.models import Event
from subscriptions.models import PaymentMethod
from tests.billing.factories import line, make_invoice
from tests.billing.runs_factories import access, berlin, corporate_subscription
from tests.factories import CorporateContractFactory
from tests.seats.factories import UserFactory
from tests.subscriptions.factories import CustomerFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2027, 2, 1, 9, 0, tzinfo=UTC)
NO_ADDRESS = {"address_line1": "", "postal_code": "", "city": ""}
BUSINESS = "The customer's {} is missing (e-invoices to companies and public bodies need it)."


def draft_for(customer, subscription=None) -> Invoice:
    return invoice_create(
        draft=InvoiceDraft(
            customer=customer, currency="EUR", lines=[line()], subscription=subscription
        )
    )


def refused(invoice: Invoice, callbacks_fixture) -> str:
    """Issue, expecting a refusal; returns its message after checking nothing moved."""
    with callbacks_fixture() as callbacks, pytest.raises(InvoiceError) as refusal:
        invoice_issue(invoice=invoice, now=NOW)
    invoice.refresh_from_db()
    assert (invoice.status, invoice.number, invoice.issued_at) == ("draft", None, None)
    assert not NumberSeries.objects.filter(last_number__gt=0).exists()
    assert not Event.objects.exists()
    assert callbacks == []  # no PDF task queued
    return str(refusal.value)


def test_a_company_without_address_cannot_be_issued_and_the_message_names_the_fields(
    django_capture_on_commit_callbacks,
):
    company = CustomerFactory(company=True, **NO_ADDRESS)

    message = refused(draft_for(company), django_capture_on_commit_callbacks)

    assert message == (
        "This cannot be issued as an e-invoice: "
        + BUSINESS.format("address")
        + " "
        + BUSINESS.format("postal code")
        + " "
        + BUSINESS.format("city")
    )


def test_a_company_missing_only_its_city_hears_only_of_the_city(
    django_capture_on_commit_callbacks,
):
    company = CustomerFactory(company=True, city="")

    message = refused(draft_for(company), django_capture_on_commit_callbacks)

    assert message.endswith(
        ": The customer's city is missing (e-invoices to companies and public bodies need it)."
    )


def test_a_person_without_address_is_invoiced_with_name_and_country(
    django_capture_on_commit_callbacks,
):
    person = CustomerFactory(name="Erika Mustermann", **NO_ADDRESS)

    with django_capture_on_commit_callbacks() as callbacks:
        invoice = invoice_issue(invoice=draft_for(person), now=NOW)

    assert (invoice.status, invoice.number) == ("open", "2027-000001")
    assert len(callbacks) == 2  # the event's dispatch and the PDF task


def test_a_company_without_country_cannot_be_issued(django_capture_on_commit_callbacks):
    company = CustomerFactory(company=True, country="")

    message = refused(draft_for(company), django_capture_on_commit_callbacks)

    assert "The customer's country is missing" in message


def test_a_person_without_country_is_taken_to_live_in_the_merchants(settings):
    settings.KONTOR_MERCHANT_COUNTRY = "AT"
    person = CustomerFactory(country="")

    invoice = invoice_issue(invoice=draft_for(person), now=NOW)

    assert (invoice.status, invoice.customer_country) == ("open", "AT")


def test_a_buyer_reference_asks_for_the_full_address_even_of_a_person(
    django_capture_on_commit_callbacks,
):
    person = CustomerFactory(buyer_reference="04011000-1234512345-06", **NO_ADDRESS)

    message = refused(draft_for(person), django_capture_on_commit_callbacks)

    assert "The customer's address is missing" in message


def test_a_direct_debit_without_mandate_reference_is_refused(django_capture_on_commit_callbacks):
    customer = CustomerFactory()
    sepa = PaymentMethod.objects.create(
        customer=customer, kind="sepa_debit", gateway="sandbox", token="tok", label="DE89 •••• 3000"
    )
    subscription = SubscriptionFactory(customer=customer, payment_method=sepa)

    message = refused(draft_for(customer, subscription), django_capture_on_commit_callbacks)

    assert message.endswith(": The SEPA mandate reference of the payment method is missing.")


def test_a_missing_merchant_setting_is_named(settings, django_capture_on_commit_callbacks):
    settings.KONTOR_MERCHANT_STREET = ""

    message = refused(draft_for(CustomerFactory()), django_capture_on_commit_callbacks)

    assert message.endswith(": The merchant's street is missing (setting KONTOR_MERCHANT_STREET).")


def test_a_credit_note_is_refused_as_a_whole_when_it_cannot_be_an_e_invoice(
    django_capture_on_commit_callbacks,
):
    company = CustomerFactory(company=True)
    invoice = make_invoice(customer=company, now=NOW)
    company.city = ""
    company.save(update_fields=["city"])

    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(InvoiceError) as refusal:
        credit_note_issue(invoice=invoice, reason="Wrong price", now=NOW)

    assert "The customer's city is missing" in str(refusal.value)
    invoice.refresh_from_db()
    assert invoice.status == "open"  # not voided
    assert not Invoice.objects.filter(kind="credit_note").exists()
    assert callbacks == []


def test_the_billing_run_reports_the_company_and_invoices_the_others(
    django_capture_on_commit_callbacks,
):
    contract = CorporateContractFactory()
    nowhere = CustomerFactory(company=True, name="Nowhere GmbH", **NO_ADDRESS)
    nowhere.main_user = UserFactory(customer=nowhere)
    nowhere.save(update_fields=["main_user"])
    with time_machine.travel(berlin(2027, 1, 1), tick=False):
        good, good_account = corporate_subscription(
            contracts=[contract], started_at=berlin(2027, 1, 1)
        )
        bad, bad_account = corporate_subscription(
            contracts=[contract],
            started_at=berlin(2027, 1, 1),
            customer=nowhere,
        )
    for account in (good_account, bad_account):
        access(account, UserFactory(), contract.product, berlin(2027, 1, 3))

    with (
        time_machine.travel(berlin(2027, 2, 1, 6), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        run = billing_run_start(run_date=date(2027, 2, 1), trigger="command", inline=True)

    run.refresh_from_db()
    assert run.invoices_created == 1
    assert run.status == BillingRun.Status.FAILED  # done, with errors to look at
    assert run.errors == [
        {
            "subscription": str(bad.public_id),
            "customer": "Nowhere GmbH",
            "message": "This cannot be issued as an e-invoice: "
            + " ".join(BUSINESS.format(field) for field in ("address", "postal code", "city")),
        }
    ]
    assert list(Invoice.objects.values_list("subscription_id", "number")) == [
        (good.pk, "2027-000001")
    ]
    assert Event.objects.filter(type="invoice.issued").count() == 1


def test_control_characters_in_names_and_descriptions_become_spaces_in_the_xml():
    """A vertical tab pasted into a name cannot be written to XML: issuing used to fail
    in the serializer (found by the export fuzz harness). The XML shows a space."""
    from billing.einvoice.cii import invoice_cii_xml

    person = CustomerFactory(name="Erika\x0bMustermann", city="Köln\x1f", vat_id="DE123\x0b456789")
    invoice = invoice_issue(
        invoice=invoice_create(
            draft=InvoiceDraft(customer=person, currency="EUR", lines=[line("Digital\x01edition")])
        ),
        now=NOW,
    )

    xml = invoice_cii_xml(invoice, list(invoice.lines.all())).decode()
    assert invoice.status == "open"
    assert "<ram:Name>Erika Mustermann</ram:Name>" in xml
    assert "<ram:Name>Digital edition</ram:Name>" in xml
    assert "Köln " in xml
    assert ">DE123 456789</ram:ID>" in xml
