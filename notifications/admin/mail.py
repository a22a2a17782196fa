"""Mail templates (variable documentation, preview, activation) and the e-mail log."""

from __future__ import annotations

import json
from typing import Any

from csp.constants import NONE, SELF, UNSAFE_INLINE
from csp.decorators import csp_replace
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db import models
from django.forms import Textarea, TextInput
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.clickjacking import xframe_options_sameorigin

from notifications.events import MailType
from notifications.mail_context import SECRET_VARIABLES, sample_context, variables_for
from notifications.models import MailMessage, MailTemplate
from notifications.rendering import ALLOWED_FILTERS, MailRenderError, render_mail
from notifications.services.mail import (
    MailNotRetryable,
    mail_message_retry,
    mail_templates_set_active,
)

# The preview's HTML is the e-mail as written (inline styles are normal in e-mails); it
# is served on its own URL, framed only by our preview page in a sandboxed iframe, with
# a policy that still forbids scripts, plugins, forms and remote content but images.
PREVIEW_CSP = {
    "default-src": [NONE],
    "style-src": [UNSAFE_INLINE],
    "img-src": [SELF, "data:", "https:"],
    "font-src": [NONE],
    "script-src": [NONE],
    "connect-src": [NONE],
    "form-action": [NONE],
    "frame-ancestors": [SELF],
    "sandbox": True,
}


def _variable_docs(mail_type: str, language: str = "en") -> list[dict[str, str]]:
    samples = sample_context(mail_type, language)
    return [
        {
            "placeholder": "{{ " + variable.name + " }}",
            "description": str(variable.description),
            "sample": ", ".join(value) if isinstance(value, list) else str(value),
        }
        for variable in variables_for(mail_type)
        for value in [samples[variable.name]]
    ]


@admin.register(MailTemplate)
class MailTemplateAdmin(admin.ModelAdmin):
    list_display = ["type", "language", "active", "updated_at"]
    list_filter = ["type", "language", "active"]
    search_fields = ["subject"]
    actions = ["activate", "deactivate"]
    fields = ["type", "language", "active", "subject", "body_text", "body_html"]
    formfield_overrides = {
        models.CharField: {"widget": TextInput(attrs={"class": "vLargeTextField"})},
        models.TextField: {
            "widget": Textarea(attrs={"rows": 14, "cols": 100, "class": "vLargeTextField"})
        },
    }

    def get_readonly_fields(self, request: HttpRequest, obj: MailTemplate | None = None):
        # Another type has other variables: make a new template rather than retyping one.
        return ["type", "language"] if obj else []

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        types = [obj.type] if obj else MailType.values
        language = obj.language if obj else "en"
        context["mail_variables"] = [
            {"type": MailType(t).label, "variables": _variable_docs(t, language)} for t in types
        ]
        context["mail_filters"] = ", ".join(ALLOWED_FILTERS)
        context["mail_example"] = "{{ offer_name }}"
        return super().render_change_form(request, context, add, change, form_url, obj)

    def get_urls(self):
        name = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path(
                "<path:object_id>/preview/",
                self.admin_site.admin_view(self.preview_view),
                name=f"{name}_preview",
            ),
            path(
                "<path:object_id>/preview/html/",
                self.admin_site.admin_view(
                    csp_replace(PREVIEW_CSP)(xframe_options_sameorigin(self.preview_html_view))
                ),
                name=f"{name}_preview_html",
            ),
            *super().get_urls(),
        ]

    def _template_for_preview(self, request: HttpRequest, object_id: str) -> MailTemplate:
        template = self.get_object(request, unquote(object_id))
        if template is None:
            raise Http404
        if not self.has_view_or_change_permission(request, template):
            raise PermissionDenied
        return template

    def preview_view(self, request: HttpRequest, object_id: str) -> TemplateResponse:
        """The saved template rendered with its type's sample values."""
        template = self._template_for_preview(request, object_id)
        context: dict[str, Any] = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": template,
            "title": _("Preview"),
            "subtitle": str(template),
            "samples": _variable_docs(template.type, template.language),
        }
        try:
            subject, text, html = render_mail(
                template, sample_context(template.type, template.language)
            )
        except MailRenderError as exc:
            context["error"] = exc.message
        else:
            context.update(
                subject=subject,
                text=text,
                text_rows=min(len(text.splitlines()) + 3, 40),
                has_html=bool(html),
            )
        return TemplateResponse(request, "admin/notifications/mailtemplate/preview.html", context)

    def preview_html_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        template = self._template_for_preview(request, object_id)
        try:
            _subject, _text, html = render_mail(
                template, sample_context(template.type, template.language)
            )
        except MailRenderError as exc:
            return HttpResponse(exc.message, content_type="text/plain; charset=utf-8")
        return HttpResponse(html, content_type="text/html; charset=utf-8")

    @admin.action(description=_("Activate the selected templates"), permissions=["change"])
    def activate(self, request: HttpRequest, queryset) -> None:
        count = mail_templates_set_active(templates=queryset, active=True)
        self.message_user(
            request,
            ngettext(
                "%(count)d template activated: its e-mails are sent from now on.",
                "%(count)d templates activated: their e-mails are sent from now on.",
                count,
            )
            % {"count": count},
            messages.SUCCESS,
        )

    @admin.action(description=_("Deactivate the selected templates"), permissions=["change"])
    def deactivate(self, request: HttpRequest, queryset) -> None:
        count = mail_templates_set_active(templates=queryset, active=False)
        self.message_user(
            request,
            ngettext(
                "%(count)d template deactivated: its e-mails are no longer sent.",
                "%(count)d templates deactivated: their e-mails are no longer sent.",
                count,
            )
            % {"count": count},
            messages.SUCCESS,
        )


