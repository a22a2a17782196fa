from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from notifications.models import Event


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    """The outbox, read-only: what happened, and whether it was handed on."""

    list_display = ["occurred_at", "type", "subject_type", "subject_id", "dispatched"]
    list_filter = ["type", ("dispatched_at", admin.EmptyFieldListFilter), "occurred_at"]
    search_fields = ["event_id", "subject_id"]
    date_hierarchy = "occurred_at"
    readonly_fields = [
        "event_id",
        "type",
        "subject_type",
        "subject_id",
        "payload",
        "mails",
        "occurred_at",
        "created_at",
        "dispatched_at",
    ]
    fields = readonly_fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("dispatched"), boolean=True, ordering="dispatched_at")
    def dispatched(self, obj: Event) -> bool:
        return obj.dispatched_at is not None
