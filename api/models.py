"""The integration API's own records: the merchant's API keys and the responses kept
for idempotent retries. Nothing here knows the domain apps (docs/adr/0003-api-app.md)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Scope(models.TextChoices):
    """What a key may do. `read` allows every GET; the others each allow the writes of
    one area."""

    READ = "read", _("Read everything")
    CUSTOMERS = "customers", _("Create and change customers")
    SUBSCRIPTIONS = "subscriptions", _("Buy, cancel and restore subscriptions")
    SEATS = "seats", _("Manage multi-user seats")
    COUPONS = "coupons", _("Manage coupon campaigns and codes")
    BILLING = "billing", _("Billing")


class ApiKey(models.Model):
    """A key of the merchant's other systems. The key is `kontor_<prefix>_<secret>`:
    the prefix (public, unique) finds the row, and only the SHA-256 of the whole key is
    stored; the key itself is shown once when it is made. A revoked key stays as a
    record of who used the API."""

    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=16, unique=True, editable=False)
    hashed_key = models.CharField(_("key (SHA-256)"), max_length=64, editable=False)
    # A JSON list of Scope values (JSON, not an array field: the demo runs on SQLite).
    scopes = models.JSONField(_("scopes"), default=list)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        # The rate limiter keys its counters on this (ninja's AuthRateThrottle).
        return f"{self.name} (kontor_{self.prefix}_…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


class IdempotencyRecord(models.Model):
    """The first response to a POST sent with an Idempotency-Key, per API key: a retry
    with the same key and body gets it again instead of doing the work twice. A row
    `in_progress` is a request still running (or one that died: taken over when stale).
    Kept 24 hours (`kontor:api.expire_idempotency_records`)."""

    class State(models.TextChoices):
        IN_PROGRESS = "in_progress", _("In progress")
        DONE = "done", _("Done")

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(_("idempotency key"), max_length=255)
    request_method = models.CharField(max_length=8)
    request_path = models.CharField(max_length=500)
    body_hash = models.CharField(max_length=64)
    state = models.CharField(max_length=12, choices=State.choices, default=State.IN_PROGRESS)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_content_type = models.CharField(max_length=100, blank=True)
    response_body = models.TextField(blank=True)
    response_location = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(_("created"))

    class Meta:
        verbose_name = _("idempotency record")
        verbose_name_plural = _("idempotency records")
        constraints = [
            models.UniqueConstraint(fields=["api_key", "key"], name="idempotency_key_once_per_key")
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created")]

    def __str__(self) -> str:
        return self.key
