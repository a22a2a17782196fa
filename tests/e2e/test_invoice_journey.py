"""A corporate admin (the main user of a company account on a corporate subscription)
logs in to the portal, opens Invoices, downloads the invoice's PDF and finds its number
in it, downloads its XRechnung XML; then reads the list in German."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from billing.models import Invoice
from billing.services.invoices import InvoiceDraft, LineDraft, invoice_create, invoice_issue
from subscriptions.models import Customer, User
from subscriptions.services.corporate import corporate_subscription_create
from tests.billing.invoicing import pdf_text
from tests.factories import CorporateContractFactory, CorporateOfferFactory, ProductFactory
from tests.subscriptions.factories import CustomerFactory

PASSWORD = "e2e-corporate-pw-1"

pytestmark = pytest.mark.browser


@pytest.fixture
def corporate_admin(transactional_db, settings, tmp_path) -> User:
    settings.MEDIA_ROOT = tmp_path / "media"
    customer = CustomerFactory(
        company=True,
        name="Universität Musterstadt",
        email="rechnungen@uni-musterstadt.example",
        address_line1="Hochschulring 12",
        postal_code="12345",
        city="Musterstadt",
    )
    admin = User.objects.create_user(
        email="admin@uni-musterstadt.example", password=PASSWORD, customer=customer
    )
    Customer.objects.filter(pk=customer.pk).update(main_user=admin)
    return admin


@pytest.fixture
def invoice(corporate_admin) -> Invoice:
    """A corporate subscription on a campus licence, invoiced for its first month."""
    contract = CorporateContractFactory(product=ProductFactory(name="Digital edition"))
    offer = CorporateOfferFactory(name="Campus licence", code="campus", contracts=[contract])
    now = timezone.now()
    subscription = corporate_subscription_create(
        customer=corporate_admin.customer, corporate_offer=offer, now=now
    )
    draft = InvoiceDraft(
        customer=corporate_admin.customer,
        currency="EUR",
        subscription=subscription,
        billing=Invoice.Billing.IN_ARREARS,
        period_start=now,
        period_end=now + timedelta(days=30),
        lines=[
            LineDraft(
                kind="usage",
                description="Digital edition: users",
                quantity=Decimal(12),
                unit_price=Decimal("102.50"),
                tax_rate=Decimal("19.00"),
                product_id=contract.product_id,
                counting="any_time",
            )
        ],
    )
    # Issuing queues the PDF task after commit (run inline in tests): it is stored now.
    return invoice_issue(invoice=invoice_create(draft=draft), now=now)


def test_corporate_admin_downloads_an_invoice_pdf(page: Page, screenshot, corporate_admin, invoice):
    page.goto("/portal/")
    page.get_by_label("E-mail address").fill(corporate_admin.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Invoices").click()

    expect(page.get_by_role("heading", name="Invoices", level=1)).to_be_visible()
    row = page.get_by_role("row").filter(has_text=invoice.number)
    expect(row).to_contain_text("€1,463.70")  # 12 x 102.50 = 1,230.00 + 19 % VAT
    expect(row).to_contain_text("Open")
    screenshot("01-invoices-en")

    link = row.get_by_role("link", name=f"PDF of {invoice.number}")
    response = page.request.get(link.get_attribute("href"))

    assert response.ok
    assert response.headers["content-type"] == "application/pdf"
    content = response.body()
    assert content.startswith(b"%PDF")
    assert invoice.number in pdf_text(content)
    invoice.refresh_from_db()
    assert invoice.pdf.read() == content  # the document stored at issue

    row.get_by_role("link", name=invoice.number, exact=True).click()
    expect(page.get_by_role("heading", name=f"Invoice {invoice.number}")).to_be_visible()
    expect(page.get_by_text("Users active at any time in the period")).to_be_visible()
    screenshot("02-invoice-en")

    # The e-invoice XML beside the PDF (issue 11).
    xml_link = page.get_by_role("link", name="XRechnung (XML)")
    expect(xml_link).to_be_visible()
    xml = page.request.get(xml_link.get_attribute("href"))
    assert xml.ok
    assert xml.headers["content-type"] == "application/xml; charset=utf-8"
    assert f"<ram:ID>{invoice.number}</ram:ID>".encode() in xml.body()
    assert b"xrechnung_3.0" in xml.body()

    page.get_by_role("button", name="Deutsch").click()
    expect(page.locator("html")).to_have_attribute("lang", "de")
    page.goto("/billing/invoices/")
    expect(page.get_by_role("row").filter(has_text=invoice.number)).to_contain_text("1.463,70\xa0€")
    screenshot("03-invoices-de")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot("04-invoices-de-phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways page
    page.get_by_role("link", name=invoice.number, exact=True).click()
    expect(page.get_by_role("heading", name=f"Rechnung {invoice.number}")).to_be_visible()
    screenshot("05-invoice-de-phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
