"""Subscriptions to offers, what they include, and charges waiting for an invoice."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from catalog.models import PeriodUnit
from catalog.models.base import amount_field


class Subscription(models.Model):
    """A customer's subscription. What was sold is copied in at purchase (price,
    interval, user count, the term's values) and never follows later offer edits.

    Periods are half-open [current_period_start, current_period_end) and computed from
    `started_at` (catalog.periods). A cancelled subscription is still active until
    `ends_at`; then it is ended."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        CANCELLED = "cancelled", _("Cancelled (ends at the date shown)")
        ENDED = "ended", _("Ended")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    customer = models.ForeignKey(
        "subscriptions.Customer",
        on_delete=models.PROTECT,
        related_name="subscriptions",
        verbose_name=_("customer"),
    )
    # Exactly one of `offer` (bought: single-user or multi-user) and `corporate_offer`
    # (a corporate deal, created by staff and post-billed from the contracts).
    offer = models.ForeignKey(
        "catalog.Offer",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="subscriptions",
        verbose_name=_("offer"),
    )
    corporate_offer = models.ForeignKey(
        "catalog.CorporateOffer",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="subscriptions",
        verbose_name=_("corporate offer"),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE
    )
    # What was sold, copied from the offer at purchase.
    price_amount = amount_field(_("price"))
    currency = models.CharField(_("currency"), max_length=3)
    billing_interval_count = models.PositiveSmallIntegerField(
        _("billing interval"), null=True, blank=True
    )
    billing_interval_unit = models.CharField(
        _("billing interval unit"), max_length=10, choices=PeriodUnit.choices, blank=True
    )
    user_count = models.PositiveIntegerField(_("user count"), default=0)
    # The term in force (it changes to the renewal term when a commitment ends) and its
    # values as they were when it took effect.
    term = models.ForeignKey(
        "catalog.Term",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("term"),
    )
    term_snapshot = models.JSONField(_("term as agreed"), default=dict, blank=True)
    commitment_starts_at = models.DateTimeField(_("commitment starts"), null=True, blank=True)
    commitment_ends_at = models.DateTimeField(_("commitment ends"), null=True, blank=True)
    started_at = models.DateTimeField(_("started"))
    current_period_start = models.DateTimeField(_("current period starts"), null=True, blank=True)
    current_period_end = models.DateTimeField(
        _("next billing date"),
        null=True,
        blank=True,
        help_text=_("End of the current period (exclusive); empty for one-time purchases."),
    )
    cancelled_at = models.DateTimeField(_("cancellation received"), null=True, blank=True)
    ends_at = models.DateTimeField(_("ends"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    # Set when dunning paused access because an invoice stayed unpaid (the merchant's
    # dunning policy); cleared when it is paid. The merchant's systems learn it from the
    # subscription.access_paused / access_resumed events and the API.
    access_paused_at = models.DateTimeField(_("access paused"), null=True, blank=True)
    payment_method = models.ForeignKey(
        "subscriptions.PaymentMethod",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="subscriptions",
        verbose_name=_("payment method"),
    )
    coupon_code = models.CharField(_("coupon code"), max_length=64, blank=True)
    # The buyer's idempotency key (the checkout form carries one): a second purchase with
    # the same key returns this subscription instead of buying again. Unique per
    # customer; empty for purchases made without one (staff, imports, older forms).
    purchase_key = models.UUIDField(_("purchase key"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        ordering = ["-started_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(offer__isnull=False, corporate_offer__isnull=True)
                | Q(offer__isnull=True, corporate_offer__isnull=False),
                name="subscription_offer_xor_corporate_offer",
                violation_error_message=_(
                    "A subscription is either to an offer or to a corporate offer, "
                    "never both and never neither."
                ),
            ),
            models.CheckConstraint(
                condition=~Q(status="cancelled")
                | Q(ends_at__isnull=False, cancelled_at__isnull=False),
                name="subscription_cancelled_has_end",
                violation_error_message=_("A cancelled subscription has an end date."),
            ),
            models.CheckConstraint(
                condition=~Q(status="ended") | Q(ended_at__isnull=False),
                name="subscription_ended_has_ended_at",
                violation_error_message=_("An ended subscription has an end date."),
            ),
            models.UniqueConstraint(
                fields=["customer", "purchase_key"],
                condition=Q(purchase_key__isnull=False),
                name="subscription_purchase_key_once",
                violation_error_message=_("This purchase was made already."),
            ),
        ]
        indexes = [
            models.Index(
                fields=["current_period_end"],
                condition=Q(status__in=["active", "cancelled"]),
                name="subscription_due",
            )
        ]

    def __str__(self) -> str:
        return f"{self.title} · {self.customer.name}"

    @property
    def is_corporate(self) -> bool:
        return self.corporate_offer_id is not None

    @property
    def title(self) -> str:
        """The name shown for this subscription: its offer's or corporate offer's."""
        if self.corporate_offer_id is not None:
            return self.corporate_offer.name
        return self.offer.name if self.offer_id is not None else ""


class SubscriptionItem(models.Model):
    """A product the subscription includes, and through which bundle it came."""

    class Source(models.TextChoices):
        INCLUDED = "included", _("Included")
        OPTIONAL = "optional", _("Optional product chosen")
        ADDON = "addon", _("Add-on bundle")

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="items")
    bundle = models.ForeignKey(
        "catalog.Bundle",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("bundle"),
    )
    product = models.ForeignKey(
        "catalog.Product", on_delete=models.PROTECT, related_name="+", verbose_name=_("product")
    )
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)

    class Meta:
        verbose_name = _("included product")
        verbose_name_plural = _("included products")
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "product"], name="subscription_product_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.product} ({self.get_source_display()})"


class Charge(models.Model):
    """A one-off amount owed (e.g. an early-cancellation penalty), waiting for the billing
    run to put it on an invoice (`invoiced_at`)."""

    class Kind(models.TextChoices):
        PENALTY = "penalty", _("Early-cancellation penalty")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    subscription = models.ForeignKey(
        Subscription,
        on_delete=models.PROTECT,
        related_name="charges",
        verbose_name=_("subscription"),
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    description = models.CharField(_("description"), max_length=200)
    amount = amount_field(_("amount"))
    currency = models.CharField(_("currency"), max_length=3)
    tax_rate = models.DecimalField(_("tax rate (%)"), max_digits=5, decimal_places=2)
    ledger_account = models.CharField(_("ledger account"), max_length=32, blank=True)
    line_type = models.CharField(_("invoice line type"), max_length=20, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    invoiced_at = models.DateTimeField(_("invoiced"), null=True, blank=True)

    class Meta:
        verbose_name = _("charge")
        verbose_name_plural = _("charges")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "kind"],
                condition=Q(kind="penalty"),
                name="charge_one_penalty_per_subscription",
            )
        ]

    def __str__(self) -> str:
        return f"{self.description}: {self.amount} {self.currency}"
