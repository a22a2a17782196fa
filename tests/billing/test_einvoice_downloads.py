"""The XRechnung download beside the PDF: in the portal for the account's main user
(another customer, drafts, other users and visitors are covered by the isolation
tests in test_portal_invoices.py, which include its URL), and in the admin for staff
who may view invoices."""

from __future__ import annotations

import pytest
from django.urls import reverse

from billing.models import Invoice
from subscriptions.models import User
from subscriptions.roles import CUSTOMER_SUPPORT, FINANCE
from tests.billing.einvoicing import Cii, schematron_failures
from tests.billing.factories import make_invoice, staff_member
from tests.billing.invoicing import issue_invoice, make_customer

pytestmark = pytest.mark.django_db

XRECHNUNG_3 = "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def anna():
    customer = make_customer(name="Anna AG", email="billing@anna.example")
    customer.main_user = User.objects.create_user(
        email="a@x.de", password="pw-anna-1", customer=customer
    )
    customer.save(update_fields=["main_user"])
    return customer


def portal_url(invoice: Invoice) -> str:
    return reverse("billing:invoice_xrechnung", args=[invoice.public_id])


def assert_xrechnung_of(response, invoice: Invoice) -> None:
    assert response.status_code == 200
    assert response["Content-Type"] == "application/xml; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="{invoice.number}-xrechnung.xml"'
    )
    cii = Cii(response.content)
    assert (cii.number, cii.guideline) == (invoice.number, XRECHNUNG_3)
    assert cii.totals["GrandTotalAmount"] == invoice.gross_amount
    assert [f for f in schematron_failures(response.content) if "FX-SCH-A-000556" not in f] == []


def test_the_main_user_downloads_the_xrechnung_of_an_invoice(client, anna):
    invoice = issue_invoice(anna)
    client.force_login(anna.main_user)

    assert_xrechnung_of(client.get(portal_url(invoice)), invoice)


def test_the_invoice_page_links_the_xrechnung_beside_the_pdf(client, anna):
    invoice = issue_invoice(anna)
    client.force_login(anna.main_user)

    page = client.get(reverse("billing:invoice_detail", args=[invoice.public_id])).content.decode()

    assert f'href="{portal_url(invoice)}"' in page
    assert "XRechnung (XML)" in page
    assert page.index(reverse("billing:invoice_pdf", args=[invoice.public_id])) < page.index(
        portal_url(invoice)
    )


def test_another_customer_gets_404_for_the_xrechnung(client, anna):
    invoice = issue_invoice(anna)
    ben = make_customer(name="Ben GmbH")
    client.force_login(User.objects.create_user(email="b@x.de", password="pw-b-1", customer=ben))
    ben.main_user = User.objects.get(email="b@x.de")
    ben.save(update_fields=["main_user"])

    response = client.get(portal_url(invoice))

    assert response.status_code == 404
    assert invoice.number.encode() not in response.content


@pytest.mark.parametrize("role", [FINANCE, CUSTOMER_SUPPORT])
def test_staff_who_may_view_invoices_download_the_xrechnung_in_the_admin(client, role):
    invoice = make_invoice()
    client.force_login(staff_member(role, "staff@kontor.example"))

    page = client.get(reverse("admin:billing_invoice_change", args=[invoice.pk]))
    response = client.get(reverse("admin:billing_invoice_xrechnung", args=[invoice.pk]))

    assert reverse("admin:billing_invoice_xrechnung", args=[invoice.pk]) in page.content.decode()
    assert_xrechnung_of(response, invoice)


def test_the_admin_has_no_xrechnung_of_a_draft(client):
    draft = make_invoice(issue=False)
    client.force_login(staff_member(FINANCE, "finance@kontor.example"))

    response = client.get(reverse("admin:billing_invoice_xrechnung", args=[draft.pk]))

    assert response.status_code == 404


def test_the_admin_xrechnung_needs_staff(client):
    invoice = make_invoice()
    client.force_login(User.objects.create_user(email="c@x.de", password="pw-c-1"))

    response = client.get(reverse("admin:billing_invoice_xrechnung", args=[invoice.pk]))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