@admin.register(MailMessage)
class MailMessageAdmin(admin.ModelAdmin):
    """Every e-mail, read-only: what was sent to whom, and what became of it."""

    list_display = [
        "created_at",
        "template_type",
        "language",
        "to_email",
        "status",
        "attempts",
        "tracking_status",
        "sent_at",
    ]
    list_filter = ["status", "template_type", "tracking_status"]
    search_fields = ["to_email", "=provider_message_id"]
    actions = ["retry_now"]
    fields = [
        "event",
        "template_type",
        "language",
        "to_email",
        "subject",
        "status",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "provider_message_id",
        "tracking_status",
        "tracking_at",
        "error_display",
        "context_display",
        "created_at",
    ]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_retry_permission(self, request: HttpRequest) -> bool:
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}")

    @admin.display(description=_("error"))
    def error_display(self, obj: MailMessage) -> str:
        return (
            format_html("<pre>{}</pre>", obj.error) if obj.error else self.get_empty_value_display()
        )

    @admin.display(description=_("context"))
    def context_display(self, obj: MailMessage) -> str:
        shown = {
            key: str(_("•••• (sent to the recipient only)")) if key in SECRET_VARIABLES else value
            for key, value in obj.context.items()
        }
        return format_html("<pre>{}</pre>", json.dumps(shown, indent=2, ensure_ascii=False))

    @admin.action(description=_("Retry the selected failed e-mails now"), permissions=["retry"])
    def retry_now(self, request: HttpRequest, queryset) -> None:
        selected = list(queryset.values_list("pk", flat=True))
        retried = 0
        for message_id in selected:
            try:
                mail_message_retry(message_id=message_id)
            except MailNotRetryable:
                continue
            retried += 1
        skipped = len(selected) - retried
        self.message_user(
            request,
            ngettext("%(count)d e-mail queued again.", "%(count)d e-mails queued again.", retried)
            % {"count": retried},
            messages.SUCCESS if retried else messages.WARNING,
        )
        if skipped:
            self.message_user(
                request,
                ngettext(
                    "%(count)d e-mail was not retried: only failed e-mails can be.",
                    "%(count)d e-mails were not retried: only failed e-mails can be.",
                    skipped,
                )
                % {"count": skipped},
                messages.WARNING,
            )
