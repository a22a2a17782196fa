"""Callback endpoints (secret shown once, rotate, test ping) and deliveries (attempts, replay).

The secret is shown exactly once, on a page of its own right after the endpoint was added
or its secret rotated: it is kept in the staff member's session until that page pops it,
so it never travels in a message cookie, and reloading the page does not show it again.
The session (a database row) holds it encrypted, like the endpoint's own column.
"""

from __future__ import annotations

import json

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import OuterRef, Subquery
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from notifications import crypto, signing
from notifications.events import SUBSCRIBABLE_EVENT_TYPES, EventType
from notifications.models import CallbackAttempt, CallbackDelivery, CallbackEndpoint
from notifications.services.callbacks import (
    CallbackError,
    callback_delivery_replay,
    callback_endpoint_create,
    callback_endpoint_ping,
    callback_endpoint_rotate_secret,
)

_SHOW_ONCE_SESSION_KEY = "kontor.callback_endpoint.{pk}.show_once"
_LABELS = dict(EventType.choices)


def _keep_to_show_once(request: HttpRequest, pk: int, secret: str) -> None:
    """Until the secret page shows it: encrypted, since sessions are database rows."""
    request.session[_SHOW_ONCE_SESSION_KEY.format(pk=pk)] = crypto.encrypt(secret)


def _rotation_question(grace_hours: float) -> str:
    if grace_hours <= 0:
        return _(
            "A new secret replaces the current one at once: callbacks from now on, "
            "retries included, are signed with the new secret only, and the receiver "
            "rejects them until it has the new one. Failed attempts are retried for "
            "about three days, so nothing is lost if the receiver is updated in time."
        )
    return _(
        "A new secret replaces the current one. For %(hours)s hours callbacks, "
        "retries included, carry two signatures, one with the new secret and one "
        "with the current one, so the receiver accepts them while it is switched "
        "over; after that only the new secret signs and the current one is erased."
    ) % {"hours": f"{grace_hours:g}"}


def _short_label(event_type: str) -> str:
    """ "CREATE" for "CREATE: user subscription created": the SPEC's names of the user
    subscription callbacks; other types keep their whole label."""
    label = str(_LABELS.get(event_type, event_type))
    return label.split(":", 1)[0]


def _event_type_html(event_type: str) -> str:
    return format_html(
        '<span title="{}">{}</span>', _LABELS.get(event_type, event_type), _short_label(event_type)
    )


def _https_by_default(field, **kwargs):
    # Django 6 assumes https for scheme-less URLs; do so already.
    if isinstance(field, models.URLField):
        kwargs["assume_scheme"] = "https"
    return field.formfield(**kwargs)


class CallbackEndpointForm(forms.ModelForm):
    event_types = forms.MultipleChoiceField(
        label=capfirst(CallbackEndpoint._meta.get_field("event_types").verbose_name),
        choices=SUBSCRIBABLE_EVENT_TYPES,
        # The admin's class for lists of choices: without it each label is squeezed into
        # the 160px of a field label.
        widget=forms.CheckboxSelectMultiple(attrs={"class": "radiolist"}),
        error_messages={"required": _("Choose at least one event type.")},
        help_text=_("The events this endpoint receives."),
    )

    class Meta:
        model = CallbackEndpoint
        fields = ["name", "url", "event_types", "active"]
        formfield_callback = _https_by_default
        # Not the admin's URL widget: it shows the URL as a link to click, and a callback
        # URL is nothing to open in a browser.
        widgets = {"url": forms.URLInput(attrs={"class": "vURLField"})}


