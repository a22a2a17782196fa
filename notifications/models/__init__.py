"""Notifications: the event outbox, mail templates and log, callbacks."""

from .callbacks import CallbackAttempt, CallbackDelivery, CallbackEndpoint
from .events import Event
from .mail import MailMessage, MailTemplate

__all__ = [
    "CallbackAttempt",
    "CallbackDelivery",
    "CallbackEndpoint",
    "Event",
    "MailMessage",
    "MailTemplate",
]
