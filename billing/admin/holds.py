"""Billing holds in the merchant backend: which accounts the invariant check stopped
billing for, and why; staff with the change permission (Finance) release them."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy, ngettext

from billing.invariants import INVARIANTS, TITLES
from billing.models import BillingHold
from billing.services.holds import billing_holds_release


class OpenFilter(admin.SimpleListFilter):
    title = gettext_lazy("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return (("open", gettext_lazy("Holding billing")), ("released", gettext_lazy("Released")))

    def queryset(self, request, queryset):
        if self.value() == "open":
            return queryset.filter(released_at__isnull=True)
        if self.value() == "released":
            return queryset.filter(released_at__isnull=False)
        return queryset


class RuleFilter(admin.SimpleListFilter):
    title = gettext_lazy("rule broken")
    parameter_name = "rule"

    def lookups(self, request, model_admin):
        return [(invariant.code, invariant.title) for invariant in INVARIANTS]

    def queryset(self, request, queryset):
        return queryset.filter(invariant=self.value()) if self.value() else queryset


@admin.register(BillingHold)
class BillingHoldAdmin(admin.ModelAdmin):
    list_display = ("customer", "rule", "detail", "found_at", "is_holding", "released_at")
    list_filter = (OpenFilter, RuleFilter)
    list_select_related = ("customer", "released_by")
    search_fields = ("customer__name", "detail", "subject")
    actions = ("release",)
    fields = (
        "customer", "rule", "subject", "detail", "found_at", "released_at", "released_by",
    )  # fmt: skip
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False  # the invariant check records holds

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # released holds stay as history

    @admin.display(description=gettext_lazy("rule broken"), ordering="invariant")
    def rule(self, hold: BillingHold) -> str:
        return str(TITLES.get(hold.invariant, hold.invariant))

    @admin.display(description=gettext_lazy("holding billing"), boolean=True)
    def is_holding(self, hold: BillingHold) -> bool:
        return hold.is_open

    @admin.action(
        description=gettext_lazy("Release the selected holds (bill these accounts again)"),
        permissions=["change"],
    )
    def release(self, request, queryset) -> None:
        released = billing_holds_release(
            hold_ids=list(queryset.values_list("pk", flat=True)), actor=request.user
        )
        self.message_user(
            request,
            ngettext(
                "%(count)d hold released; the next billing run bills the account again "
                "unless another hold is open.",
                "%(count)d holds released; the next billing run bills the accounts again "
                "unless another hold is open.",
                released,
            )
            % {"count": released},
            messages.SUCCESS,
        )
