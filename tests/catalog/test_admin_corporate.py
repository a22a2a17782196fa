"""The admin refuses corporate product contracts, their price tiers and corporate offers
that break SPEC §1, with the message on the field concerned (or above the inline), and
saves nothing: not the contract or offer, not a tier, not a link row."""

import pytest

from catalog.models import ContractTier, CorporateContract, CorporateOffer, CorporateOfferContract
from tests.catalog.admin_forms import (
    add_rows,
    admin_url,
    form_errors,
    inline_errors,
    inline_row_errors,
    open_form,
    row_counts,
    split_datetime,
)
from tests.factories import (
    CorporateContractFactory,
    CorporateOfferFactory,
    OfferFactory,
    ProductFactory,
)

pytestmark = pytest.mark.django_db

CONTRACT_ROWS = (CorporateContract, ContractTier)
OFFER_ROWS = (CorporateOffer, CorporateOfferContract)


# --- contracts ------------------------------------------------------------------------


def contract_form(client, tiers=((None, "2.50"),), **fields) -> dict:
    """The seeds' contract: 2.50 EUR per user, monthly accounting, yearly renewal."""
    data = open_form(client, "corporatecontract") | {
        "code": "digital-b2b",
        "name": "Digital for companies",
        "product": str(ProductFactory().pk),
        "duration_kind": "until_revoked",
        "accounting_period_count": "1",
        "accounting_period_unit": "month",
        "cancellation_period_count": "1",
        "cancellation_period_unit": "month",
        "subscription_interval_count": "1",
        "subscription_interval_unit": "year",
        "currency": "EUR",
        "base_fee_amount": "0.00",
        "pricing_strategy": "per_user",
        "package_size": "1",
        "tier_mode": "volume",
        **fields,
    }
    rows = (
        {"up_to": "" if up_to is None else up_to, "unit_amount": price, "flat_amount": "0.00"}
        for up_to, price in tiers
    )
    return add_rows(data, "tiers", *rows)


def post_contract(client, data):
    before = row_counts(*CONTRACT_ROWS)
    return client.post(admin_url("corporatecontract"), data), before


def test_admin_creates_a_per_package_contract_with_tiers(staff_client):
    data = contract_form(
        staff_client,
        tiers=((None, "4.00"), (5, "5.00")),
        pricing_strategy="per_package",
        package_size="10",
        base_fee_amount="0.00",
    )

    response = staff_client.post(admin_url("corporatecontract"), data)

    assert response.status_code == 302
    contract = CorporateContract.objects.get(code="digital-b2b")
    assert [(t.up_to, str(t.unit_amount)) for t in contract.tiers.all()] == [
        (5, "5.00"),
        (None, "4.00"),
    ]


def test_admin_refuses_a_package_size_with_per_user_pricing(staff_client):
    data = contract_form(staff_client, pricing_strategy="per_user", package_size="5")

    response, before = post_contract(staff_client, data)

    assert form_errors(response) == {
        "package_size": ["Per-user pricing has no packages; set the size to 1."]
    }
    assert row_counts(*CONTRACT_ROWS) == before


def test_admin_refuses_a_package_of_one_user(staff_client):
    data = contract_form(staff_client, pricing_strategy="per_package", package_size="1")

    response, before = post_contract(staff_client, data)

    assert form_errors(response) == {
        "package_size": ["A package holds at least 2 users (e.g. 10 users)."]
    }
    assert row_counts(*CONTRACT_ROWS) == before


def test_admin_refuses_a_fixed_duration_without_a_length(staff_client):
    data = contract_form(staff_client, duration_kind="fixed", duration_unit="year")

    response, before = post_contract(staff_client, data)

    assert form_errors(response) == {"duration_count": ["A fixed duration needs a length."]}
    assert row_counts(*CONTRACT_ROWS) == before


def test_admin_refuses_a_length_for_a_contract_until_revoked(staff_client):
    data = contract_form(
        staff_client, duration_kind="until_revoked", duration_count="2", duration_unit="year"
    )

    response, before = post_contract(staff_client, data)

    assert form_errors(response) == {"duration_count": ["Until revoked has no length; clear it."]}
    assert row_counts(*CONTRACT_ROWS) == before


