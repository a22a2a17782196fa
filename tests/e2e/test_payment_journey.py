"""Finance in the browser (issue 8): a corporate invoice whose card was declined is in
the dunning overview; Finance retries it by hand, then imports a bank statement, sees
one line paid and one waiting for review, and pays the waiting line onto the invoice
the customer meant."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from billing.models import Invoice
from billing.services.collection import payments_collect_due
from subscriptions.roles import FINANCE
from tests.billing.factories import STAFF_PASSWORD, staff_member
from tests.billing.invoicing import ISSUED_AT, issue_invoice, make_customer
from tests.billing.test_collection import corporate_invoice

pytestmark = pytest.mark.browser


@pytest.fixture
def declined(transactional_db, staff_roles) -> Invoice:
    invoice = corporate_invoice()  # 2027-000001, the sandbox declines the card
    payments_collect_due(now=ISSUED_AT)
    return invoice


@pytest.fixture
def finance(staff_roles):
    return staff_member(FINANCE, "finance@kontor.example")


def test_finance_follows_dunning_and_reconciles_a_bank_statement(
    page: Page, screenshot, declined, finance, tmp_path
):
    other = issue_invoice(make_customer(name="Stadtwerke Musterstadt"))  # 2027-000002
    page.goto("/admin/login/?next=/admin/billing/dunning/")
    page.get_by_label("E-mail address").fill(finance.email)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Select dunning to view")).to_be_visible()
    expect(page.get_by_text("0 of 3")).to_be_visible()
    screenshot("01-dunning-overview")

    page.get_by_role("link", name=declined.number).click()
    page.get_by_role("button", name="Retry the charge now").click()
    expect(page.get_by_text("Declined The card was declined.")).to_be_visible()
    screenshot("02-retried")

    statement = tmp_path / "april.csv"
    statement.write_text(
        "Buchungstag;Betrag;Verwendungszweck;Auftraggeber\n"
        f"03.04.2027;1.234,50;RE {declined.number};Universität Musterstadt\n"
        "04.04.2027;1.234,50;Strom April;Stadtwerke Musterstadt\n",
        encoding="utf-8",
    )
    page.goto("/admin/billing/bankstatement/")
    page.get_by_role("link", name="Import bank statement").click()
    page.get_by_label("Bank statement (CSV)").set_input_files(str(statement))
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_text("1 paid in full, 0 part payments, 1 to review")).to_be_visible()
    screenshot("03-statement")

    page.get_by_role("link", name="Assign or ignore").click()
    page.get_by_label("Invoice number").fill(other.number)
    page.get_by_role("button", name="Assign").click()
    expect(page.get_by_text("The line was settled.")).to_be_visible()
    screenshot("04-review-done")

    declined.refresh_from_db()
    other.refresh_from_db()
    assert (declined.status, other.status) == ("paid", "paid")
    assert declined.dunning.status == "recovered"
