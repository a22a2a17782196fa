"""The database's CHECK and UNIQUE constraints are the backstop behind `full_clean()`:
rows saved directly, bypassing every form and service, are still refused."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from catalog.models import (
    BundleItem,
    ContractTier,
    PlanBundle,
    Term,
)
from tests.catalog.admin_forms import row_counts
from tests.factories import (
    BundleFactory,
    CorporateContractFactory,
    CorporateOfferFactory,
    DiscountFactory,
    OfferFactory,
    PlanFactory,
    ProductFactory,
    TermFactory,
)

pytestmark = pytest.mark.django_db


def refused_by_database(obj, constraint: str) -> None:
    """Save without `full_clean()` and show the named constraint refuses the row."""
    model = type(obj)
    before = row_counts(model)
    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        obj.save()
    assert row_counts(model) == before


@pytest.mark.parametrize(
    ("factory", "table"),
    [
        (BundleFactory, "bundle"),
        (PlanFactory, "plan"),
        (OfferFactory, "offer"),
        (CorporateOfferFactory, "corporateoffer"),
    ],
)
def test_database_refuses_validity_that_ends_before_it_starts(factory, table):
    item = factory()
    item.valid_until = datetime(2025, 1, 1, tzinfo=UTC)

    refused_by_database(item, f"{table}_valid_from_before_valid_until")

    item.refresh_from_db()
    assert item.valid_until is None


@pytest.mark.parametrize(
    "shape",
    [
        {"kind": "single_product"},  # keeps its monthly interval
        {"kind": "simple_subscription", "billing_interval_count": None},
        {"kind": "simple_subscription", "billing_interval_unit": ""},
        {"kind": "complex_subscription"},  # a product, no plan
    ],
    ids=["single-with-interval", "simple-without-count", "simple-without-unit", "complex-no-plan"],
)
def test_database_refuses_an_offer_whose_fields_do_not_fit_its_type(shape):
    offer = OfferFactory.build(product=ProductFactory(), **shape)

    refused_by_database(offer, "offer_kind_shape")


def test_database_refuses_an_invitation_url_on_a_single_user_offer():
    offer = OfferFactory.build(
        product=ProductFactory(), user_count=0, invitation_url="https://news.example/join"
    )

    refused_by_database(offer, "offer_invitation_url_only_multi_user")


@pytest.mark.parametrize(
    "values",
    [
        {"kind": "percent", "percent_off": Decimal(10), "amount_off": Decimal(5)},
        {"kind": "percent", "percent_off": None},
        {"kind": "percent", "percent_off": Decimal("100.50")},
        {"kind": "amount", "amount_off": None, "percent_off": None},
        {"kind": "amount", "amount_off": Decimal(5), "percent_off": Decimal(10)},
    ],
)
def test_database_refuses_a_discount_that_is_not_percent_xor_amount(values):
    refused_by_database(DiscountFactory.build(**values), "discount_percent_xor_amount")


def test_database_refuses_a_penalty_term_without_a_fee():
    term = TermFactory.build(with_penalty=True, penalty_fee_amount=None)

    refused_by_database(term, "term_penalty_fields_complete")


def test_database_refuses_a_penalty_term_without_a_grace_period():
    term = TermFactory.build(with_penalty=True, grace_period_count=None)

    refused_by_database(term, "term_penalty_fields_complete")


def test_database_refuses_a_complex_subscription_without_a_billing_interval():
    offer = OfferFactory.build(complex=True, plan=PlanFactory(), billing_interval_count=None)

    refused_by_database(offer, "offer_kind_shape")


def test_database_refuses_penalty_fields_without_a_penalty():
    term = TermFactory.build(penalty_fee_amount=Decimal(50))

    refused_by_database(term, "term_no_penalty_fields_without_penalty")


@pytest.mark.parametrize(("basis", "unit"), [("calendar", ""), ("billing_cycles", "month")])
def test_database_refuses_a_commitment_unit_that_does_not_fit_the_basis(basis, unit):
    term = TermFactory.build(commitment_basis=basis, commitment_unit=unit)

    refused_by_database(term, "term_unit_matches_basis")


def test_database_refuses_a_term_that_renews_into_itself():
    term = TermFactory()
    term.renewal_term_id = term.pk

    refused_by_database(term, "term_does_not_renew_into_itself")

    assert Term.objects.get(pk=term.pk).renewal_term_id is None


def test_database_refuses_the_same_product_twice_in_a_bundle():
    bundle = BundleFactory()

    refused_by_database(
        BundleItem(bundle=bundle, product=bundle.products.get()), "bundle_item_product_once"
    )


def test_database_refuses_the_same_bundle_twice_in_a_plan():
    plan = PlanFactory()

    refused_by_database(PlanBundle(plan=plan, bundle=plan.bundles.get()), "plan_bundle_once")


def test_database_refuses_two_tiers_with_the_same_upper_bound():
    contract = CorporateContractFactory(tiers=[(10, "2.50"), (None, "2.00")])

    refused_by_database(
        ContractTier(contract=contract, up_to=10, unit_amount=Decimal("2.20")),
        "tier_bound_unique",
    )


def test_database_refuses_a_second_open_ended_tier():
    contract = CorporateContractFactory(tiers=[(10, "2.50"), (None, "2.00")])

    refused_by_database(
        ContractTier(contract=contract, up_to=None, unit_amount=Decimal("1.50")),
        "tier_one_open_tier",
    )


def test_database_accepts_open_ended_tiers_of_different_contracts():
    first, second = CorporateContractFactory(), CorporateContractFactory()

    assert ContractTier.objects.filter(contract__in=[first, second], up_to=None).count() == 2


@pytest.mark.parametrize(
    "values",
    [
        {"duration_kind": "fixed"},
        {"duration_kind": "fixed", "duration_count": 2},
        {"duration_kind": "fixed", "duration_unit": "year"},
        {"duration_kind": "until_revoked", "duration_count": 2, "duration_unit": "year"},
    ],
)
def test_database_refuses_a_contract_duration_of_the_wrong_shape(values):
    contract = CorporateContractFactory.build(product=ProductFactory(), **values)

    refused_by_database(contract, "contract_duration_shape")


def test_database_refuses_packages_with_per_user_pricing():
    contract = CorporateContractFactory.build(product=ProductFactory(), package_size=5)

    refused_by_database(contract, "contract_package_size_only_per_package")


def test_database_refuses_a_duplicate_code():
    OfferFactory(code="digital")

    refused_by_database(
        OfferFactory.build(code="digital", product=ProductFactory()), "catalog_offer_code"
    )