def test_admin_refuses_a_fixed_duration_shorter_than_the_interval(staff_client):
    data = contract_form(
        staff_client, duration_kind="fixed", duration_count="6", duration_unit="month"
    )

    response, before = post_contract(staff_client, data)

    assert form_errors(response) == {
        "duration_count": ["A fixed duration cannot be shorter than the subscription interval."]
    }
    assert row_counts(*CONTRACT_ROWS) == before


def test_admin_refuses_an_accounting_period_longer_than_the_interval(staff_client):
    data = contract_form(
        staff_client,
        accounting_period_count="2",
        accounting_period_unit="month",
        subscription_interval_count="1",
        subscription_interval_unit="month",
        cancellation_period_count="0",
    )

    response, before = post_contract(staff_client, data)

    assert form_errors(response) == {
        "accounting_period_count": [
            "The accounting period cannot be longer than the subscription interval."
        ]
    }
    assert row_counts(*CONTRACT_ROWS) == before


def test_admin_refuses_a_cancellation_period_as_long_as_the_interval(staff_client):
    data = contract_form(
        staff_client,
        cancellation_period_count="12",
        cancellation_period_unit="month",
        subscription_interval_count="1",
        subscription_interval_unit="year",
    )

    response, before = post_contract(staff_client, data)

    assert form_errors(response) == {
        "cancellation_period_count": [
            "The cancellation period must be shorter than the subscription interval."
        ]
    }
    assert row_counts(*CONTRACT_ROWS) == before


def test_admin_refuses_a_base_fee_with_more_decimals_than_the_currency(staff_client):
    response, before = post_contract(
        staff_client, contract_form(staff_client, base_fee_amount="1.005")
    )

    assert form_errors(response) == {
        "base_fee_amount": ["Ensure that there are no more than 2 decimal places."]
    }
    assert row_counts(*CONTRACT_ROWS) == before


def test_admin_refuses_a_tier_price_with_more_decimals_than_the_currency(staff_client):
    data = contract_form(staff_client, tiers=((10, "2.50"), (None, "2.005")))

    response, before = post_contract(staff_client, data)

    assert inline_row_errors(response, "tiers") == [
        {},
        {"unit_amount": ["Ensure that there are no more than 2 decimal places."]},
    ]
    assert row_counts(*CONTRACT_ROWS) == before


def test_admin_refuses_a_contract_without_price_tiers(staff_client):
    response, before = post_contract(staff_client, contract_form(staff_client, tiers=()))

    assert form_errors(response) == {}
    assert inline_errors(response, "tiers") == ["A contract needs at least one price tier."]
    assert row_counts(*CONTRACT_ROWS) == before


def test_admin_refuses_two_open_ended_tiers(staff_client):
    data = contract_form(staff_client, tiers=((None, "2.50"), (None, "2.00")))

    response, before = post_contract(staff_client, data)

    assert inline_errors(response, "tiers") == [
        "Exactly one tier, the last, has no upper bound (found 2)."
    ]
    assert row_counts(*CONTRACT_ROWS) == before


def test_admin_refuses_tiers_without_an_open_ended_last_tier(staff_client):
    data = contract_form(staff_client, tiers=((10, "2.50"), (50, "2.00")))

    response, before = post_contract(staff_client, data)

    assert inline_errors(response, "tiers") == [
        "Exactly one tier, the last, has no upper bound (found 0)."
    ]
    assert row_counts(*CONTRACT_ROWS) == before


def test_admin_refuses_two_tiers_with_the_same_upper_bound(staff_client):
    data = contract_form(staff_client, tiers=((10, "2.50"), (10, "2.00"), (None, "1.50")))

    response, before = post_contract(staff_client, data)

    assert inline_errors(response, "tiers") == ["Two tiers have the same upper bound."]
    assert row_counts(*CONTRACT_ROWS) == before


def test_admin_refuses_a_contract_change_that_breaks_its_corporate_offer(staff_client):
    kept = CorporateContractFactory(code="paper-b2b")
    changed = CorporateContractFactory(code="digital-b2b")
    CorporateOfferFactory(
        code="press-b2b", structure="individual_products", contracts=[kept, changed]
    )
    data = open_form(staff_client, "corporatecontract", changed) | {
        "subscription_interval_count": "2"
    }

    response = staff_client.post(admin_url("corporatecontract", "change", changed.pk), data)

    assert form_errors(response) == {
        "__all__": [
            "This change would break corporate offer press-b2b: All contracts of one offer "
            "must have the same terms: paper-b2b and digital-b2b differ in subscription "
            "interval."
        ]
    }
    changed.refresh_from_db()
    assert changed.subscription_interval_count == 1


