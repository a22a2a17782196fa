"""The portal's invoice pages: the main user sees the account's issued invoices (never
drafts), one invoice with its lines and credit notes, and downloads the stored PDF;
another customer, an account's other user and staff get 404, visitors the login page;
the "invoice issued" e-mail's link leads through the login to the PDF."""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import urlsplit

import pytest
from django.urls import reverse

from billing.models import Invoice
from billing.services.invoices import (
    InvoiceDraft,
    credit_note_issue,
    invoice_create,
    invoice_url,
)
from billing.views_portal import INVOICES_PER_PAGE
from subscriptions.models import Customer, User
from tests.billing.invoicing import (
    BERLIN,
    ISSUED_AT,
    example_lines,
    issue_invoice,
    make_customer,
    pdf_text,
)

pytestmark = pytest.mark.django_db

PASSWORD = "pw-invoices-1"
LIST = reverse("billing:invoice_list")


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def with_main_user(customer: Customer, email: str) -> Customer:
    user = User.objects.create_user(email=email, password=PASSWORD, customer=customer)
    customer.main_user = user
    customer.save(update_fields=["main_user"])
    return customer


@pytest.fixture
def anna() -> Customer:
    return with_main_user(make_customer(name="Anna AG", email="billing@anna.example"), "a@x.de")


@pytest.fixture
def ben() -> Customer:
    return with_main_user(make_customer(name="Ben GmbH", email="billing@ben.example"), "b@x.de")


@pytest.fixture
def anna_client(client, anna):
    client.force_login(anna.main_user)
    return client


def make_draft(customer: Customer) -> Invoice:
    return invoice_create(
        draft=InvoiceDraft(customer=customer, currency="EUR", lines=example_lines())
    )


def issue_many(customer: Customer, count: int) -> list[Invoice]:
    return [
        issue_invoice(
            customer,
            period_start=datetime(2027, 1, 1, tzinfo=BERLIN) + timedelta(days=7 * i),
            period_end=datetime(2027, 1, 8, tzinfo=BERLIN) + timedelta(days=7 * i),
            now=ISSUED_AT + timedelta(hours=i),
        )
        for i in range(count)
    ]


# --- the list ------------------------------------------------------------------------


def test_list_shows_the_customers_issued_invoices_newest_first(anna_client, anna, ben):
    older, newer = issue_many(anna, 2)
    draft = make_draft(anna)
    bens = issue_invoice(ben)

    response = anna_client.get(LIST)

    assert response.status_code == 200
    page = response.context["page"]
    assert [invoice.number for invoice in page.object_list] == [newer.number, older.number]
    html = response.content.decode()
    assert f'href="{reverse("billing:invoice_pdf", args=[newer.public_id])}"' in html
    assert f'href="{reverse("billing:invoice_detail", args=[older.public_id])}"' in html
    assert "€1,234.50" in html
    assert "01/01/2027 \u2013 01/07/2027" in html  # period_end (8 Jan) is exclusive
    assert str(draft.public_id) not in html
    assert bens.number not in html
    assert str(bens.public_id) not in html


def test_list_shows_amounts_and_dates_in_the_viewers_language(anna_client, anna):
    issue_invoice(anna)

    html = anna_client.get(LIST, headers={"accept-language": "de"}).content.decode()

    assert "1.234,50\xa0€" in html  # babel: a no-break space
    assert "01.01.2027 \u2013 31.03.2027" in html
    assert 'lang="de"' in html


@pytest.mark.parametrize("count", [1, INVOICES_PER_PAGE + 5])
def test_list_runs_a_fixed_number_of_queries(anna_client, anna, count, django_assert_num_queries):
    issue_many(anna, count)
    credit_note_issue(invoice=Invoice.objects.filter(customer=anna).first(), reason="Test")

    # session, user, customer, count, page (credit notes' invoices joined), failed payments
    with django_assert_num_queries(6):
        response = anna_client.get(LIST)

    assert len(response.context["page"].object_list) == min(count + 1, INVOICES_PER_PAGE)


