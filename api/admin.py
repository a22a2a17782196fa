"""API keys in the merchant backend: staff create one (the key is shown once, on a page
of its own, kept in the session until then, never in a message cookie), see when each
was last used, and revoke them. Keys are never edited or deleted: revoked keys stay."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from api.models import ApiKey, Scope
from api.services import api_key_create, api_key_revoke
from notifications import crypto

_SHOW_ONCE_SESSION_KEY = "kontor.api_key.{pk}.show_once"


class ApiKeyAddForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        label=_("Scopes"), choices=Scope.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = ApiKey
        fields = ["name", "scopes"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "scopes_label", "created_by", "created_at",
                    "last_used_at", "revoked_at"]  # fmt: skip
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    list_select_related = ["created_by"]
    search_fields = ["name", "prefix"]
    readonly_fields = ["name", "prefix", "scopes", "created_by", "created_at", "last_used_at",
                       "revoked_at"]  # fmt: skip
    actions = ["revoke_selected"]

    @admin.display(description=_("scopes"))
    def scopes_label(self, obj: ApiKey) -> str:
        return ", ".join(obj.scopes)

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = ApiKeyAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else []

    def get_fields(self, request, obj=None):
        return ["name", "scopes"] if obj is None else self.readonly_fields

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change):
        if change:
            return  # nothing about a key changes but its revocation (an action)
        try:
            created, key = api_key_create(
                name=obj.name, scopes=form.cleaned_data["scopes"], created_by=request.user
            )
        except ValidationError as error:  # the form checked the same; a race at most
            raise ValueError(error.messages) from error
        for field in obj._meta.concrete_fields:
            setattr(obj, field.attname, getattr(created, field.attname))
        obj._state.adding = False
        # Encrypted: sessions are database rows, and the key is stored nowhere else in clear.
        request.session[_SHOW_ONCE_SESSION_KEY.format(pk=obj.pk)] = crypto.encrypt(key)

    def response_add(self, request, obj, post_url_continue=None):
        return HttpResponseRedirect(reverse("admin:api_apikey_key", args=[obj.pk]))

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/key/", view(self.key_view), name="api_apikey_key"),
            *super().get_urls(),
        ]

    def key_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        api_key = get_object_or_404(ApiKey, pk=pk)
        if not self.has_view_permission(request, api_key):
            return HttpResponseRedirect(reverse("admin:index"))
        kept = request.session.pop(_SHOW_ONCE_SESSION_KEY.format(pk=pk), None)
        key = crypto.decrypt(kept) if kept else None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "object": api_key,
            "title": _("API key"),
            "key": key,
        }
        return TemplateResponse(request, "admin/api/apikey/key.html", context)

    @admin.action(description=_("Revoke selected API keys"), permissions=["change"])
    def revoke_selected(self, request, queryset):
        count = 0
        for api_key in queryset.filter(revoked_at__isnull=True):
            api_key_revoke(api_key=api_key)
            count += 1
        self.message_user(
            request,
            ngettext("%(count)d API key revoked.", "%(count)d API keys revoked.", count)
            % {"count": count},
            messages.SUCCESS,
        )
