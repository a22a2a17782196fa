"""Django-Q2 task of the audit log."""

from datetime import timedelta

from auditlog.models import LogEntry
from django.conf import settings
from django.utils import timezone


def prune(*, now=None) -> int:
    """Delete entries older than KONTOR_AUDIT_RETENTION_DAYS (daily; safe to run twice).
    Returns how many were deleted."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.KONTOR_AUDIT_RETENTION_DAYS)
    deleted, _by_model = LogEntry.objects.filter(timestamp__lt=cutoff).delete()
    return deleted
