"""A customer logs in to the portal with e-mail and password, and switches to German."""

import pytest
from playwright.sync_api import Page, expect

from subscriptions.models import User

PASSWORD = "e2e-reader-pw-1"

pytestmark = pytest.mark.browser


@pytest.fixture
def customer(transactional_db) -> User:
    return User.objects.create_user(
        email="rita.reader@example.com", password=PASSWORD, first_name="Rita"
    )


def test_customer_logs_in_and_switches_the_portal_to_german(page: Page, screenshot, customer):
    page.goto("/portal/")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    page.get_by_label("E-mail address").fill("Rita.Reader@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    screenshot("01-login")
    page.get_by_role("button", name="Log in").click()

    expect(page.get_by_role("heading", name="Hello, Rita", level=1)).to_be_visible()
    expect(page.get_by_role("heading", name="Your subscriptions")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("link", name="Merchant backend")).to_have_count(0)
    screenshot("02-home-en")

    page.get_by_role("button", name="Deutsch").click()

    expect(page.get_by_role("heading", name="Hallo, Rita", level=1)).to_be_visible()
    expect(page.get_by_role("heading", name="Ihre Abonnements")).to_be_visible()
    expect(page.get_by_text("Sie haben noch keine Abonnements")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.get_by_role("button", name="Deutsch")).to_have_attribute("aria-current", "true")
    screenshot("03-home-de")
    page.set_viewport_size({"width": 390, "height": 844})
    expect(page.get_by_role("heading", name="Hallo, Rita", level=1)).to_be_visible()
    screenshot("04-home-de-phone")
    customer.refresh_from_db()
    assert customer.language == "de"
