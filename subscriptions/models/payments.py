"""Payment methods on file. Card and SEPA details live at the gateway; Kontor keeps the
gateway's token and what a person needs to recognise the method."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from catalog.models import PaymentMethod as PaymentKind


class PaymentMethod(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        REMOVED = "removed", _("Removed")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    customer = models.ForeignKey(
        "subscriptions.Customer",
        on_delete=models.CASCADE,
        related_name="payment_methods",
        verbose_name=_("customer"),
    )
    kind = models.CharField(_("kind"), max_length=12, choices=PaymentKind.choices)
    gateway = models.CharField(
        _("gateway"), max_length=32, blank=True, help_text=_("Empty for invoice payment.")
    )
    token = models.CharField(_("gateway token"), max_length=128, blank=True, editable=False)
    label = models.CharField(
        _("shown as"), max_length=100, help_text=_('E.g. "Visa •••• 4242", "DE89 •••• 3000".')
    )
    mandate_reference = models.CharField(_("SEPA mandate reference"), max_length=35, blank=True)
    expires_month = models.PositiveSmallIntegerField(_("expires (month)"), null=True, blank=True)
    expires_year = models.PositiveSmallIntegerField(_("expires (year)"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("payment method")
        verbose_name_plural = _("payment methods")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind="invoice") | ~models.Q(token=""),
                name="payment_method_token_unless_invoice",
                violation_error_message=_("Card and SEPA methods need a gateway token."),
            )
        ]

    def __str__(self) -> str:
        return self.label
