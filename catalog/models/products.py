"""Products, discounts, terms, bundles and plans (SPEC §1)."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .base import (
    TERM_UNITS,
    CatalogModel,
    PaymentMethod,
    Status,
    ValidityMixin,
    amount_field,
    check_amount_precision,
    check_parts_active,
    currency_field,
    validity_constraint,
)

PERCENT = [MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))]


def tax_rate_field(verbose_name=None, **kwargs) -> models.DecimalField:
    return models.DecimalField(
        verbose_name or _("tax rate (%)"),
        max_digits=5,
        decimal_places=2,
        validators=PERCENT,
        **kwargs,
    )


class Product(CatalogModel):
    """What grants access, e.g. "Digital edition"."""

    ledger_account = models.CharField(
        _("ledger account"),
        max_length=32,
        blank=True,
        help_text=_("General-ledger account that revenue of this product is booked to."),
    )
    tax_rate = tax_rate_field(default=Decimal("19.00"))

    class Meta(CatalogModel.Meta):
        verbose_name = _("product")
        verbose_name_plural = _("products")


class Discount(CatalogModel):
    """A percent or fixed amount off one or more products."""

    class Kind(models.TextChoices):
        PERCENT = "percent", _("Percent")
        AMOUNT = "amount", _("Fixed amount")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.PERCENT)
    percent_off = models.DecimalField(
        _("percent off"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=PERCENT,
    )
    amount_off = amount_field(_("amount off"), null=True, blank=True)
    currency = currency_field()
    products = models.ManyToManyField(
        Product,
        related_name="discounts",
        verbose_name=_("products"),
        help_text=_("The products this discount reduces."),
    )

    class Meta(CatalogModel.Meta):
        verbose_name = _("discount")
        verbose_name_plural = _("discounts")
        # In a CHECK, a comparison with NULL is unknown and passes: hence the isnull=False.
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(
                        kind="percent",
                        percent_off__isnull=False,
                        percent_off__gt=0,
                        percent_off__lte=100,
                        amount_off__isnull=True,
                    )
                    | Q(
                        kind="amount",
                        amount_off__isnull=False,
                        amount_off__gt=0,
                        percent_off__isnull=True,
                    )
                ),
                name="discount_percent_xor_amount",
                violation_error_message=_(
                    "A percent discount needs a percentage (above 0, at most 100) and no "
                    "amount; an amount discount needs an amount above 0 and no percentage."
                ),
            ),
        ]

    def clean(self) -> None:
        super().clean()
        errors: dict = {}
        if self.kind == self.Kind.PERCENT:
            if not self.percent_off:
                errors["percent_off"] = _("Enter a percentage above 0 (at most 100).")
            if self.amount_off is not None:
                errors["amount_off"] = _("A percent discount has no amount; clear this field.")
        else:
            if not self.amount_off:
                errors["amount_off"] = _("Enter an amount above 0.")
            if self.percent_off is not None:
                errors["percent_off"] = _("An amount discount has no percentage; clear it.")
            check_amount_precision(errors, "amount_off", self.amount_off, self.currency)
        if errors:
            raise ValidationError(errors)


class Term(CatalogModel):
    """How long a plan or bundle commits the customer, and what leaving early costs."""

    class Basis(models.TextChoices):
        BILLING_CYCLES = "billing_cycles", _("Billing cycles")
        CALENDAR = "calendar", _("Calendar time after purchase")

    class EarlyCancellation(models.TextChoices):
        ALLOWED = "allowed", _("Allowed")
        PENALTY = "penalty", _("With penalty")
        NOT_ALLOWED = "not_allowed", _("Not allowed")

    class LineType(models.TextChoices):
        PENALTY = "penalty", _("Penalty")
        FEE = "fee", _("Fee")
        ONE_TIME_CHARGE = "one_time_charge", _("One-time charge")

    commitment_count = models.PositiveSmallIntegerField(
        _("commitment period"),
        validators=[MinValueValidator(1)],
        help_text=_("Number of billing cycles or calendar units the customer commits to."),
    )
    commitment_unit = models.CharField(
        _("commitment unit"),
        max_length=10,
        choices=TERM_UNITS,
        blank=True,
        help_text=_("Only for calendar time; billing cycles count the offer's intervals."),
    )
    commitment_basis = models.CharField(
        _("commitment basis"), max_length=16, choices=Basis.choices, default=Basis.CALENDAR
    )
    early_cancellation = models.CharField(
        _("early cancellation"),
        max_length=12,
        choices=EarlyCancellation.choices,
        default=EarlyCancellation.ALLOWED,
    )
    # Penalty fields: required with early_cancellation=penalty, empty otherwise.
    grace_period_count = models.PositiveSmallIntegerField(
        _("grace period"),
        null=True,
        blank=True,
        help_text=_("Time after purchase in which cancelling costs no penalty."),
    )
    grace_period_unit = models.CharField(
        _("grace period unit"), max_length=10, choices=TERM_UNITS, blank=True
    )
    penalty_fee_amount = amount_field(
        _("penalty fee (maximum)"),
        null=True,
        blank=True,
        help_text=_("With pro-rata penalty this shrinks linearly as the commitment runs out."),
    )
    currency = currency_field()
    pro_rata_penalty = models.BooleanField(_("pro-rata penalty"), default=False)
    penalty_ledger_account = models.CharField(
        _("penalty ledger account"), max_length=32, blank=True
    )
    penalty_line_type = models.CharField(
        _("invoice line type"), max_length=20, choices=LineType.choices, blank=True
    )
    penalty_tax_rate = tax_rate_field(_("penalty tax rate (%)"), null=True, blank=True)
    penalty_tax_provider = models.CharField(
        _("tax provider"),
        max_length=64,
        blank=True,
        help_text=_("Who computes the penalty's tax; empty means Kontor's own tax rates."),
    )
    renewal_term = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="renewed_from",
        verbose_name=_("renewal term"),
        help_text=_(
            "When the commitment ends the subscription continues on this term, without a "
            "penalty. Empty: it renews on this same term."
        ),
    )

    PENALTY_FIELDS = (
        "grace_period_count",
        "grace_period_unit",
        "penalty_fee_amount",
        "penalty_line_type",
        "penalty_tax_rate",
    )

    class Meta(CatalogModel.Meta):
        verbose_name = _("term")
        verbose_name_plural = _("terms")
        constraints = [
            models.CheckConstraint(
                condition=Q(commitment_basis="billing_cycles", commitment_unit="")
                | (Q(commitment_basis="calendar") & ~Q(commitment_unit="")),
                name="term_unit_matches_basis",
                violation_error_message=_(
                    "Calendar time needs a commitment unit; billing cycles have none."
                ),
            ),
            models.CheckConstraint(
                condition=~Q(early_cancellation="penalty")
                | Q(
                    grace_period_count__isnull=False,
                    penalty_fee_amount__isnull=False,
                    penalty_fee_amount__gt=0,
                    penalty_tax_rate__isnull=False,
                )
                & ~Q(grace_period_unit="")
                & ~Q(penalty_line_type=""),
                name="term_penalty_fields_complete",
                violation_error_message=_(
                    "A penalty needs a grace period, fee, line type and tax."
                ),
            ),
            models.CheckConstraint(
                condition=Q(early_cancellation="penalty")
                | Q(penalty_fee_amount__isnull=True, grace_period_count__isnull=True),
                name="term_no_penalty_fields_without_penalty",
                violation_error_message=_(
                    "Penalty fields apply only to early cancellation with penalty."
                ),
            ),
            models.CheckConstraint(
                condition=~Q(renewal_term=models.F("id")),
                name="term_does_not_renew_into_itself",
                violation_error_message=_("A term cannot name itself as its renewal term."),
            ),
        ]

    def clean(self) -> None:
        super().clean()
        errors: dict = {}
        if self.commitment_basis == self.Basis.CALENDAR and not self.commitment_unit:
            errors["commitment_unit"] = _("Calendar time needs a unit (days, months or years).")
        if self.commitment_basis == self.Basis.BILLING_CYCLES and self.commitment_unit:
            errors["commitment_unit"] = _(
                "Billing cycles take their length from the offer; leave the unit empty."
            )
        if self.early_cancellation == self.EarlyCancellation.PENALTY:
            self._check_penalty(errors)
        else:
            # Values left over from switching away from "penalty" mean nothing: drop them
            # so they cannot mislead later readers.
            self.grace_period_count = self.penalty_fee_amount = self.penalty_tax_rate = None
            self.grace_period_unit = self.penalty_line_type = ""
            self.pro_rata_penalty = False
        if self.renewal_term_id and self.pk and self.renewal_term_id == self.pk:
            errors["renewal_term"] = _(
                "A term cannot renew into itself; leave this empty to renew on the same term."
            )
        self.check_active_parts(errors, "renewal_term")
        if errors:
            raise ValidationError(errors)

    def _check_penalty(self, errors: dict) -> None:
        required = {
            "grace_period_count": _("A penalty needs a grace period (0 for none)."),
            "grace_period_unit": _("Choose the grace period's unit."),
            "penalty_fee_amount": _("A penalty needs a fee above 0."),
            "penalty_line_type": _("Choose how the penalty appears on the invoice."),
            "penalty_tax_rate": _("Enter the penalty's tax rate (0 for none)."),
        }
        for field, message in required.items():
            if getattr(self, field) in (None, ""):
                errors[field] = message
        if self.penalty_fee_amount is not None and self.penalty_fee_amount <= 0:
            errors["penalty_fee_amount"] = _("A penalty needs a fee above 0.")
        check_amount_precision(errors, "penalty_fee_amount", self.penalty_fee_amount, self.currency)


class Bundle(ValidityMixin, CatalogModel):
    """The smallest thing a customer can buy on its own: products (required or optional)
    and discounts. Bought as part of a plan or as an add-on."""

    term = models.ForeignKey(
        Term,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="bundles",
        verbose_name=_("term"),
    )
    products = models.ManyToManyField(
        Product, through="BundleItem", related_name="bundles", verbose_name=_("products")
    )
    discounts = models.ManyToManyField(
        Discount, blank=True, related_name="bundles", verbose_name=_("discounts")
    )

    class Meta(CatalogModel.Meta):
        verbose_name = _("bundle")
        verbose_name_plural = _("bundles")
        constraints = [validity_constraint("bundle")]

    def clean(self) -> None:
        super().clean()
        errors: dict = {}
        self.check_validity(errors)
        self.check_active_parts(errors, "term")
        if errors:
            raise ValidationError(errors)

    def validate_contents(self) -> None:
        validate_bundle_contents(
            products=[item.product for item in self.items.select_related("product")],
            discounts=list(self.discounts.all()),
            active=self.status == Status.ACTIVE,
        )


class BundleItem(models.Model):
    """A product in a bundle. Optional products are chosen (or not) by the buyer."""

    bundle = models.ForeignKey(Bundle, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, related_name="bundle_items", verbose_name=_("product")
    )
    required = models.BooleanField(
        _("required"),
        default=True,
        help_text=_("Required products are always included; optional ones the buyer chooses."),
    )

    class Meta:
        verbose_name = _("bundle item")
        verbose_name_plural = _("bundle items")
        ordering = ["-required", "product__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["bundle", "product"],
                name="bundle_item_product_once",
                violation_error_message=_("This product is already in the bundle."),
            )
        ]

    def __str__(self) -> str:
        kind = _("required") if self.required else _("optional")
        return f"{self.product.name} ({kind})"


class Plan(ValidityMixin, CatalogModel):
    """The top object a customer subscribes to: one or more bundles, plus add-ons."""

    term = models.ForeignKey(
        Term,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="plans",
        verbose_name=_("term"),
    )
    bundles = models.ManyToManyField(
        Bundle, through="PlanBundle", related_name="plans", verbose_name=_("bundles")
    )
    compatible_bundles = models.ManyToManyField(
        Bundle,
        blank=True,
        related_name="compatible_plans",
        verbose_name=_("compatible add-on bundles"),
    )
    compatible_bundles_only = models.BooleanField(
        _("compatible bundles only"),
        default=False,
        help_text=_("When on, only the compatible bundles listed can be added to this plan."),
    )
    payment_methods = models.JSONField(
        _("supported payment methods"),
        default=list,
        blank=True,
        help_text=_("Empty means every payment method the merchant accepts."),
    )

    class Meta(CatalogModel.Meta):
        verbose_name = _("plan")
        verbose_name_plural = _("plans")
        constraints = [validity_constraint("plan")]

    def clean(self) -> None:
        super().clean()
        errors: dict = {}
        self.check_validity(errors)
        self.check_active_parts(errors, "term")
        valid = set(PaymentMethod.values)
        if not isinstance(self.payment_methods, list) or not set(self.payment_methods) <= valid:
            errors["payment_methods"] = _("Choose payment methods from: %(choices)s.") % {
                "choices": ", ".join(PaymentMethod.values)
            }
        else:
            self.payment_methods = [m for m in PaymentMethod.values if m in self.payment_methods]
        if errors:
            raise ValidationError(errors)

    def validate_contents(self) -> None:
        validate_plan_bundles(
            bundles=[row.bundle for row in self.plan_bundles.select_related("bundle")],
            compatible=list(self.compatible_bundles.all()),
            active=self.status == Status.ACTIVE,
        )

    def supports(self, payment_method: str) -> bool:
        return not self.payment_methods or payment_method in self.payment_methods

    @property
    def is_sellable(self) -> bool:
        return self.status == Status.ACTIVE


class PlanBundle(models.Model):
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="plan_bundles")
    bundle = models.ForeignKey(
        Bundle, on_delete=models.PROTECT, related_name="plan_bundles", verbose_name=_("bundle")
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("plan bundle")
        verbose_name_plural = _("plan bundles")
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "bundle"],
                name="plan_bundle_once",
                violation_error_message=_("This bundle is already in the plan."),
            )
        ]

    def __str__(self) -> str:
        return str(self.bundle)


def validate_bundle_contents(
    *, products: list[Product], discounts: list[Discount], active: bool = False
) -> None:
    """A bundle holds at least one product or discount, each product once; an active
    bundle only active ones."""
    if not products and not discounts:
        raise ValidationError(
            _("A bundle needs at least one product or discount."), code="empty_bundle"
        )
    ids = [p.pk for p in products]
    if len(set(ids)) != len(ids):
        raise ValidationError(_("A product appears twice in the bundle."), code="product_twice")
    if active:
        check_parts_active([*products, *discounts])


def validate_plan_bundles(
    *, bundles: list[Bundle], compatible: list[Bundle], active: bool = False
) -> None:
    """A plan has at least one bundle; an included bundle is not also an add-on; an active
    plan includes only active bundles (archived add-ons are simply no longer offered)."""
    if not bundles:
        raise ValidationError(_("A plan needs at least one bundle."), code="no_bundles")
    ids = [b.pk for b in bundles]
    if len(set(ids)) != len(ids):
        raise ValidationError(_("A bundle appears twice in the plan."), code="bundle_twice")
    both = sorted(b.code for b in bundles if b in set(compatible))
    if both:
        raise ValidationError(
            _("%(codes)s is already in the plan, so it cannot also be an add-on."),
            params={"codes": ", ".join(both)},
            code="bundle_and_addon",
        )
    if active:
        check_parts_active(bundles)
