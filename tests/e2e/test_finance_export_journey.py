"""Finance in the browser (issue 7): a Finance staff member opens the invoices in the
merchant backend, filters them, exports the filtered list as CSV and finds exactly the
filtered invoices in the file; the invoice's page shows it read-only with its buttons."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from billing.services.payments import invoice_mark_paid
from subscriptions.roles import FINANCE
from tests.billing.factories import STAFF_PASSWORD, line, make_invoice, staff_member
from tests.subscriptions.factories import CustomerFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def invoices(transactional_db, staff_roles):
    """Three issued invoices; the second is paid."""
    made = []
    for day, name in ((1, "Uni Musterstadt"), (2, "Erika Musterfrau"), (3, "Max Mustermann")):
        made.append(
            make_invoice(
                customer=CustomerFactory(name=name),
                lines=[line("Annual plan", "1", f"{day}0.00")],
                now=datetime(2027, 2, day, 9, 0, tzinfo=UTC),
            )
        )
    made[1] = invoice_mark_paid(invoice=made[1], now=datetime(2027, 2, 5, 9, 0, tzinfo=UTC))
    return made


@pytest.fixture
def finance(staff_roles):
    return staff_member(FINANCE, "finance@kontor.example")


def test_finance_filters_invoices_and_exports_them_as_csv(
    page: Page, screenshot, invoices, finance
):
    page.goto("/admin/login/?next=/admin/billing/invoice/")
    page.get_by_label("E-mail address").fill(finance.email)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Select invoice to view")).to_be_visible()
    for invoice in invoices:
        expect(page.get_by_role("link", name=invoice.number)).to_be_visible()
    screenshot("01-invoices")

    page.locator("#changelist-filter").get_by_role("link", name="Open", exact=True).click()
    expect(page.get_by_role("link", name=invoices[1].number)).to_have_count(0)
    expect(page.get_by_role("link", name=invoices[0].number)).to_be_visible()
    screenshot("02-open-invoices")

    page.get_by_role("link", name="Export", exact=True).click()
    page.get_by_label("Format").select_option(label="csv")
    screenshot("03-export-form")
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Submit").click()
    download = download_info.value
    content = Path(download.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(content, newline="")))

    assert download.suggested_filename.endswith(".csv")
    assert sorted(row["number"] for row in rows) == sorted([invoices[0].number, invoices[2].number])
    assert {row["status"] for row in rows} == {"open"}

    page.goto("/admin/billing/invoice/")
    page.get_by_role("link", name=invoices[0].number).click()
    expect(page.get_by_role("link", name="Mark paid")).to_be_visible()
    expect(page.get_by_role("link", name="Issue credit note")).to_be_visible()
    expect(page.get_by_text("Annual plan", exact=True)).to_be_visible()
    screenshot("04-invoice")

    page.goto("/admin/billing/invoice/")
    page.get_by_role("link", name="Finance exports").click()
    page.locator("#id_export").select_option(label="Subscription log")
    expect(page.get_by_label("Until (inclusive)")).to_be_visible()
    screenshot("05-finance-exports")
