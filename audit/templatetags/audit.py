"""The audit trail of one object, for the admin's History page of every audited model."""

from __future__ import annotations

from urllib.parse import urlencode

from auditlog.models import LogEntry
from auditlog.registry import auditlog
from django import template
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

register = template.Library()

SHOWN = 50


@register.simple_tag(takes_context=True)
def audit_trail(context, obj) -> dict | None:
    """The newest entries about `obj` and a link to all of them in the audit log, or
    None when the viewer may not see the log or the model is not audited."""
    request = context.get("request")
    if obj is None or not auditlog.contains(type(obj)) or request is None:
        return None
    if not request.user.has_perm("auditlog.view_logentry"):
        return None
    content_type = ContentType.objects.get_for_model(obj)
    entries = list(
        LogEntry.objects.filter(content_type=content_type, object_pk=str(obj.pk))
        .select_related("actor")
        .order_by("-timestamp", "-pk")[:SHOWN]
    )
    query = urlencode({"content_type__id__exact": content_type.pk, "object_pk": obj.pk})
    return {
        "entries": entries,
        "all_url": reverse("admin:auditlog_logentry_changelist") + "?" + query,
    }
