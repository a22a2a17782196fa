"""Callbacks: deliveries from events, signing, sending, retries."""

from __future__ import annotations

from datetime import datetime

from notifications.models import Event


def callback_deliveries_create_for_event(*, event: Event) -> list[int]:
    """Create one delivery per active endpoint subscribed to the event's type
    (idempotent); their ids."""
    return []


def callback_deliveries_send_due(*, now: datetime) -> int:
    """Attempt every pending delivery whose attempt is due; how many were tried."""
    return 0


def callback_delivery_send(*, delivery_id: int) -> None:
    """POST one pending delivery if its attempt is due; log the attempt."""
