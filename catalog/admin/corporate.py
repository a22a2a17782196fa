from __future__ import annotations

from django.contrib import admin
from django.db import connection
from django.db.models import CharField, Count
from django.db.models.expressions import RawSQL
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from catalog.models import (
    ContractFolder,
    ContractTier,
    CorporateContract,
    CorporateOffer,
    CorporateOfferContract,
    ReportingTag,
    validate_offer_contracts,
    validate_tiers,
)

from .base import CatalogAdmin, RuleFormSet, money_display


def folder_path(folder_id_column: str) -> RawSQL:
    """The path ("Root / Child / Leaf") of the folder whose id is in `folder_id_column` of
    the outer query. `str(folder)` walks up one query per level; list pages use this instead
    so that they need the same number of queries whatever the number of rows and the depth."""
    table = connection.ops.quote_name(ContractFolder._meta.db_table)
    # Table and column names come from the models; no user input reaches this SQL.
    sql = (
        "(WITH RECURSIVE chain (id, parent_id, name, depth) AS ("  # noqa: S608
        f" SELECT node.id, node.parent_id, node.name, 0 FROM {table} node"
        f" WHERE node.id = {folder_id_column}"
        " UNION ALL"
        " SELECT up.id, up.parent_id, up.name, chain.depth + 1"
        f" FROM {table} up JOIN chain ON up.id = chain.parent_id"
        " WHERE chain.depth < 100"  # ContractFolder.clean refuses cycles; never loop anyway.
        ") SELECT string_agg(chain.name, ' / ' ORDER BY chain.depth DESC) FROM chain)"
    )
    return RawSQL(sql, [], output_field=CharField())  # noqa: S611


def _column(model, field: str) -> str:
    quote = connection.ops.quote_name
    return f"{quote(model._meta.db_table)}.{quote(model._meta.get_field(field).column)}"


class FolderListFilter(admin.RelatedFieldListFilter):
    """The folder filter, listing full paths with one query."""

    def field_choices(self, field, request, model_admin):
        folders = ContractFolder.objects.annotate(
            path=folder_path(_column(ContractFolder, "id"))
        ).order_by("path")
        return [(folder.pk, folder.path) for folder in folders]


@admin.register(ContractFolder)
class ContractFolderAdmin(admin.ModelAdmin):
    """The changelist is the folder tree, with the number of contracts in each folder."""

    search_fields = ["name"]
    autocomplete_fields = ["parent"]
    fields = ["name", "parent"]
    list_display = ["folder_path"]

    def get_queryset(self, request):
        return (
            super().get_queryset(request).annotate(path=folder_path(_column(ContractFolder, "id")))
        )

    @admin.display(description=_("folder"), ordering="path")
    def folder_path(self, obj: ContractFolder) -> str:
        return obj.path

    def changelist_view(self, request, extra_context=None):
        if request.GET or request.method != "GET":
            return super().changelist_view(request, extra_context)
        folders = list(
            ContractFolder.objects.annotate(contract_count=Count("contracts")).order_by("name")
        )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Contract folders"),
            "tree": folder_tree(folders),
            "has_add_permission": self.has_add_permission(request),
        }
        return TemplateResponse(request, "admin/catalog/contractfolder/tree.html", context)


def folder_tree(folders: list[ContractFolder]) -> list[tuple[int, ContractFolder]]:
    """Depth-first (depth, folder) pairs, children sorted by name, from one list of rows."""
    children: dict[int | None, list[ContractFolder]] = {}
    for folder in folders:
        children.setdefault(folder.parent_id, []).append(folder)
    rows: list[tuple[int, ContractFolder]] = []

    def walk(parent_id: int | None, depth: int) -> None:
        for folder in children.get(parent_id, []):
            rows.append((depth, folder))
            walk(folder.pk, depth + 1)

    walk(None, 0)
    return rows


@admin.register(ReportingTag)
class ReportingTagAdmin(admin.ModelAdmin):
    list_display = ["name"]
    search_fields = ["name"]