@admin.register(CallbackEndpoint)
class CallbackEndpointAdmin(admin.ModelAdmin):
    form = CallbackEndpointForm
    list_display = ["name", "url", "event_types_display", "active", "last_delivery"]
    list_filter = ["active"]
    search_fields = ["name", "url"]
    readonly_fields = [
        "masked_secret_display",
        "secret_rotated_at",
        "previous_secret_display",
        "created_at",
        "deliveries",
    ]
    actions = ["send_test_ping"]
    # Django 6 assumes https for scheme-less URLs; do so already.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def get_fieldsets(self, request, obj=None):
        main = (None, {"fields": ["name", "url", "event_types", "active"]})
        if obj is None:
            return [main]
        signing_fields = ["masked_secret_display", "secret_rotated_at", "previous_secret_display"]
        return [
            main,
            (_("Signing"), {"fields": signing_fields}),
            (_("History"), {"fields": ["created_at", "deliveries"]}),
        ]

    def get_queryset(self, request):
        latest = CallbackDelivery.objects.filter(endpoint=OuterRef("pk")).order_by(
            "-created_at", "-id"
        )
        return (
            super()
            .get_queryset(request)
            .annotate(last_delivery_status=Subquery(latest.values("status")[:1]))
        )

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # endpoints with deliveries cannot go
        return actions

    def has_delete_permission(self, request, obj=None):
        # Deliveries keep their endpoint (PROTECT): switch it off instead.
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or not obj.deliveries.exists())

    # --- columns and read-only fields ------------------------------------------------

    @admin.display(description=_("event types"))
    def event_types_display(self, obj: CallbackEndpoint) -> str:
        if set(obj.event_types) >= {value for value, _label in SUBSCRIBABLE_EVENT_TYPES}:
            return _("All events")
        return format_html_join(", ", "{}", ((_event_type_html(t),) for t in obj.event_types))

    @admin.display(description=_("last delivery"), ordering="last_delivery_status")
    def last_delivery(self, obj: CallbackEndpoint) -> str:
        status = obj.last_delivery_status
        return CallbackDelivery.Status(status).label if status else "—"

    @admin.display(description=_("signing secret"))
    def masked_secret_display(self, obj: CallbackEndpoint) -> str:
        return format_html(
            "<code>{}</code><p class='quiet'>{}</p>",
            obj.masked_secret,
            _(
                "Shown in full only once, when it was made. Lost it? Rotate it and give the "
                "new one to the receiver."
            ),
        )

    @admin.display(description=_("previous secret"))
    def previous_secret_display(self, obj: CallbackEndpoint) -> str:
        if not obj.previous_secret or obj.previous_secret_expires_at is None:
            return "—"
        until = timezone.localtime(obj.previous_secret_expires_at)
        if until <= timezone.localtime():
            return _("Expired, no longer signs.")
        return format_html(
            "<code>{}</code> {}",
            signing.secret_mask(obj.previous_secret),
            _("signs too until %(until)s") % {"until": date_format(until, "DATETIME_FORMAT")},
        )

    @admin.display(description=_("deliveries"))
    def deliveries(self, obj: CallbackEndpoint) -> str:
        url = reverse("admin:notifications_callbackdelivery_changelist")
        return format_html(
            '<a href="{}?endpoint__id__exact={}">{}</a>', url, obj.pk, _("Show its deliveries")
        )

    # --- adding: through the service, then the secret page ---------------------------

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        created = callback_endpoint_create(
            name=obj.name, url=obj.url, event_types=obj.event_types, active=obj.active
        )
        for field in obj._meta.concrete_fields:
            setattr(obj, field.attname, getattr(created, field.attname))
        obj._state.adding = False
        _keep_to_show_once(request, obj.pk, created.secret)

    def response_add(self, request, obj, post_url_continue=None):
        return HttpResponseRedirect(self._url("secret", obj.pk))

    # --- extra pages -----------------------------------------------------------------

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/secret/", view(self.secret_view), name=self._name("secret")),
            path("<int:pk>/rotate-secret/", view(self.rotate_view), name=self._name("rotate")),
            path("<int:pk>/ping/", view(self.ping_view), name=self._name("ping")),
            *super().get_urls(),
        ]

    def _name(self, page: str) -> str:
        return f"notifications_callbackendpoint_{page}"

    def _url(self, page: str, pk: int) -> str:
        return reverse(f"admin:{self._name(page)}", args=[pk])

    def _endpoint_for_change(self, request: HttpRequest, pk: int) -> CallbackEndpoint:
        endpoint = get_object_or_404(CallbackEndpoint, pk=pk)
        if not self.has_change_permission(request, endpoint):
            raise PermissionDenied
        return endpoint

    def secret_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        endpoint = self._endpoint_for_change(request, pk)
        kept = request.session.pop(_SHOW_ONCE_SESSION_KEY.format(pk=pk), None)
        secret = crypto.decrypt(kept) if kept else None
        return TemplateResponse(
            request,
            "admin/notifications/callbackendpoint/secret.html",
            self._context(request, endpoint, _("Signing secret"), secret=secret),
        )

    def rotate_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        endpoint = self._endpoint_for_change(request, pk)
        if request.method == "POST":
            secret = callback_endpoint_rotate_secret(endpoint_id=endpoint.pk)
            _keep_to_show_once(request, pk, secret)
            self.log_change(request, endpoint, [{"changed": {"fields": ["signing secret"]}}])
            return HttpResponseRedirect(self._url("secret", pk))
        return self._confirm(
            request,
            endpoint,
            title=_("Rotate the signing secret"),
            question=_rotation_question(settings.KONTOR_CALLBACK_SECRET_GRACE_HOURS),
            button=_("Rotate the secret"),
        )

    def ping_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        endpoint = self._endpoint_for_change(request, pk)
        if request.method == "POST":
            delivery = callback_endpoint_ping(endpoint_id=endpoint.pk)
            self.message_user(
                request,
                _("A test ping to %(endpoint)s is on its way; reload this page to see the answer.")
                % {"endpoint": endpoint.name},
                messages.SUCCESS,
            )
            return HttpResponseRedirect(
                reverse("admin:notifications_callbackdelivery_change", args=[delivery.pk])
            )
        return self._confirm(
            request,
            endpoint,
            title=_("Send a test ping"),
            question=_(
                "Send a signed test event of type “ping” to %(url)s? It goes to this "
                "endpoint only, active or not."
            )
            % {"url": endpoint.url},
            button=_("Send the ping"),
        )

    def _confirm(self, request, endpoint, *, title, question, button) -> HttpResponse:
        return TemplateResponse(
            request,
            "admin/notifications/callbackendpoint/confirmation.html",
            self._context(
                request,
                endpoint,
                title,
                question=question,
                button=button,
                cancel_url=reverse(
                    "admin:notifications_callbackendpoint_change", args=[endpoint.pk]
                ),
            ),
        )

    def _context(self, request, endpoint, title, **extra) -> dict:
        return {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "object": endpoint,
            "title": title,
            **extra,
        }

    # --- list action -----------------------------------------------------------------

    @admin.action(description=_("Send a test ping"), permissions=["change"])
    def send_test_ping(self, request, queryset):
        count = 0
        for endpoint in queryset:
            callback_endpoint_ping(endpoint_id=endpoint.pk)
            count += 1
        self.message_user(
            request,
            ngettext(
                "Test ping queued for %(count)d endpoint.",
                "Test ping queued for %(count)d endpoints.",
                count,
            )
            % {"count": count},
            messages.SUCCESS,
        )


