"""The catalog's rules at the model level: `full_clean()` names the field at fault, and the
set-level rule functions (shared by the admin inlines, services and the API) refuse the
sets SPEC §1 forbids."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from catalog.models import (
    ContractFolder,
    ContractTier,
    CorporateContract,
    Product,
    Term,
    validate_bundle_contents,
    validate_offer_contracts,
    validate_plan_bundles,
    validate_tiers,
)
from tests.factories import (
    BundleFactory,
    ContractFolderFactory,
    ContractTierFactory,
    CorporateContractFactory,
    CorporateOfferFactory,
    DiscountFactory,
    OfferFactory,
    PlanFactory,
    ProductFactory,
    TermFactory,
)

pytestmark = pytest.mark.django_db

BEFORE = datetime(2025, 12, 1, tzinfo=UTC)


def errors_of(obj) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as error:
        obj.full_clean()
    return error.value.message_dict


# --- every factory builds something valid ---------------------------------------------


@pytest.mark.parametrize(
    "build",
    [
        ProductFactory,
        DiscountFactory,
        lambda: DiscountFactory(fixed_amount=True),
        TermFactory,
        lambda: TermFactory(with_penalty=True),
        lambda: TermFactory(billing_cycles=True, not_cancellable=True),
        BundleFactory,
        PlanFactory,
        OfferFactory,
        lambda: OfferFactory(single_product=True, multi_user=True),
        lambda: OfferFactory(complex=True),
        CorporateContractFactory,
        lambda: CorporateContractFactory(per_package=True, fixed_duration=True),
        CorporateOfferFactory,
        ContractTierFactory,
    ],
)
def test_factories_build_objects_that_pass_their_own_rules(build):
    build().full_clean()


def test_factory_defaults_satisfy_the_set_level_rules():
    bundle = BundleFactory(optional_products=[ProductFactory()], discounts=[DiscountFactory()])
    plan = PlanFactory(bundles=[bundle], compatible_bundles=[BundleFactory()])
    contract = CorporateContractFactory(tiers=[(10, "2.50"), (50, "2.00"), (None, "1.50")])
    offer = CorporateOfferFactory(
        structure="bundle",
        contracts=[contract, CorporateContractFactory()],
    )

    validate_bundle_contents(products=list(bundle.products.all()), discounts=[])
    validate_plan_bundles(
        bundles=list(plan.bundles.all()), compatible=list(plan.compatible_bundles.all())
    )
    validate_tiers(list(contract.tiers.values_list("up_to", flat=True)))
    validate_offer_contracts(offer.structure, offer.contracts.all())
    assert bundle.items.filter(required=False).count() == 1


# --- shared by every catalog item -------------------------------------------------------


@pytest.mark.parametrize(
    "factory", [BundleFactory, PlanFactory, OfferFactory, CorporateOfferFactory]
)
def test_validity_must_end_after_it_starts(factory):
    item = factory()
    item.valid_until = BEFORE

    assert errors_of(item) == {"valid_until": ["Valid until must be after valid from."]}


def test_a_code_is_unique_per_kind_of_item():
    ProductFactory(code="digital")

    assert errors_of(ProductFactory.build(code="digital")) == {
        "code": ["Product with this Code already exists."]
    }


def test_nothing_returns_to_draft_once_it_left_draft():
    product = ProductFactory(archived=True)
    product.status = "draft"

    assert errors_of(product) == {
        "status": [
            "Once active, it cannot return to draft: it may have been sold. Archive it instead."
        ]
    }


def test_a_draft_can_stay_a_draft():
    product = ProductFactory(draft=True)
    product.name = "Renamed"

    product.full_clean()


def test_amounts_are_in_one_of_the_merchants_currencies():
    offer = OfferFactory(price_amount=Decimal(10))
    offer.currency = "JPY"

    assert errors_of(offer) == {
        "currency": ["JPY is not one of the merchant's currencies (EUR, USD, CHF, GBP)."]
    }


# --- offers -----------------------------------------------------------------------------


def test_the_user_count_of_a_saved_offer_cannot_fall():
    offer = OfferFactory(multi_user=True, user_count=9)
    offer.user_count = 4

    assert errors_of(offer) == {
        "user_count": [
            "The user count can be raised but never lowered (it was 9): customers may have "
            "bought it. Create a new offer instead."
        ]
    }


def test_the_user_count_compares_with_what_was_saved_last():
    offer = OfferFactory(multi_user=True, user_count=4)
    offer.user_count = 9
    offer.full_clean()
    offer.save()
    offer.user_count = 6

    assert list(errors_of(offer)) == ["user_count"]


def test_the_user_count_of_a_saved_offer_can_rise():
    offer = OfferFactory(multi_user=True, user_count=4)
    offer.user_count = 5

    offer.full_clean()


def test_only_a_multi_user_offer_has_an_invitation_url():
    offer = OfferFactory(user_count=0)
    offer.invitation_url = "https://news.example/join"

    assert errors_of(offer) == {
        "invitation_url": ["Only multi-user offers (user count above 0) have an invitation URL."]
    }


def test_a_complex_subscription_sells_a_plan_not_a_product():
    offer = OfferFactory(complex=True)
    offer.plan = None
    offer.product = ProductFactory()

    assert errors_of(offer) == {
        "plan": ["A complex time-based subscription sells a plan."],
        "product": ["A complex subscription sells a plan, not a product."],
    }


def test_a_product_offer_sells_no_plan():
    offer = OfferFactory()
    offer.plan = PlanFactory()

    assert errors_of(offer) == {"plan": ["Only complex time-based subscriptions sell a plan."]}


def test_a_single_product_has_no_billing_interval():
    offer = OfferFactory(single_product=True)
    offer.billing_interval_unit = "month"

    assert errors_of(offer) == {
        "billing_interval_count": [
            "A single product is a one-time purchase; leave the interval empty."
        ]
    }


def test_a_subscription_needs_a_billing_interval():
    offer = OfferFactory()
    offer.billing_interval_count, offer.billing_interval_unit = None, ""

    assert errors_of(offer) == {
        "billing_interval_count": ["A subscription needs a billing interval."],
        "billing_interval_unit": ["Choose the billing interval's unit."],
    }


def test_a_price_has_no_more_decimals_than_its_currency():
    offer = OfferFactory(price_amount=Decimal("1.005"))

    assert errors_of(offer) == {
        "price_amount": [
            "Ensure that there are no more than 2 decimal places.",
            "EUR amounts have at most 2 decimal places.",
        ]
    }


def test_an_active_offer_cannot_sell_an_archived_product():
    offer = OfferFactory(product=ProductFactory(archived=True, code="paper", name="Paper"))

    assert errors_of(offer) == {"product": ["Paper (paper) is archived; activate it first."]}


def test_a_draft_offer_may_name_an_archived_product():
    OfferFactory(draft=True, product=ProductFactory(archived=True)).full_clean()


def test_an_offer_code_cannot_be_a_corporate_offer_code():
    CorporateOfferFactory(code="press")

    assert errors_of(OfferFactory.build(code="press", product=ProductFactory())) == {
        "code": ["A corporate offer with this code exists; offer codes are shared."]
    }


def test_a_corporate_offer_code_cannot_be_an_offer_code():
    OfferFactory(code="press")

    assert errors_of(CorporateOfferFactory.build(code="press")) == {
        "code": ["An offer with this code already exists; offer codes are shared."]
    }


# --- discounts --------------------------------------------------------------------------


def test_a_percent_discount_needs_a_percentage():
    discount = DiscountFactory()
    discount.percent_off = None

    assert errors_of(discount) == {"percent_off": ["Enter a percentage above 0 (at most 100)."]}


def test_a_percent_discount_is_at_most_100():
    discount = DiscountFactory()
    discount.percent_off = Decimal("100.01")

    assert errors_of(discount) == {
        "percent_off": ["Ensure this value is less than or equal to 100."]
    }


def test_a_percent_discount_has_no_amount():
    discount = DiscountFactory()
    discount.amount_off = Decimal("5.00")

    assert errors_of(discount) == {
        "amount_off": ["A percent discount has no amount; clear this field."]
    }


def test_an_amount_discount_needs_an_amount_and_no_percentage():
    discount = DiscountFactory(fixed_amount=True)
    discount.amount_off, discount.percent_off = None, Decimal(10)

    assert errors_of(discount) == {
        "amount_off": ["Enter an amount above 0."],
        "percent_off": ["An amount discount has no percentage; clear it."],
    }


def test_an_amount_discount_has_no_more_decimals_than_its_currency():
    discount = DiscountFactory(fixed_amount=True, amount_off=Decimal("1.005"))

    assert errors_of(discount) == {
        "amount_off": [
            "Ensure that there are no more than 2 decimal places.",
            "EUR amounts have at most 2 decimal places.",
        ]
    }


# --- terms ------------------------------------------------------------------------------


def test_a_penalty_needs_every_penalty_field():
    term = TermFactory()
    term.early_cancellation = Term.EarlyCancellation.PENALTY

    assert errors_of(term) == {
        "grace_period_count": ["A penalty needs a grace period (0 for none)."],
        "grace_period_unit": ["Choose the grace period's unit."],
        "penalty_fee_amount": ["A penalty needs a fee above 0."],
        "penalty_line_type": ["Choose how the penalty appears on the invoice."],
        "penalty_tax_rate": ["Enter the penalty's tax rate (0 for none)."],
    }


def test_a_penalty_fee_has_no_more_decimals_than_its_currency():
    term = TermFactory(with_penalty=True, penalty_fee_amount=Decimal("50.005"))

    assert errors_of(term)["penalty_fee_amount"][-1] == (
        "EUR amounts have at most 2 decimal places."
    )


def test_leaving_penalty_clears_the_penalty_fields():
    term = TermFactory(with_penalty=True)
    term.early_cancellation = Term.EarlyCancellation.ALLOWED

    term.full_clean()

    assert (term.grace_period_count, term.penalty_fee_amount, term.penalty_line_type) == (
        None,
        None,
        "",
    )
    assert term.pro_rata_penalty is False


def test_calendar_time_needs_a_unit():
    term = TermFactory()
    term.commitment_unit = ""

    assert errors_of(term) == {
        "commitment_unit": ["Calendar time needs a unit (days, months or years)."]
    }


def test_billing_cycles_have_no_unit():
    term = TermFactory(billing_cycles=True)
    term.commitment_unit = "year"

    assert errors_of(term) == {
        "commitment_unit": [
            "Billing cycles take their length from the offer; leave the unit empty."
        ]
    }


def test_a_term_cannot_renew_into_itself():
    term = TermFactory()
    term.renewal_term = term

    assert errors_of(term) == {
        "renewal_term": [
            "A term cannot renew into itself; leave this empty to renew on the same term."
        ]
    }


# --- plans ------------------------------------------------------------------------------


def test_a_plan_accepts_only_known_payment_methods():
    plan = PlanFactory(payment_methods=["card", "cash"])

    assert errors_of(plan) == {
        "payment_methods": ["Choose payment methods from: card, sepa_debit, invoice."]
    }


def test_a_plan_keeps_payment_methods_in_a_fixed_order():
    plan = PlanFactory(payment_methods=["invoice", "card"])

    plan.full_clean()

    assert plan.payment_methods == ["card", "invoice"]


# --- corporate contracts ----------------------------------------------------------------


def test_a_contract_with_the_model_defaults_is_valid():
    contract = CorporateContract(code="defaults", name="Defaults", product=ProductFactory())

    contract.full_clean()


def test_per_user_pricing_has_a_package_size_of_one():
    contract = CorporateContractFactory()
    contract.package_size = 5

    assert errors_of(contract) == {
        "package_size": ["Per-user pricing has no packages; set the size to 1."]
    }


def test_a_package_holds_at_least_two_users():
    contract = CorporateContractFactory(per_package=True, package_size=1)

    assert errors_of(contract) == {
        "package_size": ["A package holds at least 2 users (e.g. 10 users)."]
    }


def test_a_fixed_duration_needs_a_length_and_unit():
    contract = CorporateContractFactory()
    contract.duration_kind = CorporateContract.Duration.FIXED

    assert errors_of(contract) == {
        "duration_count": ["A fixed duration needs a length."],
        "duration_unit": ["Choose the duration's unit."],
    }


def test_until_revoked_has_no_length():
    contract = CorporateContractFactory()
    contract.duration_count, contract.duration_unit = 2, "year"

    assert errors_of(contract) == {"duration_count": ["Until revoked has no length; clear it."]}


def test_the_accounting_period_is_not_longer_than_the_interval():
    contract = CorporateContractFactory(
        accounting_period_count=13,
        accounting_period_unit="month",
        cancellation_period_count=0,
    )

    assert errors_of(contract) == {
        "accounting_period_count": [
            "The accounting period cannot be longer than the subscription interval."
        ]
    }


def test_the_cancellation_period_is_shorter_than_the_interval():
    contract = CorporateContractFactory(
        cancellation_period_count=12,
        cancellation_period_unit="month",
        subscription_interval_count=1,
        subscription_interval_unit="year",
    )

    assert errors_of(contract) == {
        "cancellation_period_count": [
            "The cancellation period must be shorter than the subscription interval."
        ]
    }


def test_a_cancellation_period_of_52_weeks_is_shorter_than_a_year():
    CorporateContractFactory(
        cancellation_period_count=52,
        cancellation_period_unit="week",
        subscription_interval_count=1,
        subscription_interval_unit="year",
    ).full_clean()


def test_a_base_fee_has_no_more_decimals_than_its_currency():
    contract = CorporateContractFactory(base_fee_amount=Decimal("0.001"))

    assert errors_of(contract)["base_fee_amount"][-1] == (
        "EUR amounts have at most 2 decimal places."
    )


def test_a_tier_price_has_no_more_decimals_than_the_contract_currency():
    tier = ContractTierFactory(unit_amount=Decimal("2.505"))

    assert errors_of(tier)["unit_amount"][-1] == ("EUR amounts have at most 2 decimal places.")


def test_a_contract_change_may_not_break_an_offer_it_is_part_of():
    kept = CorporateContractFactory(code="paper-b2b")
    changed = CorporateContractFactory(code="digital-b2b")
    CorporateOfferFactory(code="press-b2b", structure="bundle", contracts=[kept, changed])
    changed.maximum_users = 25

    assert errors_of(changed) == {
        "__all__": [
            "This change would break corporate offer press-b2b: In a bundle every contract has "
            "the same maximum user count, because each user gets every product: paper-b2b "
            "and digital-b2b differ."
        ]
    }


def test_a_folder_cannot_move_into_its_own_subfolder():
    root = ContractFolderFactory()
    child = ContractFolderFactory(parent=root)
    root.parent = child

    assert errors_of(root) == {
        "parent": ["A folder cannot be moved into itself or its subfolders."]
    }


def test_folders_nest_at_most_five_levels_deep():
    folder = None
    for level in range(5):
        folder = ContractFolderFactory(name=f"level-{level}", parent=folder)
    too_deep = ContractFolder(name="level-5", parent=folder)

    assert errors_of(too_deep) == {"parent": ["Folders nest at most 5 levels deep."]}


def test_moving_a_folder_refuses_a_subtree_that_would_end_too_deep():
    top = ContractFolderFactory(name="top")
    deep = top
    for level in range(3):
        deep = ContractFolderFactory(name=f"deep-{level}", parent=deep)
    branch = ContractFolderFactory(name="branch")
    ContractFolderFactory(name="leaf", parent=branch)
    branch.parent = deep  # 4 levels above + branch + leaf = 6

    assert errors_of(branch) == {"parent": ["Folders nest at most 5 levels deep."]}


def test_a_folder_shows_its_path():
    leaf = ContractFolderFactory(
        name="Acme",
        parent=ContractFolderFactory(name="DACH", parent=ContractFolderFactory(name="B2B")),
    )

    assert str(leaf) == "B2B / DACH / Acme"


# --- the set-level rules ----------------------------------------------------------------


def rule_error(rule, *args, **kwargs) -> ValidationError:
    with pytest.raises(ValidationError) as error:
        rule(*args, **kwargs)
    return error.value


def test_a_bundle_needs_a_product_or_a_discount():
    error = rule_error(validate_bundle_contents, products=[], discounts=[])

    assert (error.code, error.messages) == (
        "empty_bundle",
        ["A bundle needs at least one product or discount."],
    )


def test_a_bundle_holds_each_product_once():
    paper = ProductFactory()

    error = rule_error(validate_bundle_contents, products=[paper, paper], discounts=[])

    assert error.messages == ["A product appears twice in the bundle."]


def test_a_plan_needs_a_bundle():
    error = rule_error(validate_plan_bundles, bundles=[], compatible=[BundleFactory()])

    assert error.messages == ["A plan needs at least one bundle."]


def test_an_included_bundle_is_not_also_an_add_on():
    basic, extra = BundleFactory(code="basic"), BundleFactory(code="extra")

    error = rule_error(validate_plan_bundles, bundles=[basic, extra], compatible=[extra, basic])

    assert error.messages == [
        "basic, extra is already in the plan, so it cannot also be an add-on."
    ]


@pytest.mark.parametrize(
    ("bounds", "message"),
    [
        ([], "A contract needs at least one price tier."),
        ([10, None, None], "Exactly one tier, the last, has no upper bound (found 2)."),
        ([10, 50], "Exactly one tier, the last, has no upper bound (found 0)."),
        ([10, 10, None], "Two tiers have the same upper bound."),
    ],
)
def test_tiers_have_one_open_last_tier_and_distinct_bounds(bounds, message):
    assert rule_error(validate_tiers, bounds).messages == [message]


def test_tiers_may_be_given_in_any_order():
    validate_tiers([None, 50, 10])


def test_a_corporate_offer_needs_a_contract():
    assert rule_error(validate_offer_contracts, "bundle", []).messages == [
        "A corporate offer needs at least one contract."
    ]


def test_individual_products_may_differ_in_maximum_users():
    contracts = [CorporateContractFactory(maximum_users=5), CorporateContractFactory()]

    validate_offer_contracts("individual_products", contracts)


def test_every_term_field_must_match_across_an_offers_contracts():
    base = CorporateContractFactory.build(code="a", product=ProductFactory())
    for field in CorporateContract.TERM_FIELDS:
        other = CorporateContractFactory.build(code="b", product=ProductFactory())
        setattr(other, field, "changed")
        label = CorporateContract._meta.get_field(field).verbose_name

        error = rule_error(validate_offer_contracts, "individual_products", [base, other])

        assert error.messages == [
            f"All contracts of one offer must have the same terms: a and b differ in {label}."
        ], field


def test_a_tier_of_a_contract_being_created_is_checked_in_that_contracts_currency():
    contract = CorporateContractFactory.build(currency="USD", product=ProductFactory())
    tier = ContractTier(contract=contract, up_to=None, unit_amount=Decimal("1.505"))

    with pytest.raises(ValidationError) as error:
        tier.full_clean(exclude=["contract"])

    assert error.value.message_dict["unit_amount"][-1] == (
        "USD amounts have at most 2 decimal places."
    )


def test_codes_are_stored_lower_case_so_case_variants_collide():
    ProductFactory(code="tb-digital")
    shouting = Product(code="TB-DIGITAL", name="Digital", tax_rate=Decimal("7.00"))

    assert errors_of(shouting) == {"code": ["Product with this Code already exists."]}
    assert shouting.code == "tb-digital"
