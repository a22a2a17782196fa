"""Billing holds: a customer account whose data breaks an invariant is not billed
automatically until staff release it (issue 10; billing/invariants.py finds them).

One row per violation found (the invariant, the offending row, what is wrong). The
account is held while any of its rows is open (`released_at` empty); the billing run
skips held accounts' subscriptions. Releasing keeps the row as history; a violation
that is still there when the check runs again holds the account again.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class BillingHold(models.Model):
    customer = models.ForeignKey(
        "subscriptions.Customer",
        on_delete=models.CASCADE,
        related_name="billing_holds",
        verbose_name=_("customer"),
    )
    invariant = models.CharField(_("rule broken"), max_length=40)
    # What breaks the rule, e.g. "invoice:17" (model and primary key): with the invariant
    # it identifies the violation, so the daily check does not record it twice.
    subject = models.CharField(_("row"), max_length=64)
    detail = models.TextField(_("what is wrong"))
    found_at = models.DateTimeField(_("found"))
    released_at = models.DateTimeField(_("released"), null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("released by"),
    )

    class Meta:
        verbose_name = _("billing hold")
        verbose_name_plural = _("billing holds")
        ordering = ["-found_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["invariant", "subject"],
                condition=Q(released_at__isnull=True),
                name="billing_hold_open_once",
            ),
        ]
        indexes = [
            models.Index(
                fields=["customer"], condition=Q(released_at__isnull=True), name="billing_hold_open"
            )
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.invariant} ({self.subject})"

    @property
    def is_open(self) -> bool:
        return self.released_at is None