class TierFormSet(RuleFormSet):
    def check_rows(self, rows):
        validate_tiers([row.get("up_to") for row in rows])


class TierInline(admin.TabularInline):
    model = ContractTier
    formset = TierFormSet
    extra = 1
    fields = ["up_to", "unit_amount", "flat_amount"]


@admin.register(CorporateContract)
class CorporateContractAdmin(CatalogAdmin):
    change_form_template = "admin/catalog/corporatecontract/change_form.html"
    inlines = [TierInline]
    list_display = [
        "code",
        "name",
        "product",
        "folder_path",
        "pricing",
        "base_fee",
        "maximum_users",
        "status",
    ]
    list_filter = [
        "status",
        "pricing_strategy",
        "tier_mode",
        ("folder", FolderListFilter),
        "reporting_tags",
    ]
    search_fields = ["code", "name", "description", "product__name"]
    list_select_related = ["product"]
    autocomplete_fields = ["product", "folder"]
    filter_horizontal = ["reporting_tags"]
    frozen_after_draft = ("code", "product", "currency")
    fieldsets = [
        (None, {"fields": ["code", "name", "description", "folder", "product", "status"]}),
        (
            _("Contract terms"),
            {
                "description": _("Every contract of one corporate offer must have the same terms."),
                "fields": [
                    "duration_kind",
                    "duration_count",
                    "duration_unit",
                    "accounting_period_count",
                    "accounting_period_unit",
                    "cancellation_period_count",
                    "cancellation_period_unit",
                    "subscription_interval_count",
                    "subscription_interval_unit",
                ],
            },
        ),
        (
            _("Price"),
            {
                "fields": [
                    "currency",
                    "base_fee_amount",
                    "pricing_strategy",
                    "package_size",
                    "tier_mode",
                ]
            },
        ),
        (_("Users and reporting"), {"fields": ["maximum_users", "reporting_tags"]}),
        (None, {"fields": ["created_at", "updated_at"]}),
    ]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(_folder_path=folder_path(_column(CorporateContract, "folder")))
        )

    @admin.display(description=_("folder"), ordering="_folder_path")
    def folder_path(self, obj: CorporateContract) -> str:
        return obj._folder_path or "—"

    @admin.display(description=_("pricing"))
    def pricing(self, obj: CorporateContract) -> str:
        if obj.pricing_strategy == CorporateContract.Strategy.PER_PACKAGE:
            return _("per package of %(n)d, %(mode)s") % {
                "n": obj.package_size,
                "mode": obj.tier_mode,
            }
        return _("per user, %(mode)s") % {"mode": obj.tier_mode}

    @admin.display(description=_("base fee"), ordering="base_fee_amount")
    def base_fee(self, obj: CorporateContract) -> str:
        return money_display(obj.base_fee_amount, obj.currency)


class OfferContractFormSet(RuleFormSet):
    def check_rows(self, rows):
        validate_offer_contracts(self.instance.structure, [row["contract"] for row in rows])


class OfferContractInline(admin.TabularInline):
    model = CorporateOfferContract
    formset = OfferContractFormSet
    autocomplete_fields = ["contract"]
    extra = 1


@admin.register(CorporateOffer)
class CorporateOfferAdmin(CatalogAdmin):
    inlines = [OfferContractInline]
    list_display = [
        "code",
        "name",
        "structure",
        "contract_count",
        "status",
        "valid_from",
        "valid_until",
    ]
    list_filter = ["status", "structure", "valid_from"]
    frozen_after_draft = ("code", "structure")
    fields = [
        "code",
        "name",
        "description",
        "status",
        "structure",
        "valid_from",
        "valid_until",
        "created_at",
        "updated_at",
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_contract_count=Count("offer_contracts"))

    @admin.display(description=_("contracts"), ordering="_contract_count")
    def contract_count(self, obj: CorporateOffer) -> int:
        return obj._contract_count
