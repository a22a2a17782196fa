"""A catalog manager (staff, in the "Catalog manager" group, not a superuser) builds a
multi-user offer in the merchant backend: bundle → plan → offer."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import Page, expect

from catalog.models import Bundle, Offer, Plan, Product, Status
from subscriptions.models import User
from subscriptions.roles import CATALOG_MANAGER

PASSWORD = "e2e-catalog-pw-1"

pytestmark = pytest.mark.browser


@pytest.fixture
def catalog_manager(staff_roles) -> User:
    user = User.objects.create_user(
        email="carla.catalog@example.com", password=PASSWORD, first_name="Carla", is_staff=True
    )
    user.groups.add(Group.objects.get(name=CATALOG_MANAGER))
    return user


@pytest.fixture
def products(transactional_db) -> list[Product]:
    return [
        Product.objects.create(code=code, name=name, status=Status.ACTIVE)
        for code, name in [("e2e-digital", "Morning Digital"), ("e2e-audio", "Morning Audio")]
    ]


def admin_login(page: Page, email: str) -> None:
    page.goto("/admin/login/?next=/admin/")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Merchant backend")).to_be_visible()


def choose_autocomplete(page: Page, row: str, field: str, search: str, option: str) -> None:
    """Pick `option` in a select2 autocomplete (Django admin's autocomplete_fields)."""
    page.locator(f"{row} .field-{field} .select2-selection").click()
    dropdown = page.locator(".select2-container--open")
    dropdown.locator(".select2-search__field").fill(search)
    # Scoped to the dropdown: a filter_horizontal <select> on the page has options too.
    dropdown.get_by_role("option", name=option).click()
    chosen = page.locator(f"{row} .field-{field} .select2-selection__rendered")
    expect(chosen).to_have_attribute("title", option)


def fill_validity(page: Page) -> None:
    # The admin's split date/time widget has no <label for>; its inputs go by id.
    page.locator("#id_valid_from_0").fill("2025-01-01")
    page.locator("#id_valid_from_1").fill("00:00:00")


def save_and_activate(page: Page) -> None:
    """New catalog items are drafts; the change page's Activate button publishes them."""
    page.get_by_role("button", name="Save and continue editing").click()
    expect(page.locator(".messagelist .success")).to_contain_text("was added successfully")
    page.get_by_role("button", name="Activate").click()
    expect(page.locator(".messagelist .success")).to_contain_text("1 item updated.")
    expect(page.locator(".field-status .readonly")).to_have_text("Active")


def test_catalog_manager_creates_bundle_plan_and_multi_user_offer(
    page: Page, screenshot, catalog_manager, products
):
    admin_login(page, catalog_manager.email)
    expect(page.get_by_role("link", name="Offers", exact=True)).to_be_visible()
    screenshot("01-admin-index")

    # A bundle: one required and one optional product, through the inline.
    page.goto("/admin/catalog/bundle/add/")
    page.get_by_label("Code").fill("e2e-morning")
    page.get_by_label("Name").fill("Morning bundle")
    fill_validity(page)
    choose_autocomplete(page, "#items-0", "product", "Digital", "Morning Digital (e2e-digital)")
    page.get_by_role("button", name="Add another Bundle item").click()
    choose_autocomplete(page, "#items-1", "product", "Audio", "Morning Audio (e2e-audio)")
    page.locator("#id_items-1-required").uncheck()
    screenshot("02-bundle-form")
    save_and_activate(page)

    # A plan with that bundle, through the plan-bundle inline.
    page.goto("/admin/catalog/plan/add/")
    page.get_by_label("Code").fill("e2e-morning-plan")
    page.get_by_label("Name").fill("Morning plan")
    fill_validity(page)
    choose_autocomplete(
        page, "#plan_bundles-0", "bundle", "Morning", "Morning bundle (e2e-morning)"
    )
    screenshot("03-plan-form")
    save_and_activate(page)

    # A multi-user offer of that plan: main user + 4.
    page.goto("/admin/catalog/offer/add/")
    page.get_by_label("Code").fill("e2e-morning-family")
    page.get_by_label("Name").fill("Morning family")
    page.get_by_label("Type").select_option(label="Complex time-based subscription")
    choose_autocomplete(page, "form", "plan", "Morning", "Morning plan (e2e-morning-plan)")
    page.get_by_role("spinbutton", name="Price:").fill("24.90")
    page.get_by_role("spinbutton", name="Billing interval:", exact=True).fill("1")
    page.get_by_label("Billing interval unit").select_option(label="months")
    fill_validity(page)
    page.get_by_label("User count").fill("4")
    screenshot("04-offer-form")
    save_and_activate(page)
    screenshot("05-offer-activated")

    page.goto("/admin/catalog/offer/")
    row = page.locator(
        "#result_list tr", has=page.get_by_role("link", name="e2e-morning-family", exact=True)
    )
    expect(row).to_contain_text("Morning plan")
    expect(row.locator(".field-user_count")).to_have_text("4")
    expect(row.locator(".field-status")).to_have_text("Active")
    screenshot("06-offer-changelist")

    offer = Offer.objects.get(code="e2e-morning-family")
    assert (offer.kind, offer.plan.code, offer.status) == (
        "complex_subscription",
        "e2e-morning-plan",
        "active",
    )
    assert offer.user_count == 4
    assert offer.price_amount == Decimal("24.90")
    assert (offer.billing_interval_count, offer.billing_interval_unit) == (1, "month")
    bundle = Bundle.objects.get(code="e2e-morning")
    assert {(i.product.code, i.required) for i in bundle.items.all()} == {
        ("e2e-digital", True),
        ("e2e-audio", False),
    }
    plan = Plan.objects.get(code="e2e-morning-plan")
    assert list(plan.bundles.values_list("code", flat=True)) == ["e2e-morning"]
    assert not catalog_manager.is_superuser
