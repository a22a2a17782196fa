"""Coupon and voucher redemptions: who used which code on which subscription.

The record lives here, not in `coupons`, because it points at customers and
subscriptions, which sit above `coupons` (docs/adr/0002-coupon-redemptions.md); the
code's redemption count (the limit that must never be exceeded) is kept on the code by
`coupons.services.code_claim` in the same transaction.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from catalog.models.base import amount_field


class CouponRedemption(models.Model):
    """A code used for a subscription. What it takes off is copied in when it is used
    (later campaign edits do not change it): `discount_amount` off the price of each
    billing period, for `periods` periods from the start (empty: every period). Billing
    turns it into a discount line on each invoice it applies to."""

    class Kind(models.TextChoices):
        COUPON = "coupon", _("Coupon")
        VOUCHER = "voucher", _("Voucher")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    code = models.ForeignKey(
        "coupons.Code",
        on_delete=models.PROTECT,
        related_name="redemptions",
        verbose_name=_("code"),
    )
    campaign = models.ForeignKey(
        "coupons.Campaign",
        on_delete=models.PROTECT,
        related_name="redemptions",
        verbose_name=_("campaign"),
    )
    customer = models.ForeignKey(
        "subscriptions.Customer",
        on_delete=models.PROTECT,
        related_name="coupon_redemptions",
        verbose_name=_("customer"),
    )
    subscription = models.OneToOneField(
        "subscriptions.Subscription",
        on_delete=models.PROTECT,
        related_name="coupon_redemption",
        verbose_name=_("subscription"),
    )
    kind = models.CharField(_("type"), max_length=10, choices=Kind.choices)
    list_price = amount_field(_("price before discount"))
    discount_amount = amount_field(_("discount per period"))
    currency = models.CharField(_("currency"), max_length=3)
    periods = models.PositiveSmallIntegerField(
        _("periods"),
        null=True,
        blank=True,
        help_text=_("Billing periods the discount applies to; empty means every period."),
    )
    redeemed_at = models.DateTimeField(_("redeemed"))
    redeemed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("redeemed by"),
    )

    class Meta:
        verbose_name = _("coupon redemption")
        verbose_name_plural = _("coupon redemptions")
        ordering = ["-redeemed_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(discount_amount__gte=0)
                & Q(discount_amount__lte=models.F("list_price")),
                name="coupon_redemption_discount_within_price",
                violation_error_message=_("A discount is between zero and the price."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code.code} · {self.customer.name}"

    @property
    def price_after_discount(self):
        return self.list_price - self.discount_amount