def test_admin_refuses_a_maximum_user_change_that_breaks_a_bundle_offer(staff_client):
    kept = CorporateContractFactory(code="paper-b2b", maximum_users=50)
    changed = CorporateContractFactory(code="digital-b2b", maximum_users=50)
    CorporateOfferFactory(code="press-b2b", structure="bundle", contracts=[kept, changed])
    data = open_form(staff_client, "corporatecontract", changed) | {"maximum_users": "80"}

    response = staff_client.post(admin_url("corporatecontract", "change", changed.pk), data)

    assert form_errors(response) == {
        "__all__": [
            "This change would break corporate offer press-b2b: In a bundle every contract has "
            "the same maximum user count, because each user gets every product: paper-b2b "
            "and digital-b2b differ."
        ]
    }
    changed.refresh_from_db()
    assert changed.maximum_users == 50


def test_admin_saves_a_contract_change_its_offers_allow(staff_client):
    kept = CorporateContractFactory(maximum_users=50)
    changed = CorporateContractFactory(maximum_users=50)
    CorporateOfferFactory(structure="individual_products", contracts=[kept, changed])
    data = open_form(staff_client, "corporatecontract", changed) | {"maximum_users": "80"}

    response = staff_client.post(admin_url("corporatecontract", "change", changed.pk), data)

    assert response.status_code == 302
    changed.refresh_from_db()
    assert changed.maximum_users == 80


# --- corporate offers -----------------------------------------------------------------


def corporate_offer_form(client, *contracts, **fields) -> dict:
    data = open_form(client, "corporateoffer") | {
        "code": "press-b2b",
        "name": "Press for companies",
        "structure": "individual_products",
        **split_datetime("valid_from", "2026-01-01 00:00"),
        **fields,
    }
    return add_rows(data, "offer_contracts", *({"contract": c} for c in contracts))


def post_corporate_offer(client, data):
    before = row_counts(*OFFER_ROWS)
    return client.post(admin_url("corporateoffer"), data), before


def test_admin_creates_a_bundle_offer_of_two_contracts(staff_client):
    a = CorporateContractFactory(maximum_users=50)
    b = CorporateContractFactory(maximum_users=50)
    data = corporate_offer_form(staff_client, a, b, structure="bundle")

    response = staff_client.post(admin_url("corporateoffer"), data)

    assert response.status_code == 302
    offer = CorporateOffer.objects.get(code="press-b2b")
    assert set(offer.contracts.all()) == {a, b}


def test_admin_accepts_different_maximum_users_for_individual_products(staff_client):
    a = CorporateContractFactory(maximum_users=50)
    b = CorporateContractFactory(maximum_users=None)
    data = corporate_offer_form(staff_client, a, b, structure="individual_products")

    response = staff_client.post(admin_url("corporateoffer"), data)

    assert response.status_code == 302
    assert CorporateOffer.objects.get(code="press-b2b").contracts.count() == 2


def test_admin_refuses_a_corporate_offer_without_contracts(staff_client):
    response, before = post_corporate_offer(staff_client, corporate_offer_form(staff_client))

    assert form_errors(response) == {}
    assert inline_errors(response, "offer_contracts") == [
        "A corporate offer needs at least one contract."
    ]
    assert row_counts(*OFFER_ROWS) == before


def test_admin_refuses_a_corporate_offer_whose_validity_ends_before_it_starts(staff_client):
    data = corporate_offer_form(
        staff_client,
        CorporateContractFactory(),
        **split_datetime("valid_until", "2025-06-01 00:00"),
    )

    response, before = post_corporate_offer(staff_client, data)

    assert form_errors(response) == {"valid_until": ["Valid until must be after valid from."]}
    assert row_counts(*OFFER_ROWS) == before


def test_admin_refuses_two_contracts_for_a_one_product_offer(staff_client):
    data = corporate_offer_form(
        staff_client,
        CorporateContractFactory(),
        CorporateContractFactory(),
        structure="single_product",
    )

    response, before = post_corporate_offer(staff_client, data)

    assert inline_errors(response, "offer_contracts") == [
        "A one-product offer has exactly one contract (found 2)."
    ]
    assert row_counts(*OFFER_ROWS) == before


