from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    """The audit log (ADR 0006): what django-auditlog records, masked how, shown where.

    At the bottom of the import order: it names the audited models by label
    (`registry.AUDITED`) and imports none of Kontor's apps; the services whose
    `queryset.update()` sends no signals call `audit.recorder.record_bulk_change`."""

    name = "audit"
    verbose_name = _("Audit log")

    def ready(self) -> None:
        from .registry import register_audited_models

        register_audited_models()
