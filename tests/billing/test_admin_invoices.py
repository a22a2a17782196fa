"""The invoice admin: read-only pages, fixed queries, Mark paid, Issue credit note,
Download PDF, and who may do what."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing.models import Invoice, InvoiceLine
from notifications.models import Event
from subscriptions.roles import CUSTOMER_SUPPORT, FINANCE
from tests.billing.factories import line, make_invoice, staff_member
from tests.subscriptions.factories import CustomerFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def finance(client):
    client.force_login(staff_member(FINANCE, "finance@kontor.example"))
    return client


@pytest.fixture
def support(client):
    client.force_login(staff_member(CUSTOMER_SUPPORT, "support@kontor.example"))
    return client


@pytest.fixture
def invoice() -> Invoice:
    """Issued, open: 2 x 10.00 + 19 % = 23.80 EUR."""
    customer = CustomerFactory(name="Erika Musterfrau", email="erika@example.com")
    return make_invoice(customer=customer, lines=[line("Annual plan", "2", "10.00")])


def url(name: str, invoice: Invoice) -> str:
    return reverse(f"admin:billing_invoice_{name}", args=[invoice.pk])


def changelist_queries(client, query: str = "") -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("admin:billing_invoice_changelist") + query)
    assert response.status_code == 200
    return len(queries)


# --- list and change page ------------------------------------------------------------


def test_invoice_list_shows_the_columns_for_finance(finance, invoice):
    response = finance.get(reverse("admin:billing_invoice_changelist"))

    assert response.status_code == 200
    page = response.content.decode()
    assert invoice.number in page
    assert "Erika Musterfrau" in page
    assert "23.80" in page
    assert reverse("admin:billing_finance_exports") in page
    assert reverse("admin:billing_invoice_export") in page


def test_invoice_list_runs_the_same_queries_for_two_and_twelve_invoices(finance):
    for _ in range(2):
        make_invoice(subscription=SubscriptionFactory())
    two = changelist_queries(finance)
    for _ in range(10):
        make_invoice(subscription=SubscriptionFactory())
    twelve = changelist_queries(finance)

    # session, user, permissions (2), counts (all, filtered), the page, the date
    # hierarchy (2) and the currency filter's values
    assert two == twelve == 11  # 10 + the look whether the second factor is needed now


def test_invoice_list_filters_and_searches(finance, invoice):
    other = make_invoice(customer=CustomerFactory(name="Someone Else"))
    base = reverse("admin:billing_invoice_changelist")

    found = finance.get(base + "?q=erika%40example.com").context["cl"].result_list
    paid = finance.get(base + "?status__exact=paid").context["cl"].result_list
    kind = finance.get(base + "?kind__exact=invoice&currency=EUR").context["cl"].result_list

    assert list(found) == [invoice]
    assert list(paid) == []
    assert set(kind) == {invoice, other}


def test_change_page_is_read_only_with_lines_and_buttons(finance, invoice):
    response = finance.get(url("change", invoice))

    assert response.status_code == 200
    page = response.content.decode()
    assert 'name="_save"' not in page
    assert 'name="customer_name"' not in page
    assert 'name="lines-0-description"' not in page
    assert "Annual plan" in page
    assert url("pay", invoice) in page
    assert url("credit_note", invoice) in page
    assert url("pdf", invoice) in page
    admin_form = response.context["adminform"]
    assert set(admin_form.readonly_fields) >= {"number", "status", "gross_amount", "customer"}


def test_nothing_can_be_added_changed_or_deleted(finance, invoice):
    assert finance.get(reverse("admin:billing_invoice_add")).status_code == 403
    assert finance.get(url("delete", invoice)).status_code == 403
    response = finance.post(url("change", invoice), {"customer_name": "Changed"})
    assert response.status_code == 403
    invoice.refresh_from_db()
    assert invoice.customer_name == "Erika Musterfrau"


def test_credit_note_is_listed_on_its_invoice_and_names_it(finance, invoice):
    finance.post(url("credit_note", invoice), {"reason": "Wrong price"})
    note = Invoice.objects.get(kind=Invoice.Kind.CREDIT_NOTE)

    invoice_page = finance.get(url("change", invoice)).content.decode()
    note_page = finance.get(url("change", note)).content.decode()

    assert note.number in invoice_page
    assert url("change", note) in invoice_page
    assert url("change", invoice) in note_page
    assert url("pay", note) not in note_page  # a credit note is not paid


# --- mark paid -----------------------------------------------------------------------


def test_mark_paid_form_shows_what_is_due(finance, invoice):
    response = finance.get(url("pay", invoice))

    assert response.status_code == 200
    assert "due 23.80 EUR" in response.content.decode()


def test_mark_paid_in_full(finance, invoice):
    response = finance.post(url("pay", invoice), {"amount": ""})

    assert response.status_code == 302
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid) == ("paid", Decimal("23.80"))
    assert invoice.paid_at is not None
    assert Event.objects.filter(type="invoice.paid").count() == 1


def test_mark_paid_in_part(finance, invoice):
    response = finance.post(url("pay", invoice), {"amount": "5.00"})

    assert response.status_code == 302
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid, invoice.paid_at) == (
        "open",
        Decimal("5.00"),
        None,
    )


def test_mark_paid_refuses_more_than_is_due_and_writes_nothing(finance, invoice):
    response = finance.post(url("pay", invoice), {"amount": "30.00"})

    assert response.status_code == 200
    assert "Enter an amount between 0.01 and 23.80." in response.content.decode()
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid) == ("open", Decimal("0.00"))
    assert not Event.objects.filter(type="invoice.paid").exists()


def test_mark_paid_refuses_a_paid_invoice(finance, invoice):
    finance.post(url("pay", invoice), {"amount": ""})

    response = finance.post(url("pay", invoice), {"amount": "1.00"})

    assert "Only an open or overdue invoice can be paid." in response.content.decode()
    invoice.refresh_from_db()
    assert invoice.amount_paid == Decimal("23.80")


def test_mark_paid_needs_a_post(finance, invoice):
    finance.get(url("pay", invoice), {"amount": ""})

    invoice.refresh_from_db()
    assert invoice.status == "open"


# --- credit notes --------------------------------------------------------------------


def test_credit_note_is_refused_without_a_reason_and_nothing_is_written(finance, invoice):
    response = finance.post(url("credit_note", invoice), {"reason": "   "})

    assert response.status_code == 200
    assert response.context["form"].errors == {"reason": ["This field is required."]}
    invoice.refresh_from_db()
    assert invoice.status == "open"
    assert Invoice.objects.count() == 1
    assert not Event.objects.filter(type="credit_note.issued").exists()


def test_credit_note_is_issued_and_the_invoice_voided(finance, invoice):
    response = finance.post(url("credit_note", invoice), {"reason": "Wrong price"})

    note = Invoice.objects.get(kind=Invoice.Kind.CREDIT_NOTE)
    assert response.status_code == 302
    assert response["Location"] == url("change", note)
    invoice.refresh_from_db()
    assert invoice.status == "void"
    assert (note.credited_invoice, note.gross_amount) == (invoice, Decimal("-23.80"))
    assert InvoiceLine.objects.filter(invoice=note).count() == 1


def test_credit_note_is_refused_for_an_invoice_credited_already(finance, invoice):
    finance.post(url("credit_note", invoice), {"reason": "Wrong price"})

    response = finance.post(url("credit_note", invoice), {"reason": "Again"})

    assert response.status_code == 200
    assert "This invoice has been credited already." in response.content.decode()
    assert Invoice.objects.filter(kind=Invoice.Kind.CREDIT_NOTE).count() == 1


# --- PDF -----------------------------------------------------------------------------


def test_pdf_download_returns_the_stored_pdf(finance, invoice):
    response = finance.get(url("pdf", invoice))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert f'filename="{invoice.number}.pdf"' in response["Content-Disposition"]
    assert finance.get(url("pdf", invoice)).content == response.content  # stored once


def test_pdf_of_a_draft_is_not_found(finance):
    draft = make_invoice(issue=False)

    assert finance.get(url("pdf", draft)).status_code == 404


# --- permissions ---------------------------------------------------------------------


def test_customer_support_can_view_but_not_mark_paid_or_credit(support, invoice):
    page = support.get(url("change", invoice))
    listed = support.get(reverse("admin:billing_invoice_changelist"))
    pay = support.post(url("pay", invoice), {"amount": ""})
    credit = support.post(url("credit_note", invoice), {"reason": "Wrong price"})

    assert (page.status_code, listed.status_code) == (200, 200)
    assert url("pay", invoice) not in page.content.decode()
    assert url("credit_note", invoice) not in page.content.decode()
    assert (pay.status_code, credit.status_code) == (403, 403)
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid) == ("open", Decimal("0.00"))
    assert Invoice.objects.count() == 1


def test_customers_and_anonymous_visitors_are_sent_to_the_login(client, invoice):
    response = client.get(url("pay", invoice))

    assert response.status_code == 302
    assert "/login/" in response["Location"]
