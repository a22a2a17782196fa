"""Shared admin behaviour for catalog models: status actions, no deletion of sold items,
and inline formsets that apply the catalog's set-level rules."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db import models
from django.forms.models import BaseInlineFormSet
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.urls import path
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from catalog.exceptions import CatalogError
from catalog.models import Status
from catalog.money import format_money
from catalog.services import catalog_item_delete, catalog_item_set_status


def money_display(amount, currency: str) -> str:
    if amount is None:
        return "—"
    return format_money(amount, currency, locale=translation.get_language() or "en")


class PendingManyToManyForm(forms.ModelForm):
    """Inline formsets are validated after the main form but only see its instance, and
    many-to-many values reach the instance only after saving. Keep them on the instance as
    `pending_<field>` so a RuleFormSet can check the inline rows against them."""

    def clean(self):
        cleaned = super().clean()
        for field in self._meta.model._meta.many_to_many:
            if field.name in cleaned:
                setattr(self.instance, f"pending_{field.name}", list(cleaned[field.name] or []))
        return cleaned


class RuleFormSet(BaseInlineFormSet):
    """An inline formset whose rows, taken together, must satisfy a catalog rule.

    Subclasses implement `check_rows(rows)` with the cleaned data of the rows that stay
    (deleted and empty rows excluded) and raise ValidationError; the message appears above
    the inline and nothing is saved.
    """

    def clean(self) -> None:
        if any(self.errors):
            return
        rows = [
            form.cleaned_data
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        # The catalog rule first: "A product appears twice in the bundle" says more than
        # the unique check's generic "Please correct the duplicate data for product".
        self.check_rows(rows)
        super().clean()

    def check_rows(self, rows: list[dict]) -> None:
        raise NotImplementedError


class CatalogAdmin(admin.ModelAdmin):
    """Status changes only through the catalog service (list actions and the change
    page's Activate/Archive buttons; the form shows the status read-only, and new items
    start as drafts); deletion only of drafts, through the service too."""

    change_form_template = "admin/catalog/change_form.html"
    actions = ["activate_selected", "archive_selected"]
    list_filter = ["status"]
    search_fields = ["code", "name"]
    readonly_fields = ["status", "created_at", "updated_at"]
    # Fields that identify what was sold: frozen once the item leaves draft.
    frozen_after_draft: tuple[str, ...] = ("code",)
    # Django 6 assumes https for scheme-less URLs; do so already.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    class Media:
        css = {"all": ["css/admin.css"]}

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and obj.stored_value("status") not in (None, Status.DRAFT):
            fields += [f for f in self.frozen_after_draft if f not in fields]
        return fields

    def get_urls(self):
        opts = self.model._meta
        return [
            path(
                "<path:object_id>/status/<str:status>/",
                self.admin_site.admin_view(self.change_status_view),
                name=f"{opts.app_label}_{opts.model_name}_status",
            ),
            *super().get_urls(),
        ]

    def change_status_view(self, request, object_id, status):
        """The change page's Activate/Archive buttons post here."""
        if request.method != "POST" or status not in (Status.ACTIVE, Status.ARCHIVED):
            return HttpResponseNotAllowed(["POST"])
        item = self.get_object(request, unquote(object_id))
        if item is None:
            raise Http404
        if not self.has_change_permission(request, item):
            raise PermissionDenied
        self._set_status(request, [item], status)
        opts = self.model._meta
        return redirect(f"admin:{opts.app_label}_{opts.model_name}_change", item.pk)

    def delete_model(self, request, obj):
        catalog_item_delete(item=obj)

    def has_delete_permission(self, request, obj=None):
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or obj.is_deletable)

    def get_actions(self, request):
        actions = super().get_actions(request)
        # Bulk delete would bypass the "only drafts" rule.
        actions.pop("delete_selected", None)
        return actions

    def _set_status(self, request, queryset, status: str) -> None:
        done, refused = 0, []
        for item in queryset:
            try:
                catalog_item_set_status(item=item, status=status)
                done += 1
            except CatalogError as error:
                refused.append(f"{item.code}: {error}")
        if done:
            self.message_user(
                request,
                ngettext("%(n)d item updated.", "%(n)d items updated.", done) % {"n": done},
                messages.SUCCESS,
            )
        for reason in refused:
            self.message_user(request, reason, messages.ERROR)

    @admin.action(description=_("Activate selected"), permissions=["change"])
    def activate_selected(self, request, queryset):
        self._set_status(request, queryset, Status.ACTIVE)

    @admin.action(description=_("Archive selected"), permissions=["change"])
    def archive_selected(self, request, queryset):
        self._set_status(request, queryset, Status.ARCHIVED)
