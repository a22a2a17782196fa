from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db.models import Count
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from catalog.models import (
    Bundle,
    BundleItem,
    Discount,
    PaymentMethod,
    Plan,
    PlanBundle,
    Product,
    Status,
    Term,
    validate_bundle_contents,
    validate_plan_bundles,
)
from catalog.models.base import describe_period

from .base import CatalogAdmin, PendingManyToManyForm, RuleFormSet, money_display


@admin.register(Product)
class ProductAdmin(CatalogAdmin):
    list_display = ["code", "name", "status", "tax_rate", "ledger_account", "updated_at"]
    fields = [
        "code",
        "name",
        "description",
        "status",
        "ledger_account",
        "tax_rate",
        "created_at",
        "updated_at",
    ]


@admin.register(Discount)
class DiscountAdmin(CatalogAdmin):
    list_display = ["code", "name", "kind", "value", "status"]
    list_filter = ["status", "kind", "currency"]
    filter_horizontal = ["products"]
    fields = [
        "code",
        "name",
        "description",
        "status",
        "kind",
        "percent_off",
        "amount_off",
        "currency",
        "products",
        "created_at",
        "updated_at",
    ]

    @admin.display(description=_("value"))
    def value(self, obj: Discount) -> str:
        if obj.kind == Discount.Kind.PERCENT:
            return f"{obj.percent_off} %"
        return money_display(obj.amount_off, obj.currency)


@admin.register(Term)
class TermAdmin(CatalogAdmin):
    list_display = ["code", "name", "commitment", "early_cancellation", "renewal_term", "status"]
    list_filter = ["status", "commitment_basis", "early_cancellation"]
    list_select_related = ["renewal_term"]
    autocomplete_fields = ["renewal_term"]
    fieldsets = [
        (None, {"fields": ["code", "name", "description", "status"]}),
        (
            _("Commitment"),
            {
                "fields": [
                    "commitment_count",
                    "commitment_unit",
                    "commitment_basis",
                    "notice_period_count",
                    "notice_period_unit",
                    "early_cancellation",
                ]
            },
        ),
        (
            _("Penalty for early cancellation"),
            {
                "description": _("Only with early cancellation “With penalty”."),
                "fields": [
                    "grace_period_count",
                    "grace_period_unit",
                    "penalty_fee_amount",
                    "currency",
                    "pro_rata_penalty",
                    "penalty_ledger_account",
                    "penalty_line_type",
                    "penalty_tax_rate",
                    "penalty_tax_provider",
                ],
            },
        ),
        (_("Renewal"), {"fields": ["renewal_term"]}),
        (None, {"fields": ["created_at", "updated_at"]}),
    ]

    @admin.display(description=_("commitment"))
    def commitment(self, obj: Term) -> str:
        if obj.commitment_unit:
            return describe_period(obj.commitment_count, obj.commitment_unit)
        return ngettext("%(n)d billing cycle", "%(n)d billing cycles", obj.commitment_count) % {
            "n": obj.commitment_count
        }


class BundleForm(PendingManyToManyForm):
    class Meta:
        model = Bundle
        fields = [
            "code",
            "name",
            "description",
            "status",
            "valid_from",
            "valid_until",
            "term",
            "discounts",
        ]


class BundleItemFormSet(RuleFormSet):
    def check_rows(self, rows):
        validate_bundle_contents(
            products=[row["product"] for row in rows],
            discounts=getattr(self.instance, "pending_discounts", []),
            active=self.instance.status == Status.ACTIVE,
        )


class BundleItemInline(admin.TabularInline):
    model = BundleItem
    formset = BundleItemFormSet
    autocomplete_fields = ["product"]
    extra = 1


@admin.register(Bundle)
class BundleAdmin(CatalogAdmin):
    form = BundleForm
    inlines = [BundleItemInline]
    list_display = ["code", "name", "status", "product_count", "term", "valid_from", "valid_until"]
    list_filter = ["status", "valid_from"]
    list_select_related = ["term"]
    autocomplete_fields = ["term"]
    filter_horizontal = ["discounts"]
    fields = [*BundleForm.Meta.fields, "created_at", "updated_at"]

    def get_queryset(self, request):
        # Meta.ordering does not apply to GROUP BY queries: order explicitly.
        return (
            super().get_queryset(request).annotate(_product_count=Count("items")).order_by("name")
        )

    @admin.display(description=_("products"), ordering="_product_count")
    def product_count(self, obj: Bundle) -> int:
        return obj._product_count


class PlanForm(PendingManyToManyForm):
    payment_methods = forms.MultipleChoiceField(
        label=_("Supported payment methods"),
        choices=PaymentMethod.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked means every payment method the merchant accepts."),
    )

    class Meta:
        model = Plan
        fields = [
            "code",
            "name",
            "description",
            "status",
            "valid_from",
            "valid_until",
            "term",
            "compatible_bundles",
            "compatible_bundles_only",
            "payment_methods",
        ]


class PlanBundleFormSet(RuleFormSet):
    def check_rows(self, rows):
        validate_plan_bundles(
            bundles=[row["bundle"] for row in rows],
            compatible=getattr(self.instance, "pending_compatible_bundles", []),
            active=self.instance.status == Status.ACTIVE,
        )


class PlanBundleInline(admin.TabularInline):
    model = PlanBundle
    formset = PlanBundleFormSet
    autocomplete_fields = ["bundle"]
    extra = 1


@admin.register(Plan)
class PlanAdmin(CatalogAdmin):
    form = PlanForm
    inlines = [PlanBundleInline]
    list_display = [
        "code",
        "name",
        "status",
        "term",
        "compatible_bundles_only",
        "valid_from",
        "valid_until",
    ]
    list_filter = ["status", "compatible_bundles_only", "valid_from"]
    list_select_related = ["term"]
    autocomplete_fields = ["term"]
    filter_horizontal = ["compatible_bundles"]
    fields = [*PlanForm.Meta.fields, "created_at", "updated_at"]
