"""Merchant backend for coupons: campaigns (create, change what may change, enable /
disable, figures and generation progress) and their codes (a paginated list by campaign
and status, search, enable / disable, CSV export for a mailing).

Every change goes through `coupons.services`; codes are never edited as rows. The code
list's queries are fixed (codes with their campaigns in one query, one count)."""

from __future__ import annotations

import csv
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import IntegerField, OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest, HttpResponseNotAllowed, StreamingHttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from catalog.spreadsheets import csv_cell
from coupons.models import Campaign, Code, CodeStatus
from coupons.selectors import (
    EXPORT_COLUMNS,
    campaign_summary,
    code_export_rows,
    code_status_q,
    codes_matching,
)
from coupons.services import (
    campaign_check,
    campaign_create,
    campaign_disable,
    campaign_enable,
    campaign_update,
    codes_disable,
    codes_enable,
)

# Fields fixed once the codes exist (they were made and given out from these).
STRUCTURE_FIELDS = (
    "code",
    "kind",
    "charset",
    "template",
    "quantity",
    "redemption_quantity",
    "range_start",
    "bundle",
)
STATE_FIELDS = ("status", "generation_state", "generated_count", "generation_error", "created_at")
CREATE_FIELDS = (
    "name",
    "code",
    "description",
    "provider",
    *STRUCTURE_FIELDS[1:],
    "valid_from",
    "valid_until",
    "discount_type",
    "discount_percent",
    "discount_amount",
    "currency",
    "free_periods",
)


class _Echo:
    def write(self, value: str) -> str:
        return value


