"""Price tiers of a corporate contract, and the rule over a contract's tiers."""

from __future__ import annotations

from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .base import amount_field, check_amount_precision


class ContractTier(models.Model):
    """One price tier: units up to `up_to` (inclusive; users, or packages for per-package
    pricing). The last tier is open (`up_to` empty)."""

    contract = models.ForeignKey(
        "catalog.CorporateContract", on_delete=models.CASCADE, related_name="tiers"
    )
    up_to = models.PositiveIntegerField(
        _("up to"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text=_("Inclusive upper bound in users (or packages); empty for the last tier."),
    )
    unit_amount = amount_field(_("unit price"), default=0)
    flat_amount = amount_field(_("flat amount"), default=0)

    class Meta:
        verbose_name = _("price tier")
        verbose_name_plural = _("price tiers")
        ordering = [models.F("up_to").asc(nulls_last=True)]
        constraints = [
            models.UniqueConstraint(
                fields=["contract", "up_to"],
                name="tier_bound_unique",
                violation_error_message=_("Two tiers have the same upper bound."),
            ),
            models.UniqueConstraint(
                fields=["contract"],
                condition=Q(up_to__isnull=True),
                name="tier_one_open_tier",
                violation_error_message=_("Only the last tier is open-ended."),
            ),
        ]

    def __str__(self) -> str:
        bound = self.up_to if self.up_to is not None else "∞"
        return f"≤ {bound}: {self.unit_amount} + {self.flat_amount}"

    def clean(self) -> None:
        super().clean()
        errors: dict = {}
        # An inline tier of a contract being created has an unsaved contract attached.
        contract = getattr(self, "contract", None)
        currency = contract.currency if contract else "EUR"
        check_amount_precision(errors, "unit_amount", self.unit_amount, currency)
        check_amount_precision(errors, "flat_amount", self.flat_amount, currency)
        if errors:
            raise ValidationError(errors)


def validate_tiers(bounds: Sequence[int | None]) -> None:
    """The upper bounds of a contract's tiers, in any order: at least one tier, exactly
    one open-ended (the last), the others strictly increasing."""
    if not bounds:
        raise ValidationError(_("A contract needs at least one price tier."), code="no_tiers")
    open_tiers = [b for b in bounds if b is None]
    if len(open_tiers) != 1:
        raise ValidationError(
            _("Exactly one tier, the last, has no upper bound (found %(n)d)."),
            params={"n": len(open_tiers)},
            code="open_tier",
        )
    closed = [b for b in bounds if b is not None]
    if len(set(closed)) != len(closed):
        raise ValidationError(_("Two tiers have the same upper bound."), code="tier_duplicate")
