"""Coupon campaigns and their codes (SPEC §5).

A campaign says what its codes give (a discount on products of a bundle, or for a
voucher the bundle free for some billing periods), when, how many codes there are and
how often each can be used. Codes are rows of their own, generated from the campaign's
template (`coupons.codes`), each counting its redemptions. The redemption records
(which customer, which subscription, how much) live in `subscriptions`, which sits above
this app (docs/adr/0002-coupon-redemptions.md).
"""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Upper
from django.utils.translation import gettext_lazy as _

from catalog.models import Bundle, Product
from catalog.models.base import (
    ValidityMixin,
    amount_field,
    check_amount_precision,
    currency_field,
    validity_constraint,
)
from coupons import codes as code_rules

CODE_MAX_LENGTH = 64


class Campaign(ValidityMixin, models.Model):
    class Kind(models.TextChoices):
        COUPON = "coupon", _("Coupon")
        VOUCHER = "voucher", _("Voucher")

    class Charset(models.TextChoices):
        NUMERIC = "numeric", _("Numeric")
        ALPHANUMERIC = "alphanumeric", _("Alphanumeric")

    class DiscountType(models.TextChoices):
        PERCENT = "percent", _("Percent")
        AMOUNT = "amount", _("Amount")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        DISABLED = "disabled", _("Disabled")

    class Generation(models.TextChoices):
        PENDING = "pending", _("Waiting")
        RUNNING = "running", _("Generating")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    name = models.CharField(_("name"), max_length=200)
    code = models.SlugField(
        _("campaign code"),
        max_length=64,
        unique=True,
        help_text=_("Identifies the campaign (API, reports): lower-case letters, digits, - and _."),
    )
    description = models.TextField(_("description"), blank=True)
    provider = models.CharField(
        _("provider"),
        max_length=200,
        blank=True,
        help_text=_("Who owns the campaign; for information only."),
    )
    kind = models.CharField(
        _("type"),
        max_length=10,
        choices=Kind.choices,
        default=Kind.COUPON,
        help_text=_(
            "Coupon: a discount at checkout, for that purchase, then spent. Voucher: "
            "redeemable at any time while valid; grants the bundle for free billing periods."
        ),
    )
    charset = models.CharField(
        _("code charset"), max_length=12, choices=Charset.choices, default=Charset.ALPHANUMERIC
    )
    template = models.CharField(
        _("code template"),
        max_length=CODE_MAX_LENGTH,
        help_text=_(
            "Each # is one character of the code, e.g. SPRING-######. Numeric codes count "
            "up from the range start; alphanumeric codes are random. Without # the template "
            "is the one shared code itself (quantity 1)."
        ),
    )
    quantity = models.PositiveIntegerField(
        _("quantity"),
        default=1,
        validators=[MinValueValidator(1)],
        help_text=_("How many codes to generate."),
    )
    redemption_quantity = models.PositiveIntegerField(
        _("redemption quantity"),
        default=1,
        validators=[MinValueValidator(1)],
        help_text=_(
            "How often each code can be used. One shared code for 50 users: quantity 1, "
            "redemption quantity 50."
        ),
    )
    range_start = models.PositiveBigIntegerField(
        _("range start"), default=0, help_text=_("The first number of numeric codes.")
    )
    bundle = models.ForeignKey(
        Bundle,
        on_delete=models.PROTECT,
        related_name="coupon_campaigns",
        verbose_name=_("bundle"),
        help_text=_("What the codes discount or, for vouchers, grant."),
    )
    discount_type = models.CharField(
        _("discount type"), max_length=10, choices=DiscountType.choices, blank=True
    )
    discount_percent = models.DecimalField(
        _("discount (percent)"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal(100))],
        help_text=_("100 makes the products free (e.g. group users of a paid plan)."),
    )
    discount_amount = amount_field(_("discount (amount)"), null=True, blank=True)
    currency = currency_field()
    discounted_products = models.ManyToManyField(
        Product,
        blank=True,
        related_name="coupon_campaigns",
        verbose_name=_("discounted products"),
        help_text=_("Products of the bundle the discount applies to; none means all of them."),
    )
    free_periods = models.PositiveSmallIntegerField(
        _("free billing periods"),
        null=True,
        blank=True,
        help_text=_("Vouchers: the bundle is free for this many billing periods."),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE
    )
    # Generation runs in committed chunks; generated_count always equals the number of
    # codes the campaign has, so a run that died resumes where the last chunk ended.
    generation_state = models.CharField(
        _("generation"), max_length=10, choices=Generation.choices, default=Generation.PENDING
    )
    generated_count = models.PositiveIntegerField(_("codes generated"), default=0)
    generation_error = models.TextField(_("generation error"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("coupon campaign")
        verbose_name_plural = _("coupon campaigns")
        ordering = ["-created_at", "-id"]
        constraints = [
            validity_constraint("coupons_campaign"),
            models.CheckConstraint(
                condition=Q(quantity__gte=1) & Q(redemption_quantity__gte=1),
                name="coupons_campaign_quantities_positive",
                violation_error_message=_("Quantity and redemption quantity must be at least 1."),
            ),
            models.CheckConstraint(
                condition=Q(generated_count__lte=F("quantity")),
                name="coupons_campaign_generated_within_quantity",
            ),
            models.CheckConstraint(
                condition=Q(discount_percent__isnull=True)
                | Q(discount_percent__gt=0, discount_percent__lte=100),
                name="coupons_campaign_percent_range",
                violation_error_message=_("The percent must be more than 0 and at most 100."),
            ),
            models.CheckConstraint(
                condition=Q(discount_amount__isnull=True) | Q(discount_amount__gt=0),
                name="coupons_campaign_amount_positive",
                violation_error_message=_("The amount must be more than 0."),
            ),
            # A coupon has exactly the discount its type names and grants no periods; a
            # voucher grants periods and has no discount.
            models.CheckConstraint(
                condition=(
                    Q(
                        kind="coupon",
                        discount_type="percent",
                        discount_percent__isnull=False,
                        discount_amount__isnull=True,
                        free_periods__isnull=True,
                    )
                    | Q(
                        kind="coupon",
                        discount_type="amount",
                        discount_amount__isnull=False,
                        discount_percent__isnull=True,
                        free_periods__isnull=True,
                    )
                    | Q(
                        kind="voucher",
                        discount_type="",
                        discount_percent__isnull=True,
                        discount_amount__isnull=True,
                        free_periods__gte=1,
                    )
                ),
                name="coupons_campaign_kind_matches_benefit",
                violation_error_message=_(
                    "A coupon needs a discount (percent or amount); a voucher needs free "
                    "billing periods and no discount."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    def clean(self) -> None:
        super().clean()
        self.code = (self.code or "").lower()
        errors: dict = {}
        self.check_validity(errors)
        self._check_template(errors)
        if self.kind == self.Kind.VOUCHER:
            self._check_voucher(errors)
        else:
            self._check_discount(errors)
        if errors:
            raise ValidationError(errors)

    def _check_template(self, errors: dict) -> None:
        if not self.template or not self.quantity or self.quantity < 1 or self.range_start is None:
            return  # the fields' own validation says what is missing
        if any(char.isspace() or not char.isprintable() for char in self.template):
            message = _("Codes are typed by people: use no spaces in the template.")
            errors.setdefault("template", []).append(ValidationError(message, code="template"))
            return
        if code_rules.literal_code(self.template, self.quantity) is not None:
            return
        try:
            code_rules.check_template(self.template, self.charset, self.quantity, self.range_start)
        except ValueError as error:
            errors.setdefault("template", []).append(ValidationError(str(error), code="template"))

    def _check_voucher(self, errors: dict) -> None:
        if not self.free_periods:
            errors["free_periods"] = _("A voucher grants the bundle for at least one period.")
        for field in ("discount_percent", "discount_amount"):
            if getattr(self, field) is not None:
                errors[field] = _("Vouchers grant periods, not discounts: leave this empty.")
        self.discount_type = ""

    def _check_discount(self, errors: dict) -> None:
        if self.free_periods is not None:
            errors["free_periods"] = _("Only vouchers grant free periods: leave this empty.")
        if self.discount_type == self.DiscountType.PERCENT:
            if self.discount_percent is None:
                errors["discount_percent"] = _("Enter the percent.")
            if self.discount_amount is not None:
                errors["discount_amount"] = _("A percent discount has no amount.")
        elif self.discount_type == self.DiscountType.AMOUNT:
            if self.discount_amount is None:
                errors["discount_amount"] = _("Enter the amount.")
            elif self.discount_amount <= 0:
                errors["discount_amount"] = _("The amount must be more than 0.")
            if self.discount_percent is not None:
                errors["discount_percent"] = _("An amount discount has no percent.")
            check_amount_precision(errors, "discount_amount", self.discount_amount, self.currency)
        else:
            errors["discount_type"] = _("A coupon needs a discount: choose percent or amount.")

    @property
    def is_literal(self) -> bool:
        return code_rules.literal_code(self.template, self.quantity) is not None

    @property
    def generation_percent(self) -> int:
        return int(100 * self.generated_count / self.quantity) if self.quantity else 100


def validate_discounted_products(*, bundle: Bundle, products) -> None:
    """The discounted products must be products of the campaign's bundle."""
    allowed = set(bundle.items.values_list("product_id", flat=True))
    outside = [product for product in products if product.pk not in allowed]
    if outside:
        raise ValidationError(
            {
                "discounted_products": _("Not in the bundle %(bundle)s: %(products)s.")
                % {"bundle": bundle, "products": ", ".join(str(p) for p in outside)}
            },
            code="product_not_in_bundle",
        )


class CodeStatus(models.TextChoices):
    """A code's status as the admin shows it, computed (see `coupons.selectors`)."""

    ACTIVE = "active", _("Active")
    USED_UP = "used_up", _("Used up")
    DISABLED = "disabled", _("Disabled")
    EXPIRED = "expired", _("Expired")
    NOT_YET_VALID = "not_yet_valid", _("Not yet valid")


class Code(models.Model):
    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="codes", verbose_name=_("campaign")
    )
    # Stored as generated (a numeric template's literal text keeps its case); compared
    # in upper case: the unique index is on upper(code), across all campaigns.
    code = models.CharField(_("code"), max_length=CODE_MAX_LENGTH)
    # Copied from the campaign when the code is made, so the conditional UPDATE that
    # claims a redemption needs this row only.
    redemption_limit = models.PositiveIntegerField(_("redemption limit"))
    redeemed_count = models.PositiveIntegerField(_("redeemed"), default=0)
    disabled = models.BooleanField(_("disabled"), default=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("coupon code")
        verbose_name_plural = _("coupon codes")
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                Upper("code"),
                name="coupons_code_unique_upper",
                violation_error_message=_("This code exists already."),
            ),
            models.CheckConstraint(
                condition=Q(redemption_limit__gte=1)
                & Q(redeemed_count__gte=0)
                & Q(redeemed_count__lte=F("redemption_limit")),
                name="coupons_code_redeemed_within_limit",
                violation_error_message=_("A code cannot be redeemed more often than its limit."),
            ),
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def remaining(self) -> int:
        return max(0, self.redemption_limit - self.redeemed_count)

    def status_at(self, moment) -> str:
        return code_status(
            self.campaign,
            disabled=self.disabled,
            redeemed=self.redeemed_count,
            limit=self.redemption_limit,
            moment=moment,
        )


def code_status(campaign: Campaign, *, disabled: bool, redeemed: int, limit: int, moment) -> str:
    """Disabled wins over used up, used up over expired: what staff can act on first.
    (`coupons.selectors.code_status_q` is the same rule as a filter.)"""
    if disabled or campaign.status == Campaign.Status.DISABLED:
        return CodeStatus.DISABLED
    if redeemed >= limit:
        return CodeStatus.USED_UP
    if campaign.valid_until is not None and moment >= campaign.valid_until:
        return CodeStatus.EXPIRED
    if moment < campaign.valid_from:
        return CodeStatus.NOT_YET_VALID
    return CodeStatus.ACTIVE
