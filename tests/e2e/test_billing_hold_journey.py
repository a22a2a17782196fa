"""Finance in the browser (issue 10): the billing runs page warns that an account's
billing is held, the link opens the open holds with the broken rule and what is wrong,
and releasing the hold through the admin action clears the warning."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from playwright.sync_api import Page, expect

from billing.services.holds import invariants_check
from seats.models import SeatAccount, UserSubscription
from subscriptions.roles import FINANCE
from tests.billing.factories import STAFF_PASSWORD, staff_member
from tests.e2e.conftest import SCREENSHOTS
from tests.seats.factories import UserFactory
from tests.subscriptions.factories import CustomerFactory, SubscriptionFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def held(transactional_db, staff_roles):
    """A user subscription that starts before its subscription, found by the check."""
    subscription = SubscriptionFactory(customer=CustomerFactory(name="Uni Musterstadt"))
    account = SeatAccount.objects.create(subscription=subscription, maximum_users=5)
    product = subscription.offer.product
    UserSubscription.objects.create(
        seat_account=account, user=UserFactory(), product=product,
        started_at=datetime(2026, 12, 1, tzinfo=UTC),
    )  # fmt: skip
    assert invariants_check().holds_created == 1
    return subscription


def test_finance_sees_a_held_account_and_releases_it(page: Page, screenshot, held, staff_roles):
    finance = staff_member(FINANCE, "finance@kontor.example")
    page.goto("/admin/login/?next=/admin/billing/billingrun/")
    page.get_by_label("E-mail address").fill(finance.email)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("Billing is held for 1 customer account")).to_be_visible()
    screenshot("01-runs-warning")

    page.get_by_role("link", name="Review the billing holds").click()
    row = page.locator("#result_list tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Uni Musterstadt")
    expect(row).to_contain_text("No user subscription outside its subscription's life")
    expect(row).to_contain_text("lies outside the life of subscription")
    screenshot("02-open-holds")

    row.locator("input.action-select").check()
    page.locator("select[name=action]").select_option("release")
    page.get_by_role("button", name="Go").click()
    expect(page.get_by_text("1 hold released")).to_be_visible()
    screenshot("03-released")

    page.goto("/admin/billing/billingrun/")
    expect(page.get_by_role("heading", name="Select billing run to view")).to_be_visible()
    expect(page.get_by_text("Billing is held for")).to_have_count(0)


def test_the_holds_page_in_german(browser, live_server, held, staff_roles):
    finance = staff_member(FINANCE, "finanz@kontor.example")
    context = browser.new_context(
        base_url=live_server.url, locale="de-DE", extra_http_headers={"Accept-Language": "de"},
        viewport={"width": 1280, "height": 900},
    )  # fmt: skip
    german = context.new_page()
    german.goto("/admin/login/?next=/admin/billing/billinghold/")
    german.locator("input[name=username]").fill(finance.email)
    german.locator("input[name=password]").fill(STAFF_PASSWORD)
    german.locator("input[type=submit]").click()
    expect(german.locator("#result_list tbody tr")).to_contain_text("Uni Musterstadt")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    german.screenshot(path=SCREENSHOTS / "billing-holds-de.png", full_page=True)
    context.close()
