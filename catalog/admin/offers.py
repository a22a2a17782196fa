from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from catalog.models import Offer
from catalog.models.base import describe_period

from .base import CatalogAdmin, money_display


class MultiUserFilter(admin.SimpleListFilter):
    title = _("multi-user")
    parameter_name = "multi_user"

    def lookups(self, request, model_admin):
        return [("yes", _("Multi-user")), ("no", _("Single user"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(user_count__gt=0)
        if self.value() == "no":
            return queryset.filter(user_count=0)
        return queryset


@admin.register(Offer)
class OfferAdmin(CatalogAdmin):
    list_display = [
        "code",
        "name",
        "kind",
        "sells",
        "price",
        "interval",
        "user_count",
        "status",
    ]
    # Validity is a filter rather than two more columns: the list stays readable at 1280px.
    list_filter = ["status", "kind", MultiUserFilter, "currency", "valid_from"]
    search_fields = ["code", "name", "product__name", "plan__name"]
    list_select_related = ["product", "plan"]
    autocomplete_fields = ["product", "plan", "term"]
    frozen_after_draft = ("code", "kind", "currency")
    fieldsets = [
        (None, {"fields": ["code", "name", "description", "status", "kind"]}),
        (_("What is sold"), {"fields": ["product", "plan", "term"]}),
        (
            _("Price"),
            {
                "fields": [
                    "price_amount",
                    "currency",
                    "billing_interval_count",
                    "billing_interval_unit",
                ]
            },
        ),
        (_("Validity"), {"fields": ["valid_from", "valid_until"]}),
        (
            _("Multi-user"),
            {
                "description": _(
                    "Raise the user count to sell access for a main user plus "
                    "that many additional users. It can never be lowered."
                ),
                "fields": ["user_count", "invitation_url"],
            },
        ),
        (None, {"fields": ["created_at", "updated_at"]}),
    ]

    @admin.display(description=_("product or plan"))
    def sells(self, obj: Offer) -> str:
        return (obj.plan or obj.product).name if (obj.plan_id or obj.product_id) else "—"

    @admin.display(description=_("price"), ordering="price_amount")
    def price(self, obj: Offer) -> str:
        return money_display(obj.price_amount, obj.currency)

    @admin.display(description=_("billing interval"))
    def interval(self, obj: Offer) -> str:
        if not obj.billing_interval_count:
            return _("one-time")
        return describe_period(obj.billing_interval_count, obj.billing_interval_unit)
