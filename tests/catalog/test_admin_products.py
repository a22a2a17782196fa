"""The admin refuses products, discounts, terms, bundles and plans that break SPEC §1:
the form comes back (200, no redirect) with the message on the field concerned (or above
the inline), and nothing is saved, inline rows included."""

import pytest

from catalog.models import Bundle, BundleItem, Discount, Plan, PlanBundle, Product, Term
from tests.catalog.admin_forms import (
    add_rows,
    admin_url,
    delete_row,
    form_errors,
    inline_errors,
    open_form,
    row_counts,
    split_datetime,
)
from tests.factories import BundleFactory, DiscountFactory, ProductFactory, TermFactory

pytestmark = pytest.mark.django_db


# --- products and codes ---------------------------------------------------------------


def test_admin_creates_a_product_from_a_complete_form(staff_client):
    data = open_form(staff_client, "product") | {"code": "digital", "name": "Digital edition"}

    response = staff_client.post(admin_url("product"), data)

    assert response.status_code == 302
    assert Product.objects.get(code="digital").name == "Digital edition"


def test_admin_refuses_a_product_code_that_is_already_taken(staff_client):
    ProductFactory(code="digital")
    data = open_form(staff_client, "product") | {"code": "digital", "name": "Second"}

    before = row_counts(Product)

    response = staff_client.post(admin_url("product"), data)

    assert form_errors(response) == {"code": ["Product with this Code already exists."]}
    assert row_counts(Product) == before


# --- discounts ------------------------------------------------------------------------


def discount_form(client, product, **fields) -> dict:
    return open_form(client, "discount") | {
        "code": "intro",
        "name": "Intro",
        "products": [str(product.pk)],
        **fields,
    }


def test_admin_refuses_a_percent_discount_without_a_percentage(staff_client):
    data = discount_form(staff_client, ProductFactory(), kind="percent", percent_off="")

    before = row_counts(Discount)

    response = staff_client.post(admin_url("discount"), data)

    assert form_errors(response) == {"percent_off": ["Enter a percentage above 0 (at most 100)."]}
    assert row_counts(Discount) == before


def test_admin_refuses_a_percent_discount_above_100(staff_client):
    data = discount_form(staff_client, ProductFactory(), kind="percent", percent_off="150")

    before = row_counts(Discount)

    response = staff_client.post(admin_url("discount"), data)

    assert form_errors(response) == {
        "percent_off": ["Ensure this value is less than or equal to 100."]
    }
    assert row_counts(Discount) == before


def test_admin_refuses_a_percent_discount_that_also_has_an_amount(staff_client):
    data = discount_form(
        staff_client, ProductFactory(), kind="percent", percent_off="10", amount_off="5.00"
    )

    before = row_counts(Discount)

    response = staff_client.post(admin_url("discount"), data)

    assert form_errors(response) == {
        "amount_off": ["A percent discount has no amount; clear this field."]
    }
    assert row_counts(Discount) == before


def test_admin_refuses_an_amount_discount_with_more_decimals_than_the_currency(staff_client):
    data = discount_form(
        staff_client, ProductFactory(), kind="amount", amount_off="1.005", currency="EUR"
    )

    before = row_counts(Discount)

    response = staff_client.post(admin_url("discount"), data)

    errors = form_errors(response)
    assert list(errors) == ["amount_off"]
    assert "Ensure that there are no more than 2 decimal places." in errors["amount_off"]
    assert row_counts(Discount) == before


def test_admin_refuses_a_discount_without_products(staff_client):
    data = discount_form(staff_client, ProductFactory(), percent_off="10", products=[])

    before = row_counts(Discount)

    response = staff_client.post(admin_url("discount"), data)

    assert form_errors(response) == {"products": ["This field is required."]}
    assert row_counts(Discount) == before


# --- terms ----------------------------------------------------------------------------


def term_form(client, **fields) -> dict:
    return open_form(client, "term") | {
        "code": "two-years",
        "name": "Two years",
        "commitment_count": "24",
        "commitment_unit": "month",
        "commitment_basis": "calendar",
        "early_cancellation": "allowed",
        **fields,
    }


PENALTY = {
    "early_cancellation": "penalty",
    "grace_period_count": "14",
    "grace_period_unit": "day",
    "penalty_fee_amount": "50.00",
    "penalty_line_type": "penalty",
    "penalty_tax_rate": "19.00",
}


def test_admin_creates_a_term_with_a_complete_penalty(staff_client):
    response = staff_client.post(admin_url("term"), term_form(staff_client, **PENALTY))

    assert response.status_code == 302
    term = Term.objects.get(code="two-years")
    assert (term.early_cancellation, term.penalty_fee_amount) == ("penalty", 50)


