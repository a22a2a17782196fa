"""E-mail: messages from events, rendering, sending through anymail, retries."""

from __future__ import annotations

from datetime import datetime

from notifications.models import Event


def mail_messages_create_for_event(*, event: Event) -> list[int]:
    """Create one MailMessage per e-mail the event asks for (idempotent); their ids."""
    return []


def mail_messages_send_due(*, now: datetime) -> int:
    """Send every queued message whose attempt is due; how many were tried."""
    return 0


def mail_message_send(*, message_id: int) -> None:
    """Render and send one queued message if its attempt is due; log the outcome."""
