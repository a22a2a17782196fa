"""Coupons in the browser (issue 6): a catalog manager creates a numeric campaign in the
merchant backend and sees its codes; a customer applies one at checkout, sees the
discounted price and buys; the same code is refused the second time."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine
from django.contrib.auth.models import Group
from playwright.sync_api import Page, expect

from catalog.models import Offer
from coupons.models import Campaign
from subscriptions.models import CouponRedemption, Customer, Subscription, User
from subscriptions.roles import CATALOG_MANAGER
from tests.factories import BundleFactory, OfferFactory, PlanFactory, ProductFactory

PASSWORD = "e2e-coupon-pw-1"
NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)

pytestmark = pytest.mark.browser


@pytest.fixture
def offer(transactional_db) -> Offer:
    """The seeds' example: an add-on bundle (crosswords) sold at 10 USD a month."""
    bundle = BundleFactory(name="Crossword add-on", products=[ProductFactory(name="Crosswords")])
    plan = PlanFactory(name="Crossword plan", bundles=[bundle], payment_methods=["invoice"])
    return OfferFactory(
        complex=True,
        plan=plan,
        code="crosswords",
        name="Crosswords",
        price_amount=Decimal("10.00"),
        currency="USD",
    )


@pytest.fixture
def staff(staff_roles) -> User:
    user = User.objects.create_user(
        email="catalog@example.com", password=PASSWORD, is_staff=True, first_name="Cat"
    )
    user.groups.add(Group.objects.get(name=CATALOG_MANAGER))
    return user


@pytest.fixture
def buyers(transactional_db) -> list[User]:
    users = []
    for name in ("rita", "otto"):
        customer = Customer.objects.create(name=name.title(), email=f"{name}@example.com")
        user = User.objects.create_user(
            email=f"{name}@example.com", password=PASSWORD, first_name=name.title(),
            customer=customer,
        )  # fmt: skip
        customer.main_user = user
        customer.save(update_fields=["main_user"])
        users.append(user)
    return users


def _login(page: Page, path: str, email: str, button: str) -> None:
    page.goto(path)
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name=button).click()


def test_staff_create_a_campaign_and_a_customer_uses_a_code_once(
    page: Page, screenshot, offer, staff, buyers
):
    with time_machine.travel(NOW, tick=True):
        _create_campaign(page, screenshot)
        page.context.clear_cookies()
        _checkout(page, screenshot, buyers[0], "SPRING-10", expect_price="$8.00")
        page.context.clear_cookies()
        _refused(page, screenshot, buyers[1], "SPRING-10")


def _create_campaign(page: Page, screenshot) -> None:
    page.goto("/admin/login/?next=/admin/coupons/campaign/add/")
    page.get_by_label("E-mail address").fill("catalog@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.locator("#id_name").fill("Spring promotion")
    page.locator("#id_code").fill("spring")
    page.locator("#id_kind").select_option("coupon")
    page.locator("#id_charset").select_option("numeric")
    page.locator("#id_template").fill("SPRING-##")
    page.locator("#id_quantity").fill("5")
    page.locator("#id_redemption_quantity").fill("1")
    page.locator("#id_range_start").fill("10")
    page.locator(".field-bundle .select2-selection").click()  # an autocomplete field
    dropdown = page.locator(".select2-container--open")
    dropdown.locator(".select2-search__field").fill("Crossword")
    dropdown.get_by_role("option", name=re.compile("^Crossword add-on")).click()
    page.locator("#id_discount_type").select_option("percent")
    page.locator("#id_discount_percent").fill("20")
    page.locator("#id_valid_from_0").fill("2027-03-01")
    page.locator("#id_valid_from_1").fill("00:00:00")
    screenshot("01-campaign-form")
    page.get_by_role("button", name="Save and continue editing").click()
    expect(page.locator(".messagelist")).to_contain_text("Spring promotion")
    campaign = Campaign.objects.get(code="spring")
    assert list(campaign.codes.order_by("code").values_list("code", flat=True)) == [
        "SPRING-10", "SPRING-11", "SPRING-12", "SPRING-13", "SPRING-14",
    ]  # fmt: skip
    screenshot("02-campaign-page")
    page.get_by_role("link", name="Codes", exact=True).click()
    expect(page.get_by_text("SPRING-10")).to_be_visible()
    expect(page.get_by_text("SPRING-14")).to_be_visible()
    screenshot("03-codes")


def _checkout(page: Page, screenshot, buyer: User, code: str, expect_price: str) -> None:
    _login(page, "/portal/login/?next=/portal/checkout/crosswords/", buyer.email, "Log in")
    page.get_by_label("Coupon code").fill(code.lower())
    page.get_by_role("button", name="Apply").click()
    expect(
        page.get_by_text(f"Code {code} applied: $2.00 off, you pay {expect_price}")
    ).to_be_visible()
    screenshot("04-checkout-applied")
    page.get_by_label("Invoice / bank transfer").check()
    page.get_by_role("button", name=f"Buy now for {expect_price}").click()
    expect(page.get_by_text("Your subscription to Crosswords has started.")).to_be_visible()
    expect(page.get_by_text(f"$8.00 with code {code} (instead of $10.00) / month")).to_be_visible()
    screenshot("05-bought")
    redemption = CouponRedemption.objects.get()
    assert (redemption.code.code, redemption.discount_amount) == (code, Decimal("2.00"))


def _refused(page: Page, screenshot, buyer: User, code: str) -> None:
    _login(page, "/portal/login/?next=/portal/checkout/crosswords/", buyer.email, "Log in")
    page.get_by_label("Coupon code").fill(code)
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_text("This code has already been used.")).to_be_visible()
    screenshot("06-used-code-refused")
    page.get_by_label("Invoice / bank transfer").check()
    page.get_by_role("button", name="Buy now for $10.00").click()
    expect(page.get_by_text("This code has already been used.")).to_be_visible()
    assert Subscription.objects.filter(customer=buyer.customer).count() == 0