def test_list_is_paginated(anna_client, anna):
    invoices = issue_many(anna, INVOICES_PER_PAGE + 2)

    second = anna_client.get(LIST, {"page": 2})

    assert [i.number for i in second.context["page"].object_list] == [
        invoices[1].number,
        invoices[0].number,
    ]
    assert "Page 2 of 2" in second.content.decode()


def test_empty_list_says_so(anna_client):
    assert "No invoices yet" in anna_client.get(LIST).content.decode()


def test_credit_notes_are_listed_with_the_invoice_they_correct(anna_client, anna):
    invoice = issue_invoice(anna)
    credit_note = credit_note_issue(invoice=invoice, reason="Wrong count")

    html = anna_client.get(LIST).content.decode()

    assert credit_note.number in html
    assert f"Credit note for {invoice.number}" in html
    assert "-€1,234.50" in html


def test_nav_links_to_invoices_for_main_users_only(client, anna):
    client.force_login(anna.main_user)
    assert f'href="{LIST}"' in client.get(reverse("subscriptions:home")).content.decode()

    colleague = User.objects.create_user(email="c@x.de", password=PASSWORD, customer=anna)
    client.force_login(colleague)
    assert f'href="{LIST}"' not in client.get(reverse("subscriptions:home")).content.decode()


# --- one invoice -----------------------------------------------------------------------


def test_detail_shows_lines_totals_pdf_link_and_credit_notes(anna_client, anna):
    invoice = issue_invoice(anna)
    credit_note = credit_note_issue(invoice=invoice, reason="Wrong count")

    response = anna_client.get(reverse("billing:invoice_detail", args=[invoice.public_id]))

    html = response.content.decode()
    assert response.status_code == 200
    assert f"Invoice {invoice.number}" in html
    assert "Digital edition: users" in html
    assert "Users active at any time in the period" in html
    assert "Base fee (e-paper archive)" in html
    assert "€1,041.59" in html
    assert "€192.91" in html
    assert "€1,234.50" in html
    assert "Jan. 1, 2027 to March 31, 2027" in html
    assert reverse("billing:invoice_pdf", args=[invoice.public_id]) in html
    assert reverse("billing:invoice_detail", args=[credit_note.public_id]) in html
    assert reverse("billing:invoice_pdf", args=[credit_note.public_id]) in html


def test_credit_note_page_links_to_the_invoice_it_corrects(anna_client, anna):
    invoice = issue_invoice(anna)
    credit_note = credit_note_issue(invoice=invoice, reason="Wrong count")

    html = anna_client.get(
        reverse("billing:invoice_detail", args=[credit_note.public_id])
    ).content.decode()

    assert f"Credit note {credit_note.number}" in html
    assert reverse("billing:invoice_detail", args=[invoice.public_id]) in html


def test_detail_runs_a_fixed_number_of_queries(anna_client, anna, django_assert_num_queries):
    invoice = issue_invoice(anna)
    credit_note_issue(invoice=invoice, reason="Wrong count")

    # session, user, customer, invoice, lines, credit notes
    with django_assert_num_queries(6):
        anna_client.get(reverse("billing:invoice_detail", args=[invoice.public_id]))


def test_pdf_download_is_the_stored_document(anna_client, anna):
    invoice = issue_invoice(anna)
    url = reverse("billing:invoice_pdf", args=[invoice.public_id])

    first = anna_client.get(url)
    second = anna_client.get(url)

    assert first.status_code == 200
    assert first["Content-Type"] == "application/pdf"
    assert first["Content-Disposition"] == f'inline; filename="{invoice.number}.pdf"'
    assert first.content.startswith(b"%PDF")
    assert invoice.number in pdf_text(first.content)
    assert second.content == first.content
    invoice.refresh_from_db()
    assert invoice.pdf.read() == first.content


