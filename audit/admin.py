"""The audit log in Kontor's admin: a read-only list with filters, and each entry's page.

django-auditlog's own LogEntryAdmin is replaced: its type filter and free-text search
over the JSON changes scan the whole log (slow once it is large), it lets the actor
filter be absent, and delete stays possible through cascades. Here nothing can be added,
changed or deleted; seeing it takes the `auditlog.view_logentry` permission, which
only the Administrator role holds (subscriptions/roles.py).
"""

from __future__ import annotations

from auditlog.admin import LogEntryAdmin as StockLogEntryAdmin
from auditlog.models import LogEntry
from auditlog.registry import auditlog
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

admin.site.unregister(LogEntry)

SYSTEM = "system"


class ActorFilter(admin.SimpleListFilter):
    """Staff members (a short list, not a scan of the log) and "system" (tasks, runs)."""

    title = _("actor")
    parameter_name = "actor"

    def lookups(self, request, model_admin):
        staff = get_user_model().objects.filter(is_staff=True).order_by("email")
        return [(SYSTEM, _("System (no user)")), *((str(u.pk), u.email) for u in staff)]

    def queryset(self, request, queryset):
        if self.value() == SYSTEM:
            return queryset.filter(actor__isnull=True)
        if self.value():
            return queryset.filter(actor_id=self.value())
        return queryset


class ModelFilter(admin.SimpleListFilter):
    """The audited models, from the registry (no scan of the log)."""

    title = _("model")
    parameter_name = "model"

    def lookups(self, request, model_admin):
        """One query whatever ContentType's cache holds (a fixed count for the list)."""
        models = {(m._meta.app_label, m._meta.model_name): m for m in auditlog.get_models()}
        wanted = Q()
        for app_label, model_name in models:
            wanted |= Q(app_label=app_label, model=model_name)
        types = ContentType.objects.filter(wanted) if models else ContentType.objects.none()
        return sorted(
            (
                (str(ct.pk), str(models[ct.app_label, ct.model]._meta.verbose_name).capitalize())
                for ct in types
            ),
            key=lambda pair: pair[1],
        )

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(content_type_id=self.value())
        return queryset


@admin.register(LogEntry)
class AuditEntryAdmin(StockLogEntryAdmin):
    list_display = ["created", "resource_url", "action", "msg_short", "user_url", "operation"]
    list_filter = [ActorFilter, ModelFilter, "action", ("timestamp", admin.DateFieldListFilter)]
    search_fields = ["object_repr", "actor_email", "=object_pk"]
    list_per_page = 50
    # The stock date hierarchy scans the whole log for its distinct days on every page;
    # the date filter (today, past 7 days, this month, this year) needs no query.
    date_hierarchy = None
    show_full_result_count = False
    readonly_fields = [
        "created", "resource_url", "action", "user_url", "actor_email", "remote_addr",
        "operation", "msg",
    ]  # fmt: skip
    fieldsets = [
        (None, {"fields": ["created", "user_url", "actor_email", "remote_addr", "resource_url"]}),
        (_("Changes"), {"fields": ["action", "operation", "msg"]}),
    ]

    @admin.display(description=_("operation"))
    def operation(self, entry: LogEntry) -> str:
        """The service behind a recorded bulk change (audit.recorder)."""
        return (entry.additional_data or {}).get("operation", "")

    def lookup_allowed(self, lookup, value, request=None):
        # The object history page links here with content_type and object_pk.
        return lookup in {"content_type__id__exact", "object_pk"} or super().lookup_allowed(
            lookup, value, request
        )

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
