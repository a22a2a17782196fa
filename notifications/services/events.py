"""Recording domain events and handing them to their consumers (mail, callbacks).

The flow (ARCHITECTURE.md): `emit` writes an Event in the caller's transaction and, after
commit, queues `dispatch_event`. Dispatching creates the consumers' rows (one mail message
per requested e-mail, one delivery per subscribed endpoint) exactly once, marks the event
dispatched, and after commit queues their sends. A rolled-back change leaves no event,
so nothing is sent. A task lost with a worker leaves its row due; `notifications_sweep`
(every minute) does what is still due, so nothing is lost.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import models, transaction
from django.utils import timezone
from django_q.tasks import async_task

from notifications.events import EventType, MailType
from notifications.mail_context import variable_names
from notifications.models import Event

from .callbacks import callback_deliveries_create_for_event, callback_deliveries_send_due
from .mail import mail_messages_create_for_event, mail_messages_send_due

logger = logging.getLogger(__name__)

# An event still undispatched this long after it was recorded lost its task.
DISPATCH_GRACE = timedelta(seconds=60)
SWEEP_BATCH = 500


@dataclass(frozen=True)
class Mail:
    """An e-mail an event asks for. `context` holds the template type's variables
    (plain values only; see notifications.mail_context)."""

    template: str
    to: str
    language: str = "en"
    context: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Mistakes here are the emitter's bugs: refuse them in its transaction, rather
        # than record an e-mail that fails on every attempt.
        if self.template not in MailType.values:
            raise ValueError(f"Unknown mail template type {self.template!r}.")
        try:
            validate_email(self.to)
        except ValidationError as error:
            raise ValueError(f"{self.to!r} is not an e-mail address.") from error
        missing = set(variable_names(self.template)) - {"merchant_name"} - set(self.context)
        if missing:
            raise ValueError(
                f"A {self.template} e-mail needs {', '.join(sorted(missing))} in its context."
            )


def emit(
    *,
    type: str,
    payload: dict[str, Any],
    subject: models.Model | None = None,
    mails: Iterable[Mail] = (),
    occurred_at: datetime | None = None,
) -> Event:
    """Record a domain event in the caller's transaction; it is delivered after commit."""
    if type not in EventType.values:
        raise ValueError(f"Unknown event type {type!r}.")
    event = Event.objects.create(
        type=type,
        subject_type=subject._meta.label_lower if subject is not None else "",
        subject_id=_public_id(subject),
        payload=payload,
        mails=[asdict(mail) for mail in mails],
        occurred_at=occurred_at or timezone.now(),
    )
    transaction.on_commit(lambda: async_task("notifications.tasks.dispatch_event", event.pk))
    return event


def _public_id(subject: models.Model | None) -> str:
    if subject is None:
        return ""
    return str(getattr(subject, "public_id", None) or subject.pk)


def event_dispatch(*, event_id: int) -> bool:
    """Create the consumers' rows for an event, once. False if it was already dispatched
    (or another worker holds it right now)."""
    with transaction.atomic():
        event = (
            Event.objects.select_for_update(skip_locked=True)
            .filter(pk=event_id, dispatched_at__isnull=True)
            .first()
        )
        if event is None:
            return False
        mail_ids = mail_messages_create_for_event(event=event)
        delivery_ids = callback_deliveries_create_for_event(event=event)
        event.dispatched_at = timezone.now()
        event.save(update_fields=["dispatched_at"])
        transaction.on_commit(lambda: _queue_sends(mail_ids, delivery_ids))
    return True


def _queue_sends(mail_ids: list[int], delivery_ids: list[int]) -> None:
    for message_id in mail_ids:
        async_task("notifications.tasks.send_mail_message", message_id)
    for delivery_id in delivery_ids:
        async_task("notifications.tasks.deliver_callback", delivery_id)


def notifications_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Do whatever is due: events whose dispatch task was lost, e-mails and callbacks
    whose send is due (first tries whose task was lost, and retries)."""
    now = now or timezone.now()
    lost = list(
        Event.objects.filter(dispatched_at__isnull=True, created_at__lte=now - DISPATCH_GRACE)
        .order_by("created_at")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    dispatched = sum(event_dispatch(event_id=event_id) for event_id in lost)
    if dispatched:
        logger.warning("Sweep dispatched %d event(s) whose task was lost.", dispatched)
    return {
        "events": dispatched,
        "mails": mail_messages_send_due(now=now),
        "callbacks": callback_deliveries_send_due(now=now),
    }