def test_admin_refuses_a_penalty_without_fee_or_grace_period(staff_client):
    data = term_form(staff_client, **PENALTY | {"penalty_fee_amount": "", "grace_period_count": ""})

    before = row_counts(Term)

    response = staff_client.post(admin_url("term"), data)

    assert form_errors(response) == {
        "grace_period_count": ["A penalty needs a grace period (0 for none)."],
        "penalty_fee_amount": ["A penalty needs a fee above 0."],
    }
    assert row_counts(Term) == before


def test_admin_refuses_a_penalty_fee_of_zero(staff_client):
    data = term_form(staff_client, **PENALTY | {"penalty_fee_amount": "0.00"})

    before = row_counts(Term)

    response = staff_client.post(admin_url("term"), data)

    assert form_errors(response) == {"penalty_fee_amount": ["A penalty needs a fee above 0."]}
    assert row_counts(Term) == before


def test_admin_refuses_a_calendar_term_without_a_unit(staff_client):
    data = term_form(staff_client, commitment_basis="calendar", commitment_unit="")

    before = row_counts(Term)

    response = staff_client.post(admin_url("term"), data)

    assert form_errors(response) == {
        "commitment_unit": ["Calendar time needs a unit (days, months or years)."]
    }
    assert row_counts(Term) == before


def test_admin_refuses_a_billing_cycle_term_with_a_unit(staff_client):
    data = term_form(staff_client, commitment_basis="billing_cycles", commitment_unit="month")

    before = row_counts(Term)

    response = staff_client.post(admin_url("term"), data)

    assert form_errors(response) == {
        "commitment_unit": [
            "Billing cycles take their length from the offer; leave the unit empty."
        ]
    }
    assert row_counts(Term) == before


def test_admin_refuses_a_term_that_renews_into_itself(staff_client):
    term = TermFactory(draft=True)
    data = open_form(staff_client, "term", term) | {"renewal_term": str(term.pk)}

    response = staff_client.post(admin_url("term", "change", term.pk), data)

    assert form_errors(response) == {
        "renewal_term": [
            "A term cannot renew into itself; leave this empty to renew on the same term."
        ]
    }
    term.refresh_from_db()
    assert term.renewal_term is None


def test_admin_lets_a_term_renew_into_another_term(staff_client):
    term, yearly = TermFactory(draft=True), TermFactory()
    data = open_form(staff_client, "term", term) | {"renewal_term": str(yearly.pk)}

    response = staff_client.post(admin_url("term", "change", term.pk), data)

    assert response.status_code == 302
    term.refresh_from_db()
    assert term.renewal_term == yearly


# --- bundles --------------------------------------------------------------------------


def bundle_form(client, *products, **fields) -> dict:
    data = open_form(client, "bundle") | {
        "code": "news",
        "name": "News",
        **split_datetime("valid_from", "2026-01-01 00:00"),
        **fields,
    }
    return add_rows(data, "items", *({"product": p, "required": "on"} for p in products))


def test_admin_creates_a_bundle_with_a_required_and_an_optional_product(staff_client):
    paper, archive = ProductFactory(), ProductFactory()
    data = add_rows(bundle_form(staff_client, paper), "items", {"product": archive})

    response = staff_client.post(admin_url("bundle"), data)

    assert response.status_code == 302
    items = {(i.product, i.required) for i in BundleItem.objects.filter(bundle__code="news")}
    assert items == {(paper, True), (archive, False)}


def test_admin_refuses_a_bundle_whose_validity_ends_before_it_starts(staff_client):
    data = bundle_form(
        staff_client,
        ProductFactory(),
        **split_datetime("valid_from", "2026-03-01 00:00"),
        **split_datetime("valid_until", "2026-02-01 00:00"),
    )

    before = row_counts(Bundle, BundleItem)

    response = staff_client.post(admin_url("bundle"), data)

    assert form_errors(response) == {"valid_until": ["Valid until must be after valid from."]}
    assert row_counts(Bundle, BundleItem) == before


def test_admin_refuses_a_bundle_that_ends_the_moment_it_starts(staff_client):
    data = bundle_form(
        staff_client,
        ProductFactory(),
        **split_datetime("valid_from", "2026-03-01 00:00"),
        **split_datetime("valid_until", "2026-03-01 00:00"),
    )

    before = row_counts(Bundle, BundleItem)

    response = staff_client.post(admin_url("bundle"), data)

    assert form_errors(response) == {"valid_until": ["Valid until must be after valid from."]}
    assert row_counts(Bundle, BundleItem) == before


