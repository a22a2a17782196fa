"""Terms: how long a plan or bundle commits the customer (SPEC §1)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .base import TERM_UNITS, CatalogModel, amount_field, check_amount_precision, currency_field
from .products import tax_rate_field


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
    # How long before the end of a billing period a cancellation must arrive to take
    # effect at that period's end; later ones take effect at the end of the next period.
    notice_period_count = models.PositiveSmallIntegerField(
        _("cancellation period"),
        default=0,
        help_text=_("Cancel up to this long before the end of a billing period; 0 = any time."),
    )
    notice_period_unit = models.CharField(
        _("cancellation period unit"), max_length=10, choices=TERM_UNITS, default="day"
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
