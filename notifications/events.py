"""The kinds of domain event, and which callback type each one is to the merchant.

Apps above `notifications` emit these (see `notifications.services.emit`); the values
are part of the API contract (they are sent in callbacks), so never rename one.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class EventType(models.TextChoices):
    # User subscriptions of multi-user and corporate subscriptions (SPEC §6 callbacks).
    USER_SUBSCRIPTION_CREATED = "user_subscription.created", _("CREATE: user subscription created")
    USER_SUBSCRIPTION_CANCELLED = (
        "user_subscription.cancelled",
        _("CANCEL: user subscription cancelled"),
    )
    USER_SUBSCRIPTION_CHANGED = (
        "user_subscription.changed",
        _("CHANGE: user account blocked with its access"),
    )
    USER_SUBSCRIPTION_ENDED = "user_subscription.ended", _("ENDED: user subscription cancelled now")
    USER_SUBSCRIPTION_CANCELLATION_UNDONE = (
        "user_subscription.cancellation_undone",
        _("UNDO CANCELLATION: cancellation withdrawn"),
    )
    # Subscriptions (SPEC §2).
    SUBSCRIPTION_CREATED = "subscription.created", _("Subscription created")
    SUBSCRIPTION_CANCELLED = "subscription.cancelled", _("Subscription cancelled")
    SUBSCRIPTION_CANCELLATION_UNDONE = (
        "subscription.cancellation_undone",
        _("Subscription cancellation withdrawn"),
    )
    SUBSCRIPTION_ENDED = "subscription.ended", _("Subscription ended")
    SUBSCRIPTION_RENEWED = "subscription.renewed", _("Subscription renewed")
    PAYMENT_METHOD_CHANGED = "subscription.payment_method_changed", _("Payment method changed")
    SUBSCRIPTION_ACCESS_PAUSED = (
        "subscription.access_paused",
        _("Access paused (invoice unpaid after dunning)"),
    )
    SUBSCRIPTION_ACCESS_RESUMED = "subscription.access_resumed", _("Access resumed")
    # Invitations (mail only for now).
    INVITATION_CREATED = "invitation.created", _("Invitation sent")
    INVITATION_EXPIRING = "invitation.expiring", _("Invitation about to expire")
    # Billing.
    INVOICE_ISSUED = "invoice.issued", _("Invoice issued")
    INVOICE_PAID = "invoice.paid", _("Invoice paid")
    CREDIT_NOTE_ISSUED = "credit_note.issued", _("Credit note issued")
    PAYMENT_SUCCEEDED = "payment.succeeded", _("Payment succeeded")
    PAYMENT_FAILED = "payment.failed", _("Payment failed")
    PAYMENT_METHOD_SWITCHED = (
        "payment.method_switched",
        _("Switched to invoice payment after failed retries"),
    )
    # A test message staff send to one endpoint from the admin.
    PING = "ping", _("Test ping")


# What an endpoint can subscribe to: every type but the ping, which goes to whoever asks.
SUBSCRIBABLE_EVENT_TYPES = [c for c in EventType.choices if c[0] != EventType.PING]


class MailType(models.TextChoices):
    """The mail templates staff can edit; each has a fixed context (see mail_context.py)."""

    USER_INVITED = "user_invited", _("User invited")
    USER_ADDED = "user_added", _("User added")
    INVITATION_EXPIRING = "invitation_expiring", _("Invitation expiring")
    INVOICE_ISSUED = "invoice_issued", _("Invoice issued")
    PAYMENT_FAILED = "payment_failed", _("Payment failed")
    PAYMENT_REMINDER = "payment_reminder", _("Payment retry reminder")
