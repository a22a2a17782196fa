"""anymail's delivery reports (bounces, complaints, deliveries) into the e-mail log.

Kontor avoids signal receivers (flows are explicit service calls), but anymail hands
tracking webhooks to applications only as a signal, so this is the one exception. It does
nothing but call a service. Connected in NotificationsConfig.ready().
"""

from __future__ import annotations

from typing import Any

from anymail.signals import AnymailTrackingEvent, tracking
from django.utils import timezone

from notifications.services.mail import mail_message_track


def mail_tracking_received(
    sender: Any, event: AnymailTrackingEvent, esp_name: str, **kwargs: Any
) -> None:
    mail_message_track(
        provider_message_id=str(event.message_id or ""),
        report=event.event_type or "unknown",
        reported_at=event.timestamp or timezone.now(),
        description=str(event.description or event.reject_reason or event.mta_response or ""),
    )


def connect() -> None:
    tracking.connect(mail_tracking_received, dispatch_uid="notifications.mail_tracking")
