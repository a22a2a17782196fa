"""The outbox: every domain event, recorded in the transaction of the change it reports."""

import uuid

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from notifications.events import EventType


class Event(models.Model):
    """One domain event. Consumers (mail, callbacks) derive their own rows from it once,
    keyed on the event, so handling an event twice changes nothing (at-least-once)."""

    event_id = models.UUIDField(
        _("event id"),
        default=uuid.uuid4,
        unique=True,
        editable=False,
        help_text=_("Sent as webhook-id; receivers deduplicate on it."),
    )
    type = models.CharField(_("type"), max_length=64, choices=EventType.choices)
    subject_type = models.CharField(
        _("subject type"),
        max_length=64,
        blank=True,
        help_text=_(
            'What the event is about, as "app_label.model", e.g. "seats.usersubscription".'
        ),
    )
    subject_id = models.CharField(_("subject id"), max_length=64, blank=True)
    payload = models.JSONField(_("payload"), default=dict, encoder=DjangoJSONEncoder)
    # The e-mails the emitter asked for: [{"template", "to", "language", "context"}].
    mails = models.JSONField(_("e-mails"), default=list, blank=True, encoder=DjangoJSONEncoder)
    occurred_at = models.DateTimeField(_("occurred at"), default=timezone.now)
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    # Set once the consumers have created their rows; until then the sweep retries it.
    dispatched_at = models.DateTimeField(_("dispatched at"), null=True, blank=True)

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=Q(dispatched_at__isnull=True),
                name="event_undispatched",
            ),
            models.Index(fields=["subject_type", "subject_id"], name="event_subject"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"