# --- who may see what ------------------------------------------------------------------


def _object_urls(invoice: Invoice) -> list[str]:
    return [
        reverse("billing:invoice_detail", args=[invoice.public_id]),
        reverse("billing:invoice_pdf", args=[invoice.public_id]),
        reverse("billing:invoice_xrechnung", args=[invoice.public_id]),
    ]


def test_the_object_urls_are_all_covered():
    """Every billing URL with a public id is in the isolation tests below."""
    from billing import urls

    names = {p.name for p in urls.urlpatterns if "public_id" in p.pattern.converters}
    assert names == {"invoice_detail", "invoice_pdf", "invoice_xrechnung"}


def test_another_customer_gets_404_and_nothing_is_rendered(client, anna, ben):
    invoice = issue_invoice(anna)
    client.force_login(ben.main_user)

    for url in _object_urls(invoice):
        assert client.get(url).status_code == 404, url
        assert client.post(url).status_code in (404, 405), url

    invoice.refresh_from_db()
    assert not invoice.pdf
    assert invoice.number not in client.get(LIST).content.decode()


def test_drafts_answer_404_even_to_their_customer(anna_client, anna):
    draft = make_draft(anna)

    for url in _object_urls(draft):
        assert anna_client.get(url).status_code == 404, url


@pytest.mark.parametrize("who", ["colleague", "staff", "no_account"])
def test_users_who_are_not_the_main_user_get_404(client, anna, who):
    invoice = issue_invoice(anna)
    user = User.objects.create_user(
        email=f"{who}@x.de",
        password=PASSWORD,
        customer=anna if who == "colleague" else None,
        is_staff=who == "staff",
    )
    client.force_login(user)

    for url in [LIST, *_object_urls(invoice)]:
        assert client.get(url).status_code == 404, url


def test_anonymous_visitors_are_sent_to_the_login_page(client, anna):
    invoice = issue_invoice(anna)

    for url in [LIST, *_object_urls(invoice)]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"] == f"{reverse('subscriptions:login')}?next={url}"


def test_the_issued_e_mails_link_leads_through_the_login_to_the_pdf(client, anna):
    invoice = issue_invoice(anna)
    path = urlsplit(invoice_url(invoice)).path
    assert path == reverse("billing:invoice_pdf", args=[invoice.public_id])

    to_login = client.get(path)
    login = client.post(
        to_login["Location"],
        {"username": anna.main_user.email, "password": PASSWORD, "next": path},
    )
    assert login.status_code == 302
    assert login["Location"] == path
    pdf = client.get(login["Location"])

    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert invoice.number in pdf_text(pdf.content)


# --- failed payments -----------------------------------------------------------------


def test_a_failed_charge_is_explained_on_the_list_to_its_customer_only(client, anna, ben):
    from billing.services.collection import payments_collect_due
    from subscriptions.services.payments import (
        payment_method_add,
        subscription_change_payment_method,
    )
    from tests.billing.runs_factories import berlin, corporate_subscription
    from tests.factories import CorporateContractFactory
    from tests.subscriptions.test_payment_methods import card

    subscription, _ = corporate_subscription(
        contracts=[CorporateContractFactory()], started_at=berlin(2027, 1, 1), customer=anna
    )
    method = payment_method_add(customer=anna, kind="card", details=card("4000000000000002"))
    subscription_change_payment_method(subscription=subscription, payment_method=method)
    issue_invoice(anna, subscription=subscription)
    payments_collect_due(now=ISSUED_AT)

    client.force_login(anna.main_user)
    own = client.get(LIST).content.decode()
    client.force_login(ben.main_user)
    other = client.get(LIST).content.decode()

    assert "We could not collect €1,234.50 for invoice 2027-000001." in own
    assert "We will try again on April 3, 2027." in own
    assert "could not collect" not in other
