"""Outgoing callbacks (webhooks): endpoints, one delivery per event and endpoint, and
every attempt."""

import uuid
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from notifications import signing, url_safety
from notifications.events import SUBSCRIBABLE_EVENT_TYPES
from notifications.fields import EncryptedTextField


class CallbackEndpoint(models.Model):
    """A URL of the merchant's that receives signed JSON POSTs for chosen event types."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=100)
    url = models.URLField(
        _("URL"),
        max_length=500,
        help_text=_("https, and not a loopback, private or link-local address."),
    )
    # Standard Webhooks secret ("whsec_" + base64). Needed in clear to sign, so encrypted
    # at rest (the column holds a Fernet token); shown to staff once when generated or
    # rotated, masked afterwards.
    secret = EncryptedTextField(_("signing secret"), editable=False)
    event_types = models.JSONField(
        _("event types"),
        default=list,
        help_text=_("The events this endpoint receives."),
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    secret_rotated_at = models.DateTimeField(_("secret rotated"), null=True, blank=True)
    # The secret before the last rotation: it signs too (a second signature) until
    # previous_secret_expires_at, so receivers can switch over; then it is erased.
    previous_secret = EncryptedTextField(
        _("previous signing secret"), blank=True, default="", editable=False
    )
    previous_secret_expires_at = models.DateTimeField(
        _("previous secret valid until"), null=True, blank=True, editable=False
    )

    class Meta:
        verbose_name = _("callback endpoint")
        verbose_name_plural = _("callback endpoints")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(previous_secret="", previous_secret_expires_at__isnull=True)
                | (~Q(previous_secret="") & Q(previous_secret_expires_at__isnull=False)),
                name="callback_previous_secret_has_expiry",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        # The stored URL, so clean() knows whether the URL changed.
        instance._stored_url = dict(zip(field_names, values, strict=True)).get("url")
        return instance

    @property
    def masked_secret(self) -> str:
        return signing.secret_mask(self.secret)

    def signing_secrets(self, *, now: datetime) -> list[str]:
        """The secrets an attempt at `now` is signed with: the current one, and the
        previous one while its grace period lasts (even before the sweep erased it)."""
        expires = self.previous_secret_expires_at
        if self.previous_secret and expires is not None and now < expires:
            return [self.secret, self.previous_secret]
        return [self.secret]

    def clean(self) -> None:
        super().clean()
        errors = {}
        subscribable = {value for value, _label in SUBSCRIBABLE_EVENT_TYPES}
        # An empty list is refused by the field itself (blank=False).
        if not isinstance(self.event_types, list):
            errors["event_types"] = _("Choose at least one event type.")
        elif unknown := sorted(set(map(str, self.event_types)) - subscribable):
            errors["event_types"] = _("Unknown event types: %(types)s.") % {
                "types": ", ".join(unknown)
            }
        # An unchanged URL of an inactive endpoint is not checked again, so staff can
        # switch off an endpoint whose host no longer resolves.
        if self.url and (self.active or self.url != getattr(self, "_stored_url", None)):
            try:
                url_safety.check_url(self.url, allowed_hosts=settings.KONTOR_CALLBACK_ALLOWED_HOSTS)
            except url_safety.UnsafeURLError as error:
                errors["url"] = error.message
        if errors:
            raise ValidationError(errors)


class CallbackDelivery(models.Model):
    """One event for one endpoint: attempted until the receiver answers 2xx, with
    exponential backoff for about three days, then failed. Replaying re-opens it."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    endpoint = models.ForeignKey(
        CallbackEndpoint,
        on_delete=models.PROTECT,
        related_name="deliveries",
        verbose_name=_("endpoint"),
    )
    event = models.ForeignKey(
        "notifications.Event",
        on_delete=models.PROTECT,
        related_name="callback_deliveries",
        verbose_name=_("event"),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(
        _("next attempt"), null=True, blank=True, default=timezone.now
    )
    last_status_code = models.PositiveSmallIntegerField(
        _("last status code"), null=True, blank=True
    )
    succeeded_at = models.DateTimeField(_("succeeded at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("callback delivery")
        verbose_name_plural = _("callback deliveries")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "event"], name="callback_once_per_endpoint_and_event"
            )
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="callback_due",
            )
        ]

    def __str__(self) -> str:
        return f"{self.event.type} → {self.endpoint.name}"


class CallbackAttempt(models.Model):
    """One POST: what the receiver answered (or why there was no answer)."""

    delivery = models.ForeignKey(
        CallbackDelivery,
        on_delete=models.CASCADE,
        related_name="attempt_log",
        verbose_name=_("delivery"),
    )
    attempted_at = models.DateTimeField(_("attempted at"), default=timezone.now)
    status_code = models.PositiveSmallIntegerField(_("status code"), null=True, blank=True)
    response_excerpt = models.TextField(_("response (first 1,000 characters)"), blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)
    error = models.TextField(_("error"), blank=True)
    succeeded = models.BooleanField(_("succeeded"), default=False)

    class Meta:
        verbose_name = _("attempt")
        verbose_name_plural = _("attempts")
        ordering = ["attempted_at", "id"]

    def __str__(self) -> str:
        return f"{self.attempted_at:%Y-%m-%d %H:%M:%S} {self.status_code or self.error[:40]}"
