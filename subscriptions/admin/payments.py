"""Payment methods on file: read-only for staff (methods come from the gateway, added by
customers in the portal); removing goes through the service, like the portal's."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from subscriptions.exceptions import PaymentRefused
from subscriptions.models import PaymentMethod
from subscriptions.services.payments import payment_method_remove


@admin.register(PaymentMethod)
class PaymentMethodAdmin(admin.ModelAdmin):
    list_display = ("label", "customer", "kind", "status", "gateway", "created_at")
    list_filter = ("kind", "status", "gateway")
    list_select_related = ("customer",)
    search_fields = ("label", "mandate_reference", "customer__name", "customer__email")
    search_help_text = _("Label, mandate reference, customer name or e-mail.")
    date_hierarchy = "created_at"
    actions = ["remove_selected"]
    fields = (
        "customer",
        "kind",
        "label",
        "status",
        "gateway",
        "token",
        "expires_month",
        "expires_year",
        "mandate_reference",
        "public_id",
        "created_at",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: PaymentMethod | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: PaymentMethod | None = None) -> bool:
        # The change permission allows the remove action on the list; a method's own
        # page is read-only for everyone.
        return obj is None and super().has_change_permission(request)

    @admin.action(description=_("Remove selected payment methods"), permissions=["change"])
    def remove_selected(self, request: HttpRequest, queryset: QuerySet[PaymentMethod]) -> None:
        removed = 0
        for method in queryset.select_related("customer"):
            try:
                payment_method_remove(payment_method=method, actor=request.user)
                removed += 1
            except PaymentRefused as error:
                self.message_user(request, f"{method.customer}: {error}", messages.ERROR)
        if removed:
            self.message_user(
                request,
                ngettext("%(n)d payment method removed.", "%(n)d payment methods removed.", removed)
                % {"n": removed},
                messages.SUCCESS,
            )
