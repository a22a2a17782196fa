"""Demo catalog of "Tagesblatt", a newspaper publisher (used by `manage.py seed_demo`).

Idempotent: every object is found by its code (folders by name and parent, tiers by
bound) and written only when it is missing or differs (many-to-many `.set()` writes only
the difference), so a second run changes nothing.
Every object passes `full_clean()` and the set-level rules (`validate_bundle_contents`,
`validate_plan_bundles`, `validate_tiers`, `validate_offer_contracts`): the demo data
satisfies every catalog rule, as data entered in the admin must.

`upsert` and `SeedLog` are shared with the other apps' demo modules (catalog is the
lowest app, so every app may import them).
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

from django.db import models, transaction

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
    PaymentMethod,
    PeriodUnit,
    Plan,
    PlanBundle,
    Product,
    ReportingTag,
    Status,
    Term,
    validate_bundle_contents,
    validate_offer_contracts,
    validate_plan_bundles,
    validate_tiers,
)

# Fixed, so that a second run finds nothing to change; in the past, so all is sellable.
VALID_FROM = datetime(2025, 1, 1, tzinfo=UTC)
EUR = "EUR"

M = TypeVar("M", bound=models.Model)


class SeedError(Exception):
    """The demo data cannot be written; the message says what to do."""


class SeedLog(Counter):
    """How many objects a seed function created, updated or found unchanged."""

    def summary(self) -> str:
        return ", ".join(f"{self[k]} {k}" for k in ("created", "updated", "unchanged"))


def upsert(
    model: type[M],
    *,
    log: SeedLog,
    lookup: dict[str, Any],
    create_defaults: dict[str, Any] | None = None,
    **values: Any,
) -> M:
    """Find the row by `lookup`, or create it (with `values` and `create_defaults`,
    through `full_clean()`, so the demo data obeys the model's rules).

    An existing row is left as it is: staff may have edited the demo (raised a user
    count, archived an offer), and `make demo` runs this again on every start."""
    instance = model._default_manager.filter(**lookup).first()
    if instance is not None:
        log["unchanged"] += 1
        return instance
    instance = model(**lookup, **values, **(create_defaults or {}))
    instance.full_clean()
    instance.save()
    log["created"] += 1
    return instance


def seed_catalog() -> SeedLog:
    """Products, discounts, terms, bundles, plans, offers and corporate offers."""
    log = SeedLog()
    with transaction.atomic():
        products = _products(log)
        discounts = _discounts(log, products)
        terms = _terms(log)
        bundles = _bundles(log, products, discounts)
        plans = _plans(log, bundles)
        _offers(log, products, plans, terms)
        _corporate(log, products)
    return log


def _products(log: SeedLog) -> dict[str, Product]:
    # Digital press products carry the reduced German VAT rate (7 %, §12 (2) 14 UStG);
    # archive database access and podcasts the standard rate. SKR03 revenue accounts.
    rows = [
        ("tb-digital", "Digital edition", "All articles on tagesblatt.example.", "7.00", "8300"),
        ("tb-epaper", "E-paper", "The printed edition as a PDF, from 5 a.m.", "7.00", "8300"),
        ("tb-archive", "Archive", "Every article since 1949, searchable.", "19.00", "8400"),
        ("tb-podcasts", "Podcasts", "Daily news podcast and weekly features.", "19.00", "8400"),
    ]
    return {
        code: upsert(
            Product,
            log=log,
            lookup={"code": code},
            name=name,
            description=description,
            tax_rate=Decimal(tax),
            ledger_account=account,
            status=Status.ACTIVE,
        )
        for code, name, description, tax, account in rows
    }


def _discounts(log: SeedLog, products: dict[str, Product]) -> dict[str, Discount]:
    student = upsert(
        Discount,
        log=log,
        lookup={"code": "tb-student-20"},
        name="Students 20 %",
        kind=Discount.Kind.PERCENT,
        percent_off=Decimal("20.00"),
        amount_off=None,
        currency=EUR,
        status=Status.ACTIVE,
    )
    student.products.set([products["tb-digital"], products["tb-epaper"]])
    podcasts = upsert(
        Discount,
        log=log,
        lookup={"code": "tb-podcasts-1eur"},
        name="Podcasts 1 EUR off",
        kind=Discount.Kind.AMOUNT,
        percent_off=None,
        amount_off=Decimal("1.00"),
        currency=EUR,
        status=Status.ACTIVE,
    )
    podcasts.products.set([products["tb-podcasts"]])
    return {"tb-student-20": student, "tb-podcasts-1eur": podcasts}


def _terms(log: SeedLog) -> dict[str, Term]:
    monthly = upsert(
        Term,
        log=log,
        lookup={"code": "tb-monthly"},
        name="Monthly, cancel any time",
        commitment_count=1,
        commitment_unit=PeriodUnit.MONTH,
        commitment_basis=Term.Basis.CALENDAR,
        early_cancellation=Term.EarlyCancellation.ALLOWED,
        status=Status.ACTIVE,
    )
    twelve = upsert(
        Term,
        log=log,
        lookup={"code": "tb-12m-pro-rata"},
        name="12 months, pro-rata penalty, then renews monthly",
        commitment_count=12,
        commitment_unit=PeriodUnit.MONTH,
        commitment_basis=Term.Basis.CALENDAR,
        early_cancellation=Term.EarlyCancellation.PENALTY,
        grace_period_count=14,
        grace_period_unit=PeriodUnit.DAY,
        penalty_fee_amount=Decimal("120.00"),
        currency=EUR,
        pro_rata_penalty=True,
        penalty_ledger_account="8409",
        penalty_line_type=Term.LineType.PENALTY,
        penalty_tax_rate=Decimal("19.00"),
        renewal_term=monthly,
        status=Status.ACTIVE,
    )
    return {"tb-monthly": monthly, "tb-12m-pro-rata": twelve}


def _bundles(
    log: SeedLog, products: dict[str, Product], discounts: dict[str, Discount]
) -> dict[str, Bundle]:
    # code: (name, [(product, required)], [discounts])
    rows = {
        "tb-digital-basic": ("Digital basic", [("tb-digital", True), ("tb-podcasts", False)], []),
        "tb-epaper-plus": ("E-paper plus", [("tb-epaper", True), ("tb-digital", True)], []),
        "tb-archive-addon": ("Archive add-on", [("tb-archive", True)], []),
        "tb-podcasts-addon": ("Podcasts add-on", [("tb-podcasts", True)], ["tb-podcasts-1eur"]),
    }
    bundles = {}
    for code, (name, items, discount_codes) in rows.items():
        chosen_discounts = [discounts[c] for c in discount_codes]
        validate_bundle_contents(
            products=[products[p] for p, _required in items], discounts=chosen_discounts
        )
        bundle = upsert(
            Bundle,
            log=log,
            lookup={"code": code},
            name=name,
            valid_from=VALID_FROM,
            valid_until=None,
            term=None,
            status=Status.ACTIVE,
        )
        bundle.discounts.set(chosen_discounts)
        for product_code, required in items:
            upsert(
                BundleItem,
                log=log,
                lookup={"bundle": bundle, "product": products[product_code]},
                required=required,
            )
        bundles[code] = bundle
    return bundles


def _plans(log: SeedLog, bundles: dict[str, Bundle]) -> dict[str, Plan]:
    addons = [bundles["tb-archive-addon"], bundles["tb-podcasts-addon"]]
    # code: (name, included bundles, compatible add-ons, payment methods)
    rows = {
        "tb-plan-digital": (
            "Tagesblatt Digital",
            [bundles["tb-digital-basic"]],
            addons,
            [PaymentMethod.CARD, PaymentMethod.SEPA_DIRECT_DEBIT],
        ),
        "tb-plan-epaper": (
            "Tagesblatt E-paper plus",
            [bundles["tb-epaper-plus"]],
            addons,
            [],
        ),
    }
    plans = {}
    for code, (name, included, compatible, payment_methods) in rows.items():
        validate_plan_bundles(bundles=included, compatible=compatible)
        plan = upsert(
            Plan,
            log=log,
            lookup={"code": code},
            name=name,
            valid_from=VALID_FROM,
            valid_until=None,
            term=None,
            compatible_bundles_only=True,
            payment_methods=[str(m) for m in payment_methods],
            status=Status.ACTIVE,
        )
        plan.compatible_bundles.set(compatible)
        for position, bundle in enumerate(included):
            upsert(PlanBundle, log=log, lookup={"plan": plan, "bundle": bundle}, position=position)
        plans[code] = plan
    return plans


def _offers(
    log: SeedLog,
    products: dict[str, Product],
    plans: dict[str, Plan],
    terms: dict[str, Term],
) -> None:
    complex_ = Offer.Kind.COMPLEX_SUBSCRIPTION
    # code: (name, kind, product, plan, term, price, interval, user count, invitation URL)
    rows = {
        "tb-digital-monthly": (
            "Digital, monthly (12-month minimum)",
            complex_,
            None,
            plans["tb-plan-digital"],
            terms["tb-12m-pro-rata"],
            "9.99",
            (1, PeriodUnit.MONTH),
            0,
            "",
        ),
        "tb-epaper-yearly": (
            "E-paper plus, yearly",
            complex_,
            None,
            plans["tb-plan-epaper"],
            None,
            "199.00",
            (1, PeriodUnit.YEAR),
            0,
            "",
        ),
        "tb-podcasts-monthly": (
            "Podcasts, monthly",
            Offer.Kind.SIMPLE_SUBSCRIPTION,
            products["tb-podcasts"],
            None,
            None,
            "2.99",
            (1, PeriodUnit.MONTH),
            0,
            "",
        ),
        "tb-archive-purchase": (
            "Archive access, one-time purchase",
            Offer.Kind.SINGLE_PRODUCT,
            products["tb-archive"],
            None,
            None,
            "49.00",
            (None, ""),
            0,
            "",
        ),
        "tb-family-digital": (
            "Digital family (main user + 4)",
            complex_,
            None,
            plans["tb-plan-digital"],
            terms["tb-monthly"],
            "19.99",
            (1, PeriodUnit.MONTH),
            4,
            "https://www.tagesblatt.example/family/join",
        ),
    }
    for code, (name, kind, product, plan, term, price, interval, users, url) in rows.items():
        upsert(
            Offer,
            log=log,
            lookup={"code": code},
            name=name,
            kind=kind,
            product=product,
            plan=plan,
            term=term,
            price_amount=Decimal(price),
            currency=EUR,
            billing_interval_count=interval[0],
            billing_interval_unit=interval[1],
            user_count=users,
            invitation_url=url,
            valid_from=VALID_FROM,
            valid_until=None,
            status=Status.ACTIVE,
        )


# Tiers as (up_to, unit price): 1-10 users 2.50, 11-50 2.00, 51+ 1.50.
CAMPUS_TIERS = [(10, "2.50"), (50, "2.00"), (None, "1.50")]
# Per package of 10 users: up to 5 packages 20.00 each, then 15.00.
COMPANY_TIERS = [(5, "20.00"), (None, "15.00")]


def _corporate(log: SeedLog, products: dict[str, Product]) -> None:
    root = upsert(ContractFolder, log=log, lookup={"name": "Corporate", "parent": None})
    universities = upsert(ContractFolder, log=log, lookup={"name": "Universities", "parent": root})
    companies = upsert(ContractFolder, log=log, lookup={"name": "Companies", "parent": root})
    tags = {
        name: upsert(ReportingTag, log=log, lookup={"name": name})
        for name in ("B2B", "Education", "Campus licence", "Company licence")
    }
    # A campus licence: digital edition and e-paper in a bundle. Same terms and the same
    # maximum user count (each user gets both products); the e-paper prices graduated.
    campus = [
        _contract(
            log,
            code=code,
            name=name,
            product=products[product],
            folder=universities,
            tier_mode=mode,
            tiers=CAMPUS_TIERS,
            tags=[tags["B2B"], tags["Education"], tags["Campus licence"]],
            maximum_users=500,
        )
        for code, name, product, mode in [
            ("tb-campus-digital", "Campus licence: digital edition", "tb-digital", "volume"),
            ("tb-campus-epaper", "Campus licence: e-paper", "tb-epaper", "graduated"),
        ]
    ]
    _corporate_offer(
        log,
        code="tb-campus",
        name="Tagesblatt Campus (universities)",
        structure=CorporateOffer.Structure.BUNDLE,
        contracts=campus,
    )
    company = _contract(
        log,
        code="tb-company-digital",
        name="Company licence: digital edition, packages of 10",
        product=products["tb-digital"],
        folder=companies,
        tier_mode=CorporateContract.TierMode.VOLUME,
        tiers=COMPANY_TIERS,
        tags=[tags["B2B"], tags["Company licence"]],
        maximum_users=None,
        pricing_strategy=CorporateContract.Strategy.PER_PACKAGE,
        package_size=10,
    )
    _corporate_offer(
        log,
        code="tb-company",
        name="Tagesblatt for companies",
        structure=CorporateOffer.Structure.SINGLE_PRODUCT,
        contracts=[company],
    )


def _contract(
    log: SeedLog,
    *,
    code: str,
    name: str,
    product: Product,
    folder: ContractFolder,
    tier_mode: str,
    tiers: list[tuple[int | None, str]],
    tags: list[ReportingTag],
    maximum_users: int | None,
    pricing_strategy: str = CorporateContract.Strategy.PER_USER,
    package_size: int = 1,
) -> CorporateContract:
    validate_tiers([up_to for up_to, _price in tiers])
    contract = upsert(
        CorporateContract,
        log=log,
        lookup={"code": code},
        name=name,
        product=product,
        folder=folder,
        duration_kind=CorporateContract.Duration.UNTIL_REVOKED,
        duration_count=None,
        duration_unit="",
        accounting_period_count=1,
        accounting_period_unit=PeriodUnit.MONTH,
        cancellation_period_count=3,
        cancellation_period_unit=PeriodUnit.MONTH,
        subscription_interval_count=1,
        subscription_interval_unit=PeriodUnit.YEAR,
        currency=EUR,
        base_fee_amount=Decimal("50.00"),
        pricing_strategy=pricing_strategy,
        package_size=package_size,
        tier_mode=tier_mode,
        maximum_users=maximum_users,
        status=Status.ACTIVE,
    )
    contract.reporting_tags.set(tags)
    for up_to, unit_price in tiers:
        upsert(
            ContractTier,
            log=log,
            lookup={"contract": contract, "up_to": up_to},
            unit_amount=Decimal(unit_price),
            flat_amount=Decimal("0.00"),
        )
    return contract


def _corporate_offer(
    log: SeedLog, *, code: str, name: str, structure: str, contracts: list[CorporateContract]
) -> CorporateOffer:
    validate_offer_contracts(structure, contracts)
    offer = upsert(
        CorporateOffer,
        log=log,
        lookup={"code": code},
        name=name,
        structure=structure,
        valid_from=VALID_FROM,
        valid_until=None,
        status=Status.ACTIVE,
    )
    for contract in contracts:
        upsert(CorporateOfferContract, log=log, lookup={"offer": offer, "contract": contract})
    return offer
