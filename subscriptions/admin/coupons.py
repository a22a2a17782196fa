"""Coupon redemptions in the merchant backend: who used which code, on which
subscription, for how much. Read-only: redemptions are made by the checkout and the
voucher page (subscriptions.services.coupons), never typed in."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from subscriptions.models import CouponRedemption


@admin.register(CouponRedemption)
class CouponRedemptionAdmin(admin.ModelAdmin):
    list_display = (
        "redeemed_at",
        "code_text",
        "campaign",
        "kind",
        "customer",
        "subscription",
        "discount_amount",
        "currency",
        "periods",
    )
    list_filter = ("kind", "campaign")
    list_select_related = ("code", "campaign", "customer", "subscription__offer",
                           "subscription__corporate_offer")  # fmt: skip
    search_fields = ("code__code", "customer__name", "customer__email", "campaign__name")
    date_hierarchy = "redeemed_at"
    readonly_fields = (
        "code",
        "campaign",
        "kind",
        "customer",
        "subscription",
        "list_price",
        "discount_amount",
        "currency",
        "periods",
        "redeemed_at",
        "redeemed_by",
    )
    fields = readonly_fields

    @admin.display(description=_("code"), ordering="code__code")
    def code_text(self, redemption: CouponRedemption) -> str:
        return redemption.code.code

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
