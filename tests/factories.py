"""factory-boy factories for the catalog, shared by the whole suite.

Every factory builds an object that passes its own model's `full_clean()` and the
catalog's set-level rules, with fixed `Decimal` amounts (no randomness). Catalog items
are **active** by default, because most tests want something sellable; the traits
`draft=True` and `archived=True` give the other states.

Related rows are passed as plain lists:

    BundleFactory(products=[paper], optional_products=[archive], discounts=[intro])
    PlanFactory(bundles=[basic], compatible_bundles=[extra])
    CorporateContractFactory(tiers=[(10, "2.50"), (None, "2.00")])
    CorporateOfferFactory(structure="bundle", contracts=[a, b])

Leaving such a list out creates one sensible default (one required product, one bundle,
one open tier, one contract); pass `[]` for none.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import factory
from factory.django import DjangoModelFactory

from catalog.models import (
    Bundle,
    BundleItem,
    ContractFolder,
    ContractTier,
    CorporateContract,
    CorporateOffer,
    CorporateOfferContract,
    Discount,
    Offer,
    PeriodUnit,
    Plan,
    PlanBundle,
    Product,
    ReportingTag,
    Status,
    Term,
)

VALID_FROM = datetime(2026, 1, 1, tzinfo=UTC)


class CatalogItemFactory(DjangoModelFactory):
    """Status traits shared by every catalog item."""

    class Meta:
        abstract = True
        skip_postgeneration_save = True

    status = Status.ACTIVE

    class Params:
        draft = factory.Trait(status=Status.DRAFT)
        archived = factory.Trait(status=Status.ARCHIVED)


class ProductFactory(CatalogItemFactory):
    class Meta:
        model = Product

    code = factory.Sequence(lambda n: f"product-{n}")
    name = factory.Sequence(lambda n: f"Product {n}")
    ledger_account = "8400"
    tax_rate = Decimal("19.00")


class DiscountFactory(CatalogItemFactory):
    """10 % off one new product; `fixed_amount=True` for 5.00 EUR off."""

    class Meta:
        model = Discount

    code = factory.Sequence(lambda n: f"discount-{n}")
    name = factory.Sequence(lambda n: f"Discount {n}")
    kind = Discount.Kind.PERCENT
    percent_off = Decimal("10.00")
    amount_off = None
    currency = "EUR"

    class Params:
        fixed_amount = factory.Trait(
            kind=Discount.Kind.AMOUNT, percent_off=None, amount_off=Decimal("5.00")
        )

    @factory.post_generation
    def products(self, create, extracted, **kwargs):
        if not create:
            return
        products = [ProductFactory()] if extracted is None else extracted
        self.products.set(products)


class TermFactory(CatalogItemFactory):
    """12 calendar months; early cancellation allowed. `with_penalty=True` adds a 50.00 EUR
    pro-rata penalty after a 14-day grace period; `billing_cycles=True` counts cycles."""

    class Meta:
        model = Term

    code = factory.Sequence(lambda n: f"term-{n}")
    name = factory.Sequence(lambda n: f"Term {n}")
    commitment_count = 12
    commitment_unit = PeriodUnit.MONTH
    commitment_basis = Term.Basis.CALENDAR
    early_cancellation = Term.EarlyCancellation.ALLOWED
    currency = "EUR"

    class Params:
        billing_cycles = factory.Trait(
            commitment_basis=Term.Basis.BILLING_CYCLES, commitment_unit=""
        )
        not_cancellable = factory.Trait(early_cancellation=Term.EarlyCancellation.NOT_ALLOWED)
        with_penalty = factory.Trait(
            early_cancellation=Term.EarlyCancellation.PENALTY,
            grace_period_count=14,
            grace_period_unit=PeriodUnit.DAY,
            penalty_fee_amount=Decimal("50.00"),
            pro_rata_penalty=True,
            penalty_ledger_account="8450",
            penalty_line_type=Term.LineType.PENALTY,
            penalty_tax_rate=Decimal("19.00"),
        )


class BundleFactory(CatalogItemFactory):
    class Meta:
        model = Bundle

    code = factory.Sequence(lambda n: f"bundle-{n}")
    name = factory.Sequence(lambda n: f"Bundle {n}")
    valid_from = VALID_FROM
    valid_until = None
    term = None

    @factory.post_generation
    def products(self, create, extracted, **kwargs):
        """Required products; one new product unless given."""
        if not create:
            return
        for product in [ProductFactory()] if extracted is None else extracted:
            BundleItem.objects.create(bundle=self, product=product, required=True)

    @factory.post_generation
    def optional_products(self, create, extracted, **kwargs):
        if create and extracted:
            for product in extracted:
                BundleItem.objects.create(bundle=self, product=product, required=False)

    @factory.post_generation
    def discounts(self, create, extracted, **kwargs):
        if create and extracted:
            self.discounts.set(extracted)


class BundleItemFactory(DjangoModelFactory):
    class Meta:
        model = BundleItem

    bundle = factory.SubFactory(BundleFactory, products=[])
    product = factory.SubFactory(ProductFactory)
    required = True


class PlanFactory(CatalogItemFactory):
    class Meta:
        model = Plan

    code = factory.Sequence(lambda n: f"plan-{n}")
    name = factory.Sequence(lambda n: f"Plan {n}")
    valid_from = VALID_FROM
    valid_until = None
    term = None
    compatible_bundles_only = False
    payment_methods = factory.LazyFunction(list)

    @factory.post_generation
    def bundles(self, create, extracted, **kwargs):
        """The bundles the plan includes, in order; one new bundle unless given."""
        if not create:
            return
        for position, bundle in enumerate([BundleFactory()] if extracted is None else extracted):
            PlanBundle.objects.create(plan=self, bundle=bundle, position=position)

    @factory.post_generation
    def compatible_bundles(self, create, extracted, **kwargs):
        if create and extracted:
            self.compatible_bundles.set(extracted)


class PlanBundleFactory(DjangoModelFactory):
    class Meta:
        model = PlanBundle

    plan = factory.SubFactory(PlanFactory, bundles=[])
    bundle = factory.SubFactory(BundleFactory)
    position = 0


class OfferFactory(CatalogItemFactory):
    """A simple monthly subscription of one product at 9.90 EUR, single-user.

    Traits: `single_product` (one-time purchase), `complex` (a plan instead of a product),
    `multi_user` (main user + 4 with an invitation landing page).
    """

    class Meta:
        model = Offer

    code = factory.Sequence(lambda n: f"offer-{n}")
    name = factory.Sequence(lambda n: f"Offer {n}")
    kind = Offer.Kind.SIMPLE_SUBSCRIPTION
    product = factory.SubFactory(ProductFactory)
    plan = None
    term = None
    price_amount = Decimal("9.90")
    currency = "EUR"
    billing_interval_count = 1
    billing_interval_unit = PeriodUnit.MONTH
    user_count = 0
    invitation_url = ""
    valid_from = VALID_FROM
    valid_until = None

    class Params:
        single_product = factory.Trait(
            kind=Offer.Kind.SINGLE_PRODUCT, billing_interval_count=None, billing_interval_unit=""
        )
        complex = factory.Trait(
            kind=Offer.Kind.COMPLEX_SUBSCRIPTION,
            product=None,
            plan=factory.SubFactory(PlanFactory),
        )
        multi_user = factory.Trait(user_count=4, invitation_url="https://news.example/join")


class ContractFolderFactory(DjangoModelFactory):
    class Meta:
        model = ContractFolder

    name = factory.Sequence(lambda n: f"Folder {n}")
    parent = None


class ReportingTagFactory(DjangoModelFactory):
    class Meta:
        model = ReportingTag

    name = factory.Sequence(lambda n: f"tag-{n}")


class CorporateContractFactory(CatalogItemFactory):
    """The seeds' contract: 2.50 EUR per user (one open tier), no base fee, until revoked,
    invoiced monthly, renewed yearly, cancellable up to 1 month before the interval ends.

    `per_package=True`: packages of 10 users at 5.00 EUR each. `fixed_duration=True`: two
    years. `tiers=[(up_to, unit_amount), …]` or `(up_to, unit_amount, flat_amount)`.
    """

    class Meta:
        model = CorporateContract

    code = factory.Sequence(lambda n: f"contract-{n}")
    name = factory.Sequence(lambda n: f"Contract {n}")
    product = factory.SubFactory(ProductFactory)
    folder = None
    duration_kind = CorporateContract.Duration.UNTIL_REVOKED
    duration_count = None
    duration_unit = ""
    accounting_period_count = 1
    accounting_period_unit = PeriodUnit.MONTH
    cancellation_period_count = 1
    cancellation_period_unit = PeriodUnit.MONTH
    subscription_interval_count = 1
    subscription_interval_unit = PeriodUnit.YEAR
    currency = "EUR"
    base_fee_amount = Decimal("0.00")
    pricing_strategy = CorporateContract.Strategy.PER_USER
    package_size = 1
    tier_mode = CorporateContract.TierMode.VOLUME
    maximum_users = None

    class Params:
        per_package = factory.Trait(
            pricing_strategy=CorporateContract.Strategy.PER_PACKAGE, package_size=10
        )
        fixed_duration = factory.Trait(
            duration_kind=CorporateContract.Duration.FIXED,
            duration_count=2,
            duration_unit=PeriodUnit.YEAR,
        )

    @factory.post_generation
    def tiers(self, create, extracted, **kwargs):
        if not create:
            return
        default_price = "5.00" if self.pricing_strategy == "per_package" else "2.50"
        for tier in [(None, default_price)] if extracted is None else extracted:
            up_to, unit_amount, *flat = tier
            ContractTier.objects.create(
                contract=self,
                up_to=up_to,
                unit_amount=Decimal(unit_amount),
                flat_amount=Decimal(flat[0] if flat else "0.00"),
            )

    @factory.post_generation
    def reporting_tags(self, create, extracted, **kwargs):
        if create and extracted:
            self.reporting_tags.set(extracted)


class ContractTierFactory(DjangoModelFactory):
    class Meta:
        model = ContractTier

    contract = factory.SubFactory(CorporateContractFactory, tiers=[])
    up_to = None
    unit_amount = Decimal("2.50")
    flat_amount = Decimal("0.00")


class CorporateOfferFactory(CatalogItemFactory):
    """One product under one contract unless `structure` and `contracts` say otherwise."""

    class Meta:
        model = CorporateOffer

    code = factory.Sequence(lambda n: f"corporate-offer-{n}")
    name = factory.Sequence(lambda n: f"Corporate offer {n}")
    structure = CorporateOffer.Structure.SINGLE_PRODUCT
    valid_from = VALID_FROM
    valid_until = None

    @factory.post_generation
    def contracts(self, create, extracted, **kwargs):
        if not create:
            return
        for contract in [CorporateContractFactory()] if extracted is None else extracted:
            CorporateOfferContract.objects.create(offer=self, contract=contract)
