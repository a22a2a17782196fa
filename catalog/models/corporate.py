"""Corporate product contracts, their tiers and folders, and corporate offers (SPEC §1).

Rules that span several rows (the tiers of a contract, the contracts of an offer) are
plain functions (`validate_tiers`, `validate_offer_contracts`) so that the admin's
inline formsets, the services and the API all apply the same ones.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from catalog.periods import compare_periods

from .base import (
    CatalogModel,
    PeriodUnit,
    Status,
    ValidityMixin,
    amount_field,
    check_amount_precision,
    check_parts_active,
    currency_field,
    validity_constraint,
)
from .folders import ContractFolder, ReportingTag
from .offers import Offer
from .products import Product
from .tiers import validate_tiers


class CorporateContract(CatalogModel):
    """Price and contract terms of one product in a corporate offer.

    `code`/`name` are the internal identifier and internal title. Billed after each
    accounting period: base fee + the users active in it, priced per user or per package
    (a started package is charged in full) with tiers (see billing.pricing).
    """

    class Duration(models.TextChoices):
        UNTIL_REVOKED = "until_revoked", _("Until revoked")
        FIXED = "fixed", _("Fixed period")

    class Strategy(models.TextChoices):
        PER_USER = "per_user", _("Price per user")
        PER_PACKAGE = "per_package", _("Price per package")

    class TierMode(models.TextChoices):
        VOLUME = "volume", _("Volume: all units at the price of the tier reached")
        GRADUATED = "graduated", _("Graduated: each unit at the price of its own tier")
        STAIRSTEP = "stairstep", _("Stairstep: one flat price for the tier reached")

    class UserCounting(models.TextChoices):
        """Which users of an accounting period are billed (billing.usage counts them)."""

        ANY_TIME = "any_time", _("Users active at any time in the period")
        PEAK = "peak", _("Peak number of users active at the same time")
        PERIOD_END = "period_end", _("Users active at the end of the period")
        DAILY_AVERAGE = (
            "daily_average",
            _("Average number of users active per day (rounded up to a whole user)"),
        )

    # The terms that every contract of one corporate offer must share.
    TERM_FIELDS = (
        "duration_kind",
        "duration_count",
        "duration_unit",
        "accounting_period_count",
        "accounting_period_unit",
        "cancellation_period_count",
        "cancellation_period_unit",
        "subscription_interval_count",
        "subscription_interval_unit",
    )

    product = models.ForeignKey(
        Product,
        on_delete=models.PROTECT,
        related_name="corporate_contracts",
        verbose_name=_("product"),
    )
    folder = models.ForeignKey(
        ContractFolder,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="contracts",
        verbose_name=_("folder"),
    )
    duration_kind = models.CharField(
        _("duration"), max_length=16, choices=Duration.choices, default=Duration.UNTIL_REVOKED
    )
    duration_count = models.PositiveSmallIntegerField(
        _("duration length"), null=True, blank=True, validators=[MinValueValidator(1)]
    )
    duration_unit = models.CharField(
        _("duration unit"), max_length=10, choices=PeriodUnit.choices, blank=True
    )
    accounting_period_count = models.PositiveSmallIntegerField(
        _("accounting period"),
        default=1,
        validators=[MinValueValidator(1)],
        help_text=_("Users are counted and invoiced after each accounting period."),
    )
    accounting_period_unit = models.CharField(
        _("accounting period unit"),
        max_length=10,
        choices=PeriodUnit.choices,
        default=PeriodUnit.MONTH,
    )
    cancellation_period_count = models.PositiveSmallIntegerField(
        _("cancellation period"),
        default=0,
        help_text=_("Cancel up to this long before the end of the subscription interval."),
    )
    cancellation_period_unit = models.CharField(
        _("cancellation period unit"),
        max_length=10,
        choices=PeriodUnit.choices,
        default=PeriodUnit.MONTH,
    )
    subscription_interval_count = models.PositiveSmallIntegerField(
        _("subscription interval"),
        default=1,
        validators=[MinValueValidator(1)],
        help_text=_("How often the subscription renews."),
    )
    subscription_interval_unit = models.CharField(
        _("subscription interval unit"),
        max_length=10,
        choices=PeriodUnit.choices,
        default=PeriodUnit.YEAR,
    )
    currency = currency_field()
    base_fee_amount = amount_field(
        _("base fee"),
        default=0,
        help_text=_("Charged every accounting period whatever the user count; 0.00 allowed."),
    )
    pricing_strategy = models.CharField(
        _("pricing strategy"), max_length=12, choices=Strategy.choices, default=Strategy.PER_USER
    )
    package_size = models.PositiveIntegerField(
        _("package size"),
        default=1,
        validators=[MinValueValidator(1)],
        help_text=_(
            "Users per package (per-package pricing); a started package is charged in full."
        ),
    )
    tier_mode = models.CharField(
        _("tier mode"), max_length=10, choices=TierMode.choices, default=TierMode.VOLUME
    )
    user_counting = models.CharField(
        _("users counted"),
        max_length=16,
        choices=UserCounting.choices,
        default=UserCounting.ANY_TIME,
        help_text=_("Which users of an accounting period are billed."),
    )
    maximum_users = models.PositiveIntegerField(
        _("maximum users"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text=_("Empty means unlimited."),
    )
    reporting_tags = models.ManyToManyField(
        ReportingTag, blank=True, related_name="contracts", verbose_name=_("reporting tags")
    )

    class Meta(CatalogModel.Meta):
        verbose_name = _("corporate product contract")
        verbose_name_plural = _("corporate product contracts")
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    duration_kind="until_revoked", duration_count__isnull=True, duration_unit=""
                )
                | Q(duration_kind="fixed", duration_count__isnull=False, duration_count__gte=1)
                & ~Q(duration_unit=""),
                name="contract_duration_shape",
                violation_error_message=_(
                    "A fixed duration needs a length and unit; until revoked has none."
                ),
            ),
            models.CheckConstraint(
                condition=Q(pricing_strategy="per_package") | Q(package_size=1),
                name="contract_package_size_only_per_package",
                violation_error_message=_("Per-user pricing has a package size of 1."),
            ),
        ]

    @property
    def terms(self) -> tuple:
        return tuple(getattr(self, field) for field in self.TERM_FIELDS)

    def clean(self) -> None:
        super().clean()
        errors: dict = {}
        self._check_duration(errors)
        self._check_periods(errors)
        if self.pricing_strategy == self.Strategy.PER_USER and self.package_size != 1:
            errors["package_size"] = _("Per-user pricing has no packages; set the size to 1.")
        if self.pricing_strategy == self.Strategy.PER_PACKAGE and self.package_size < 2:
            errors["package_size"] = _("A package holds at least 2 users (e.g. 10 users).")
        check_amount_precision(errors, "base_fee_amount", self.base_fee_amount, self.currency)
        if errors:
            raise ValidationError(errors)
        self.check_active_parts(errors, "product")
        if errors:
            raise ValidationError(errors)
        if self.pk:
            self._check_offers_stay_consistent()

    def validate_contents(self) -> None:
        validate_tiers([tier.up_to for tier in self.tiers.all()])

    def _check_duration(self, errors: dict) -> None:
        if self.duration_kind == self.Duration.FIXED:
            if not self.duration_count:
                errors["duration_count"] = _("A fixed duration needs a length.")
            if not self.duration_unit:
                errors["duration_unit"] = _("Choose the duration's unit.")
        elif self.duration_count or self.duration_unit:
            errors["duration_count"] = _("Until revoked has no length; clear it.")

    def _check_periods(self, errors: dict) -> None:
        if not (self.accounting_period_unit and self.subscription_interval_unit):
            return
        interval = (self.subscription_interval_count, self.subscription_interval_unit)
        accounting = (self.accounting_period_count, self.accounting_period_unit)
        if accounting[0] and interval[0] and compare_periods(accounting, interval) > 0:
            errors["accounting_period_count"] = _(
                "The accounting period cannot be longer than the subscription interval."
            )
        cancellation = (self.cancellation_period_count, self.cancellation_period_unit)
        if interval[0] and cancellation[0] and compare_periods(cancellation, interval) >= 0:
            errors["cancellation_period_count"] = _(
                "The cancellation period must be shorter than the subscription interval."
            )
        if (
            self.duration_kind == self.Duration.FIXED
            and self.duration_count
            and self.duration_unit
            and interval[0]
            and compare_periods((self.duration_count, self.duration_unit), interval) < 0
        ):
            errors["duration_count"] = _(
                "A fixed duration cannot be shorter than the subscription interval."
            )

    def _check_offers_stay_consistent(self) -> None:
        """Editing a contract must not break a corporate offer it belongs to."""
        for offer in CorporateOffer.objects.filter(contracts=self).prefetch_related("contracts"):
            siblings = [c for c in offer.contracts.all() if c.pk != self.pk]
            try:
                validate_offer_contracts(offer.structure, [*siblings, self])
            except ValidationError as error:
                raise ValidationError(
                    _("This change would break corporate offer %(offer)s: %(reason)s"),
                    params={"offer": offer.code, "reason": " ".join(error.messages)},
                    code="breaks_offer",
                ) from error


class CorporateOffer(ValidityMixin, CatalogModel):
    """A corporate (B2B) offer: one contract per product. Billed after each accounting
    period. No cross-, up- or down-selling."""

    class Structure(models.TextChoices):
        SINGLE_PRODUCT = "single_product", _("One product")
        INDIVIDUAL_PRODUCTS = "individual_products", _("Several individual products")
        BUNDLE = "bundle", _("Several products in a bundle")

    structure = models.CharField(
        _("structure"),
        max_length=20,
        choices=Structure.choices,
        default=Structure.SINGLE_PRODUCT,
        help_text=_(
            "In a bundle every user gets every product, so all contracts share one "
            "maximum user count."
        ),
    )
    contracts = models.ManyToManyField(
        CorporateContract,
        through="CorporateOfferContract",
        related_name="offers",
        verbose_name=_("contracts"),
    )

    class Meta(CatalogModel.Meta):
        verbose_name = _("corporate offer")
        verbose_name_plural = _("corporate offers")
        constraints = [validity_constraint("corporateoffer")]

    def clean(self) -> None:
        super().clean()
        errors: dict = {}
        self.check_validity(errors)
        if self.code and Offer.objects.filter(code=self.code).exists():
            errors["code"] = _("An offer with this code already exists; offer codes are shared.")
        if errors:
            raise ValidationError(errors)

    def validate_contents(self) -> None:
        validate_offer_contracts(
            self.structure, list(self.contracts.all()), active=self.status == Status.ACTIVE
        )


class CorporateOfferContract(models.Model):
    offer = models.ForeignKey(
        CorporateOffer, on_delete=models.CASCADE, related_name="offer_contracts"
    )
    contract = models.ForeignKey(
        CorporateContract,
        on_delete=models.PROTECT,
        related_name="offer_contracts",
        verbose_name=_("contract"),
    )

    class Meta:
        verbose_name = _("contract of the offer")
        verbose_name_plural = _("contracts of the offer")
        constraints = [
            models.UniqueConstraint(
                fields=["offer", "contract"],
                name="offer_contract_once",
                violation_error_message=_("This contract is already in the offer."),
            )
        ]

    def __str__(self) -> str:
        return str(self.contract)


def validate_offer_contracts(
    structure: str, contracts: Iterable[CorporateContract], *, active: bool = False
) -> None:
    """The rules for the contracts of one corporate offer (SPEC §1)."""
    contracts = list(contracts)
    if active:
        check_parts_active(contracts)
    if not contracts:
        raise ValidationError(_("A corporate offer needs at least one contract."), code="empty")
    if structure == CorporateOffer.Structure.SINGLE_PRODUCT and len(contracts) != 1:
        raise ValidationError(
            _("A one-product offer has exactly one contract (found %(n)d)."),
            params={"n": len(contracts)},
            code="single",
        )
    products = [c.product_id for c in contracts]
    if len(set(products)) != len(products):
        raise ValidationError(
            _("Each product has exactly one contract in an offer; a product appears twice."),
            code="product_twice",
        )
    first = contracts[0]
    for other in contracts[1:]:
        differing = [
            str(CorporateContract._meta.get_field(f).verbose_name)
            for f in CorporateContract.TERM_FIELDS
            if getattr(first, f) != getattr(other, f)
        ]
        if differing:
            raise ValidationError(
                _(
                    "All contracts of one offer must have the same terms: %(a)s and %(b)s "
                    "differ in %(fields)s."
                ),
                params={"a": first.code, "b": other.code, "fields": ", ".join(differing)},
                code="terms_differ",
            )
        if other.currency != first.currency:
            raise ValidationError(
                _("All contracts of one offer are in one currency: %(a)s and %(b)s differ."),
                params={"a": first.code, "b": other.code},
                code="currency_differs",
            )
        if (
            structure == CorporateOffer.Structure.BUNDLE
            and other.maximum_users != first.maximum_users
        ):
            raise ValidationError(
                _(
                    "In a bundle every contract has the same maximum user count, because each "
                    "user gets every product: %(a)s and %(b)s differ."
                ),
                params={"a": first.code, "b": other.code},
                code="maximum_differs",
            )
