from __future__ import annotations

from django.contrib import admin
from django.db.models import Count
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from catalog.models import (
    ContractFolder,
    ContractTier,
    CorporateContract,
    CorporateOffer,
    CorporateOfferContract,
    ReportingTag,
    Status,
    validate_offer_contracts,
    validate_tiers,
)
from catalog.models.folders import FOLDER_ANCESTRY

from .base import CatalogAdmin, RuleFormSet, money_display

TIER_MODE_SHORT = {
    CorporateContract.TierMode.VOLUME: _("volume tiers"),
    CorporateContract.TierMode.GRADUATED: _("graduated tiers"),
    CorporateContract.TierMode.STAIRSTEP: _("stairstep tiers"),
}

# Pages that list every folder or tag do so only up to these sizes (see where used).
FILTER_CHOICES_LIMIT = 200
TREE_LIMIT = 500


class FolderListFilter(admin.RelatedFieldListFilter):
    """The folder filter, listing whole paths with one query."""

    def field_choices(self, field, request, model_admin):
        folders = ContractFolder.objects.select_related(FOLDER_ANCESTRY)
        return sorted(((folder.pk, str(folder)) for folder in folders), key=lambda c: c[1])


@admin.register(ContractFolder)
class ContractFolderAdmin(admin.ModelAdmin):
    """The changelist is the folder tree, with the number of contracts in each folder."""

    search_fields = ["name"]
    autocomplete_fields = ["parent"]
    fields = ["name", "parent"]
    list_display = ["folder_path"]

    def get_queryset(self, request):
        # Also serves the folder autocomplete, which shows every folder's path.
        return super().get_queryset(request).select_related(FOLDER_ANCESTRY)

    @admin.display(description=_("folder"), ordering="name")
    def folder_path(self, obj: ContractFolder) -> str:
        return str(obj)

    def changelist_view(self, request, extra_context=None):
        if request.GET or request.method != "GET":
            return super().changelist_view(request, extra_context)
        folders = list(
            ContractFolder.objects.annotate(contract_count=Count("contracts")).order_by("name")[
                : TREE_LIMIT + 1
            ]
        )
        if len(folders) > TREE_LIMIT:
            # A tree of thousands of folders helps no one: the paginated, searchable list.
            return super().changelist_view(request, extra_context)
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
    list_filter = ["status", "pricing_strategy", "tier_mode"]
    search_fields = ["code", "name", "description", "product__name"]
    list_select_related = ["product", f"folder__{FOLDER_ANCESTRY}"]
    autocomplete_fields = ["product", "folder"]
    filter_horizontal = ["reporting_tags"]
    frozen_after_draft = ("code", "product", "currency")

    def get_list_filter(self, request):
        # These filters list every folder and tag: offered while they fit on a screen.
        # Past that, staff search, and the folder tree links to each folder's contracts.
        filters = list(super().get_list_filter(request))
        if ContractFolder.objects.all()[: FILTER_CHOICES_LIMIT + 1].count() <= FILTER_CHOICES_LIMIT:
            filters.append(("folder", FolderListFilter))
        if ReportingTag.objects.all()[: FILTER_CHOICES_LIMIT + 1].count() <= FILTER_CHOICES_LIMIT:
            filters.append("reporting_tags")
        return filters

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
                    "user_counting",
                ]
            },
        ),
        (_("Users and reporting"), {"fields": ["maximum_users", "reporting_tags"]}),
        (None, {"fields": ["created_at", "updated_at"]}),
    ]

    @admin.display(description=_("folder"), ordering="folder__name")
    def folder_path(self, obj: CorporateContract) -> str:
        return str(obj.folder) if obj.folder_id else "—"

    @admin.display(description=_("pricing"))
    def pricing(self, obj: CorporateContract) -> str:
        mode = TIER_MODE_SHORT[obj.tier_mode]
        if obj.pricing_strategy == CorporateContract.Strategy.PER_PACKAGE:
            return _("per package of %(n)d, %(mode)s") % {"n": obj.package_size, "mode": mode}
        return _("per user, %(mode)s") % {"mode": mode}

    @admin.display(description=_("base fee"), ordering="base_fee_amount")
    def base_fee(self, obj: CorporateContract) -> str:
        return money_display(obj.base_fee_amount, obj.currency)


class OfferContractFormSet(RuleFormSet):
    def check_rows(self, rows):
        validate_offer_contracts(
            self.instance.structure,
            [row["contract"] for row in rows],
            active=self.instance.status == Status.ACTIVE,
        )


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
        # Meta.ordering does not apply to GROUP BY queries: order explicitly.
        return (
            super()
            .get_queryset(request)
            .annotate(_contract_count=Count("offer_contracts"))
            .order_by("name")
        )

    @admin.display(description=_("contracts"), ordering="_contract_count")
    def contract_count(self, obj: CorporateOffer) -> int:
        return obj._contract_count