class CallbackAttemptInline(admin.TabularInline):
    model = CallbackAttempt
    # A plain read-only table: Django's tabular template repeats each row's str() above it.
    template = "admin/notifications/callbackdelivery/attempts.html"
    fields = ["attempted_at", "succeeded", "status_code", "duration_ms", "error", "response"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = _("attempts")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("response (first 1,000 characters)"))
    def response(self, attempt: CallbackAttempt) -> str:
        if not attempt.response_excerpt:
            return "—"
        return format_html("<pre>{}</pre>", attempt.response_excerpt)


@admin.register(CallbackDelivery)
class CallbackDeliveryAdmin(admin.ModelAdmin):
    """Read-only: deliveries are made by events and changed by sending; staff replay."""

    list_display = [
        "created_at",
        "event_type",
        "endpoint_name",
        "status",
        "attempts",
        "last_answer",
        "next_attempt_at",
    ]
    list_select_related = ["event", "endpoint"]
    list_filter = ["status", "endpoint", "event__type"]
    search_fields = ["event__event_id__exact", "endpoint__name"]
    date_hierarchy = "created_at"
    fields = [
        "endpoint",
        "event_label",
        "webhook_id",
        "status",
        "attempts",
        "next_attempt_at",
        "last_status_code",
        "succeeded_at",
        "created_at",
        "body",
    ]
    readonly_fields = fields
    inlines = [CallbackAttemptInline]
    actions = ["replay_selected"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_replay_permission(self, request) -> bool:
        return request.user.has_perm("notifications.change_callbackdelivery")

    @admin.display(description=_("event"), ordering="event__type")
    def event_type(self, obj: CallbackDelivery) -> str:
        return _event_type_html(obj.event.type)

    @admin.display(description=_("event"))
    def event_label(self, obj: CallbackDelivery) -> str:
        return obj.event.get_type_display()

    @admin.display(description=_("last answer"), ordering="last_status_code")
    def last_answer(self, obj: CallbackDelivery) -> str:
        if obj.last_status_code is not None:
            return str(obj.last_status_code)
        return _("none") if obj.attempts else "—"

    @admin.display(description=_("endpoint"), ordering="endpoint__name")
    def endpoint_name(self, obj: CallbackDelivery) -> str:
        return obj.endpoint.name

    @admin.display(description=_("event id (webhook-id)"))
    def webhook_id(self, obj: CallbackDelivery) -> str:
        return str(obj.event.event_id)

    @admin.display(description=_("body (as sent, but indented here)"))
    def body(self, obj: CallbackDelivery) -> str:
        event = obj.event
        sent = signing.callback_body(
            event_type=event.type,
            event_id=str(event.event_id),
            occurred_at=event.occurred_at,
            subject_type=event.subject_type,
            subject_id=event.subject_id,
            payload=event.payload,
        )
        return format_html(
            "<pre>{}</pre>", json.dumps(json.loads(sent), indent=2, ensure_ascii=False)
        )

    # --- replay ----------------------------------------------------------------------

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "<int:pk>/replay/",
                view(self.replay_view),
                name="notifications_callbackdelivery_replay",
            ),
            *super().get_urls(),
        ]

    def replay_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not self.has_replay_permission(request):
            raise PermissionDenied
        delivery = CallbackDelivery.objects.select_related("endpoint", "event").filter(pk=pk)
        delivery = delivery.first()
        if delivery is None:
            raise Http404
        change_url = reverse("admin:notifications_callbackdelivery_change", args=[pk])
        if request.method == "POST":
            self._replay(request, [delivery])
            return HttpResponseRedirect(change_url)
        return TemplateResponse(
            request,
            "admin/notifications/callbackendpoint/confirmation.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "object": delivery,
                "title": _("Replay the delivery"),
                "question": _(
                    "Send this event to %(endpoint)s again, now? Receivers that already "
                    "have it recognise it by its webhook-id. If it fails, it is retried "
                    "for about three days."
                )
                % {"endpoint": delivery.endpoint.name},
                "button": _("Replay"),
                "cancel_url": change_url,
            },
        )

    @admin.action(description=_("Replay selected deliveries"), permissions=["replay"])
    def replay_selected(self, request, queryset):
        self._replay(request, queryset.select_related("endpoint"))

    def _replay(self, request, deliveries) -> None:
        done = 0
        for delivery in deliveries:
            try:
                callback_delivery_replay(delivery_id=delivery.pk)
                done += 1
            except CallbackError as error:
                self.message_user(request, str(error), messages.ERROR)
        if done:
            self.message_user(
                request,
                ngettext("%(count)d delivery replayed.", "%(count)d deliveries replayed.", done)
                % {"count": done},
                messages.SUCCESS,
            )