def test_admin_refuses_a_bundle_without_products_or_discounts(staff_client):
    before = row_counts(Bundle, BundleItem)

    response = staff_client.post(admin_url("bundle"), bundle_form(staff_client))

    assert form_errors(response) == {}
    assert inline_errors(response, "items") == ["A bundle needs at least one product or discount."]
    assert row_counts(Bundle, BundleItem) == before


def test_admin_accepts_a_bundle_of_discounts_only(staff_client):
    discount = DiscountFactory()
    data = bundle_form(staff_client, discounts=[str(discount.pk)])

    response = staff_client.post(admin_url("bundle"), data)

    assert response.status_code == 302
    assert list(Bundle.objects.get(code="news").discounts.all()) == [discount]


def test_admin_refuses_a_bundle_with_the_same_product_twice(staff_client):
    paper = ProductFactory()

    before = row_counts(Bundle, BundleItem)

    response = staff_client.post(admin_url("bundle"), bundle_form(staff_client, paper, paper))

    assert inline_errors(response, "items") == ["A product appears twice in the bundle."]
    assert row_counts(Bundle, BundleItem) == before


def test_admin_refuses_removing_the_last_product_of_a_bundle(staff_client):
    bundle = BundleFactory(draft=True)
    data = delete_row(open_form(staff_client, "bundle", bundle), "items", 0)

    response = staff_client.post(admin_url("bundle", "change", bundle.pk), data)

    assert inline_errors(response, "items") == ["A bundle needs at least one product or discount."]
    assert bundle.items.count() == 1


# --- plans ----------------------------------------------------------------------------


def plan_form(client, *bundles, **fields) -> dict:
    data = open_form(client, "plan") | {
        "code": "premium",
        "name": "Premium",
        **split_datetime("valid_from", "2026-01-01 00:00"),
        **fields,
    }
    rows = ({"bundle": b, "position": str(i)} for i, b in enumerate(bundles))
    return add_rows(data, "plan_bundles", *rows)


def test_admin_creates_a_plan_with_a_bundle_and_an_add_on(staff_client):
    basic, extra = BundleFactory(), BundleFactory()
    data = plan_form(
        staff_client,
        basic,
        compatible_bundles=[str(extra.pk)],
        compatible_bundles_only="on",
        payment_methods=["invoice", "card"],
    )

    response = staff_client.post(admin_url("plan"), data)

    assert response.status_code == 302
    plan = Plan.objects.get(code="premium")
    assert list(plan.bundles.all()) == [basic]
    assert list(plan.compatible_bundles.all()) == [extra]
    assert plan.payment_methods == ["card", "invoice"]


def test_admin_refuses_a_plan_whose_validity_ends_before_it_starts(staff_client):
    data = plan_form(
        staff_client,
        BundleFactory(),
        **split_datetime("valid_from", "2026-03-01 00:00"),
        **split_datetime("valid_until", "2026-01-01 00:00"),
    )

    before = row_counts(Plan, PlanBundle)

    response = staff_client.post(admin_url("plan"), data)

    assert form_errors(response) == {"valid_until": ["Valid until must be after valid from."]}
    assert row_counts(Plan, PlanBundle) == before


def test_admin_refuses_a_plan_without_bundles(staff_client):
    before = row_counts(Plan, PlanBundle)

    response = staff_client.post(admin_url("plan"), plan_form(staff_client))

    assert form_errors(response) == {}
    assert inline_errors(response, "plan_bundles") == ["A plan needs at least one bundle."]
    assert row_counts(Plan, PlanBundle) == before


def test_admin_refuses_a_plan_bundle_that_is_also_an_add_on(staff_client):
    basic = BundleFactory(code="basic")
    data = plan_form(staff_client, basic, compatible_bundles=[str(basic.pk)])

    before = row_counts(Plan, PlanBundle)

    response = staff_client.post(admin_url("plan"), data)

    assert inline_errors(response, "plan_bundles") == [
        "basic is already in the plan, so it cannot also be an add-on."
    ]
    assert row_counts(Plan, PlanBundle) == before


def test_admin_refuses_a_plan_with_the_same_bundle_twice(staff_client):
    basic = BundleFactory()

    before = row_counts(Plan, PlanBundle)

    response = staff_client.post(admin_url("plan"), plan_form(staff_client, basic, basic))

    assert inline_errors(response, "plan_bundles") == ["A bundle appears twice in the plan."]
    assert row_counts(Plan, PlanBundle) == before
