"""Products and discounts (SPEC §1)."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .base import (
    CatalogModel,
    amount_field,
    check_amount_precision,
    currency_field,
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
