"""A customer buys a plan with an add-on and an optional product in the portal checkout,
finds it in the subscription list, cancels it and sees the date it takes effect.

The clock is travelled to a known moment (the live server runs in this process, so it
sees it too), and the expected date is written out, not read back from the database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from playwright.sync_api import Page, expect

from catalog.models import Offer
from subscriptions.models import Customer, Subscription, User
from tests.factories import BundleFactory, OfferFactory, PlanFactory, ProductFactory, TermFactory

PASSWORD = "e2e-buyer-pw-1"

pytestmark = pytest.mark.browser


@pytest.fixture
def offer(transactional_db) -> Offer:
    """Daily News Digital: a plan whose bundle has the e-paper (required) and the archive
    (optional), with a compatible puzzles add-on; 9.90 EUR a month, paid by invoice, on a
    12-month term that may end early without a fee."""
    epaper = ProductFactory(name="Daily e-paper")
    archive = ProductFactory(name="Archive since 1950")
    puzzles = ProductFactory(name="Puzzles")
    basics = BundleFactory(name="Digital basics", products=[epaper], optional_products=[archive])
    extras = BundleFactory(name="Puzzle pack", products=[puzzles])
    plan = PlanFactory(
        name="Digital plan",
        bundles=[basics],
        compatible_bundles=[extras],
        compatible_bundles_only=True,
        payment_methods=["invoice"],
    )
    return OfferFactory(
        complex=True,
        plan=plan,
        code="daily-digital",
        name="Daily News Digital",
        term=TermFactory(name="One year"),
        price_amount=Decimal("9.90"),
    )


@pytest.fixture
def buyer(transactional_db) -> User:
    customer = Customer.objects.create(name="Rita Reader", email="rita@example.com")
    user = User.objects.create_user(
        email="rita@example.com", password=PASSWORD, first_name="Rita", customer=customer
    )
    customer.main_user = user
    customer.save(update_fields=["main_user"])
    return user


# Bought on 15 January 2027 at 11:00 in Berlin: the first monthly period ends on
# 15 February 2027, and the term has no cancellation period, so that is the end date.
BOUGHT_AT = datetime(2027, 1, 15, 10, 0, tzinfo=UTC)
ENDS_ON = "Feb. 15, 2027"  # English DATE_FORMAT, "N j, Y"


def test_customer_buys_lists_and_cancels_a_subscription(page: Page, screenshot, offer, buyer):
    with time_machine.travel(BOUGHT_AT, tick=True):
        _buy_list_and_cancel(page, screenshot, buyer)


def _buy_list_and_cancel(page: Page, screenshot, buyer: User) -> None:
    page.goto("/portal/login/")
    page.get_by_label("E-mail address").fill(buyer.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Hello, Rita", level=1)).to_be_visible()

    page.goto("/portal/checkout/daily-digital/")
    page.get_by_label("Archive since 1950").check()
    page.get_by_label("Puzzle pack").check()
    page.get_by_label("Invoice / bank transfer").check()
    screenshot("01-checkout")
    page.get_by_role("button", name="Buy now for €9.90").click()

    expect(page.get_by_role("heading", name="Daily News Digital", level=1)).to_be_visible()
    expect(page.get_by_text("Your subscription to Daily News Digital has started.")).to_be_visible()
    products = page.get_by_role("region", name="Products")
    expect(products.get_by_text("Daily e-paper")).to_be_visible()
    expect(products.get_by_text("Archive since 1950")).to_be_visible()
    expect(products.get_by_text("Puzzles")).to_be_visible()
    screenshot("02-detail")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Subscriptions").click()
    card = page.locator(".subscription-card", has_text="Daily News Digital")
    expect(card).to_have_count(1)
    expect(card.get_by_text("€9.90 / month")).to_be_visible()
    expect(card.get_by_text("Active")).to_be_visible()
    screenshot("03-list")

    card.get_by_role("link", name="Daily News Digital").click()
    page.get_by_role("link", name="Cancel subscription").click()
    expect(page.get_by_role("heading", name="Cancel Daily News Digital")).to_be_visible()
    page.get_by_label("At the end of the period").check()
    screenshot("04-cancel-quote")
    page.get_by_role("button", name="Cancel my subscription").click()

    expect(
        page.get_by_text(f"Your subscription is cancelled. It ends on {ENDS_ON}.")
    ).to_be_visible()
    subscription = Subscription.objects.get(customer=buyer.customer)
    assert subscription.status == Subscription.Status.CANCELLED
    # The clock ticks: bought (and so ending) a few seconds after 10:00 UTC.
    assert timedelta(0) <= subscription.ends_at - BOUGHT_AT.replace(month=2) < timedelta(minutes=1)
    expect(page.locator(".status-cancelled")).to_have_text("Cancelled")
    screenshot("05-cancelled")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Subscriptions").click()
    expect(page.locator(".subscription-card").get_by_text(ENDS_ON)).to_be_visible()
    screenshot("06-list-cancelled")