def test_admin_refuses_two_contracts_of_one_product(staff_client):
    paper = ProductFactory()
    data = corporate_offer_form(
        staff_client,
        CorporateContractFactory(product=paper),
        CorporateContractFactory(product=paper),
    )

    response, before = post_corporate_offer(staff_client, data)

    assert inline_errors(response, "offer_contracts") == [
        "Each product has exactly one contract in an offer; a product appears twice."
    ]
    assert row_counts(*OFFER_ROWS) == before


def test_admin_refuses_the_same_contract_twice(staff_client):
    contract = CorporateContractFactory()
    data = corporate_offer_form(staff_client, contract, contract)

    response, before = post_corporate_offer(staff_client, data)

    assert inline_errors(response, "offer_contracts") == [
        "Each product has exactly one contract in an offer; a product appears twice."
    ]
    assert row_counts(*OFFER_ROWS) == before


@pytest.mark.parametrize(
    ("field", "value", "label"),
    [
        ("accounting_period_unit", "week", "accounting period unit"),
        ("cancellation_period_count", 2, "cancellation period"),
        ("subscription_interval_count", 2, "subscription interval"),
        ("duration_kind", "fixed", "duration, duration length, duration unit"),
    ],
)
def test_admin_refuses_contracts_whose_terms_differ_and_names_the_field(
    staff_client, field, value, label
):
    other = {field: value}
    if field == "duration_kind":
        other |= {"duration_count": 2, "duration_unit": "year"}
    data = corporate_offer_form(
        staff_client,
        CorporateContractFactory(code="paper-b2b"),
        CorporateContractFactory(code="digital-b2b", **other),
    )

    response, before = post_corporate_offer(staff_client, data)

    assert inline_errors(response, "offer_contracts") == [
        "All contracts of one offer must have the same terms: paper-b2b and digital-b2b "
        f"differ in {label}."
    ]
    assert row_counts(*OFFER_ROWS) == before


def test_admin_refuses_contracts_in_different_currencies(staff_client):
    data = corporate_offer_form(
        staff_client,
        CorporateContractFactory(code="paper-b2b", currency="EUR"),
        CorporateContractFactory(code="digital-b2b", currency="CHF"),
    )

    response, before = post_corporate_offer(staff_client, data)

    assert inline_errors(response, "offer_contracts") == [
        "All contracts of one offer are in one currency: paper-b2b and digital-b2b differ."
    ]
    assert row_counts(*OFFER_ROWS) == before


def test_admin_refuses_a_bundle_whose_contracts_differ_in_maximum_users(staff_client):
    data = corporate_offer_form(
        staff_client,
        CorporateContractFactory(code="paper-b2b", maximum_users=50),
        CorporateContractFactory(code="digital-b2b", maximum_users=None),
        structure="bundle",
    )

    response, before = post_corporate_offer(staff_client, data)

    assert inline_errors(response, "offer_contracts") == [
        "In a bundle every contract has the same maximum user count, because each user gets "
        "every product: paper-b2b and digital-b2b differ."
    ]
    assert row_counts(*OFFER_ROWS) == before


def test_admin_refuses_switching_an_offer_to_bundle_when_maximum_users_differ(staff_client):
    offer = CorporateOfferFactory(
        draft=True,
        structure="individual_products",
        contracts=[
            CorporateContractFactory(code="paper-b2b", maximum_users=50),
            CorporateContractFactory(code="digital-b2b", maximum_users=80),
        ],
    )
    data = open_form(staff_client, "corporateoffer", offer) | {"structure": "bundle"}

    response = staff_client.post(admin_url("corporateoffer", "change", offer.pk), data)

    assert inline_errors(response, "offer_contracts") == [
        "In a bundle every contract has the same maximum user count, because each user gets "
        "every product: paper-b2b and digital-b2b differ."
    ]
    offer.refresh_from_db()
    assert offer.structure == "individual_products"


def test_admin_refuses_a_corporate_offer_code_that_an_offer_uses(staff_client):
    OfferFactory(code="press-b2b")
    data = corporate_offer_form(staff_client, CorporateContractFactory())

    response, before = post_corporate_offer(staff_client, data)

    assert form_errors(response) == {
        "code": ["An offer with this code already exists; offer codes are shared."]
    }
    assert row_counts(*OFFER_ROWS) == before