def stream_codes_csv(queryset: QuerySet[Code], filename: str) -> StreamingHttpResponse:
    """The codes as CSV, written while they are read (a campaign may have millions)."""
    now = timezone.now()
    writer = csv.writer(_Echo())
    headers = {
        "code": _("Code"),
        "campaign": _("Campaign"),
        "status": _("Status"),
        "remaining": _("Remaining redemptions"),
        "redemption_limit": _("Redemption limit"),
        "redeemed": _("Redeemed"),
    }

    def lines():
        yield "\ufeff" + writer.writerow([headers[column] for column in EXPORT_COLUMNS])
        for row in code_export_rows(queryset, now=now):
            yield writer.writerow([csv_cell(value) for value in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# --- campaigns ---------------------------------------------------------------------------


class CampaignForm(forms.ModelForm):
    class Meta:
        model = Campaign
        fields = (*CREATE_FIELDS, "discounted_products")

    def _post_clean(self) -> None:
        """After the model's own checks, the ones over other rows that `campaign_create`
        makes (discounted products in the bundle, numeric codes not taken), so they show
        on their fields instead of failing the save."""
        super()._post_clean()
        if self.errors:
            return
        try:
            campaign_check(
                campaign=self.instance,
                discounted_products=self.cleaned_data.get("discounted_products") or [],
                adding=self.instance._state.adding,
            )
        except ValidationError as error:
            self._update_errors(error)


def _redeemed_subquery():
    return Coalesce(
        Subquery(
            Code.objects.filter(campaign=OuterRef("pk"))
            .order_by()
            .values("campaign")
            .annotate(n=Sum("redeemed_count"))
            .values("n"),
            output_field=IntegerField(),
        ),
        0,
    )


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    form = CampaignForm
    change_form_template = "admin/coupons/campaign/change_form.html"
    list_display = (
        "name",
        "code",
        "kind",
        "status",
        "bundle",
        "quantity",
        "generated",
        "redeemed",
        "valid_from",
        "valid_until",
    )
    list_filter = ("status", "kind", "generation_state")
    list_select_related = ("bundle",)
    search_fields = ("name", "code")
    autocomplete_fields = ("bundle", "discounted_products")
    actions = ("disable_selected", "enable_selected")
    fieldsets = (
        (None, {"fields": ("name", "code", "description", "provider")}),
        (
            gettext_lazy("Codes"),
            {
                "fields": (
                    "kind",
                    "charset",
                    "template",
                    "quantity",
                    "redemption_quantity",
                    "range_start",
                )
            },
        ),
        (
            gettext_lazy("What the codes give"),
            {
                "fields": (
                    "bundle",
                    "discount_type",
                    "discount_percent",
                    "discount_amount",
                    "currency",
                    "discounted_products",
                    "free_periods",
                )
            },
        ),
        (gettext_lazy("Validity"), {"fields": ("valid_from", "valid_until")}),
        (gettext_lazy("State"), {"fields": STATE_FIELDS}),
    )

    class Media:
        css = {"all": ["css/admin.css"]}

    def get_readonly_fields(self, request, obj=None):
        return STATE_FIELDS if obj is None else STRUCTURE_FIELDS + STATE_FIELDS

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(redeemed_total=_redeemed_subquery())

    @admin.display(description=gettext_lazy("generated"), ordering="generated_count")
    def generated(self, campaign: Campaign) -> str:
        if campaign.generation_state == Campaign.Generation.DONE:
            return str(campaign.generated_count)
        return f"{campaign.generated_count} ({campaign.get_generation_state_display()})"

    @admin.display(description=gettext_lazy("redeemed"), ordering="redeemed_total")
    def redeemed(self, campaign: Campaign) -> int:
        return campaign.redeemed_total

    def has_delete_permission(self, request, obj=None) -> bool:
        # Codes may have been given out and redeemed: campaigns are disabled, not deleted.
        return False

    def save_model(self, request, obj, form, change):
        if change:
            saved = campaign_update(
                campaign=obj, discounted_products=form.cleaned_data.get("discounted_products")
            )
        else:
            values = {field: getattr(obj, field) for field in CREATE_FIELDS}
            products = form.cleaned_data.get("discounted_products") or []
            saved = campaign_create(**values, discounted_products=products)
        obj.pk, obj._state.adding = saved.pk, False
        obj.generation_state, obj.generated_count = saved.generation_state, saved.generated_count

    def save_related(self, request, form, formsets, change):
        """The services set the discounted products; there are no inlines."""

    # --- enable / disable ---

    def _set_status(self, request, campaigns, service) -> None:
        for campaign in campaigns:
            service(campaign=campaign)
        self.message_user(
            request,
            ngettext("%(n)d campaign changed.", "%(n)d campaigns changed.", len(campaigns))
            % {"n": len(campaigns)},
            messages.SUCCESS,
        )

    @admin.action(description=gettext_lazy("Disable selected campaigns"), permissions=["change"])
    def disable_selected(self, request, queryset):
        self._set_status(request, list(queryset), campaign_disable)

    @admin.action(description=gettext_lazy("Enable selected campaigns"), permissions=["change"])
    def enable_selected(self, request, queryset):
        self._set_status(request, list(queryset), campaign_enable)

    # --- pages of one campaign ---

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/status/<str:status>/",
                wrap(self.status_view),
                name="coupons_campaign_status",
            ),
            path(
                "<path:object_id>/progress/",
                wrap(self.progress_view),
                name="coupons_campaign_progress",
            ),
            *super().get_urls(),
        ]

    def _campaign(self, request, object_id) -> Campaign:
        campaign = self.get_object(request, unquote(object_id))
        if campaign is None:
            raise Http404
        return campaign

    def status_view(self, request: HttpRequest, object_id: str, status: str):
        """The change page's Enable / Disable button posts here."""
        if request.method != "POST" or status not in Campaign.Status.values:
            return HttpResponseNotAllowed(["POST"])
        campaign = self._campaign(request, object_id)
        if not self.has_change_permission(request, campaign):
            raise PermissionDenied
        service = campaign_enable if status == Campaign.Status.ACTIVE else campaign_disable
        self._set_status(request, [campaign], service)
        return redirect("admin:coupons_campaign_change", campaign.pk)

    def progress_view(self, request: HttpRequest, object_id: str):
        """The generation progress fragment the change page polls (htmx) while it runs."""
        campaign = self._campaign(request, object_id)
        if not self.has_view_permission(request, campaign):
            raise PermissionDenied
        return TemplateResponse(
            request, "admin/coupons/campaign/progress.html", {"campaign": campaign}
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        campaign = self.get_object(request, unquote(object_id))
        if campaign is not None:
            codes_url = reverse("admin:coupons_code_changelist")
            query = urlencode({"campaign__id__exact": campaign.pk})
            extra_context.update(
                summary=campaign_summary(campaign=campaign, now=timezone.now()),
                codes_url=f"{codes_url}?{query}",
                export_url=f"{reverse('admin:coupons_code_export')}?{query}",
            )
        return super().change_view(request, object_id, form_url, extra_context)


# --- codes -------------------------------------------------------------------------------


class CodeStatusFilter(admin.SimpleListFilter):
    title = gettext_lazy("status")
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return CodeStatus.choices

    def queryset(self, request, queryset):
        if self.value() in CodeStatus.values:
            return queryset.filter(code_status_q(self.value(), now=timezone.now()))
        return queryset


@admin.register(Code)
class CodeAdmin(admin.ModelAdmin):
    """Codes are made by their campaign and changed by actions only."""

    change_list_template = "admin/coupons/code/change_list.html"
    list_display = (
        "code",
        "campaign",
        "status",
        "remaining",
        "redeemed_count",
        "redemption_limit",
        "created_at",
    )
    list_filter = (CodeStatusFilter, "campaign")
    list_select_related = ("campaign",)
    search_fields = ("code",)
    search_help_text = gettext_lazy("The code, or how it starts (any case).")
    readonly_fields = ("campaign", "code", "redemption_limit", "redeemed_count", "disabled")
    fields = (*readonly_fields, "created_at")
    actions = ("disable_selected", "enable_selected", "export_selected")
    list_per_page = 100
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        # Shown read-only; the actions ask for the change permission themselves.
        return False

    def has_switch_permission(self, request) -> bool:
        return request.user.has_perm("coupons.change_code")

    def get_search_results(self, request, queryset, search_term):
        return codes_matching(queryset, search_term), False

    def get_readonly_fields(self, request, obj=None):
        return (*self.fields,)

    @admin.display(description=gettext_lazy("status"))
    def status(self, code: Code) -> str:
        return str(CodeStatus(code.status_at(self._now)).label)

    @admin.display(description=gettext_lazy("remaining redemptions"))
    def remaining(self, code: Code) -> int:
        return code.remaining

    def changelist_view(self, request, extra_context=None):
        self._now = timezone.now()
        extra_context = extra_context or {}
        extra_context["export_url"] = (
            reverse("admin:coupons_code_export") + "?" + request.GET.urlencode()
        )
        return super().changelist_view(request, extra_context)

    @admin.action(description=gettext_lazy("Disable selected codes"), permissions=["switch"])
    def disable_selected(self, request, queryset):
        count = codes_disable(code_ids=queryset.values_list("pk", flat=True))
        self.message_user(
            request,
            ngettext("%(n)d code disabled.", "%(n)d codes disabled.", count) % {"n": count},
        )

    @admin.action(description=gettext_lazy("Enable selected codes"), permissions=["switch"])
    def enable_selected(self, request, queryset):
        count = codes_enable(code_ids=queryset.values_list("pk", flat=True))
        self.message_user(
            request,
            ngettext("%(n)d code enabled.", "%(n)d codes enabled.", count) % {"n": count},
        )

    @admin.action(description=gettext_lazy("Export selected codes as CSV"))
    def export_selected(self, request, queryset):
        return stream_codes_csv(queryset, "coupon-codes.csv")

    def get_urls(self):
        export = path(
            "export.csv", self.admin_site.admin_view(self.export_view), name="coupons_code_export"
        )
        return [export, *super().get_urls()]

    def export_view(self, request: HttpRequest):
        """The changelist's filtered codes (all pages) as CSV, for a mailing."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        self._now = timezone.now()
        queryset = self.get_changelist_instance(request).get_queryset(request)
        return stream_codes_csv(queryset, "coupon-codes.csv")
