"""Multi-user seats (SPEC §3): the seat account of a multi-user or corporate
subscription, its user subscriptions, invitations, self-activation by e-mail domain or IP
range, and the append-only subscription log.

Every operation that takes a seat locks the SeatAccount row first (select_for_update),
counts, and only then writes, so the maximum holds under concurrent requests. Seats
taken = users with a user subscription that has not ended + pending invitations; the
main user always has access and takes no seat.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class SeatAccount(models.Model):
    """The seats of one subscription: its maximum and its settings."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    subscription = models.OneToOneField(
        "subscriptions.Subscription",
        on_delete=models.PROTECT,
        related_name="seat_account",
        verbose_name=_("subscription"),
    )
    maximum_users = models.PositiveIntegerField(
        _("maximum users"),
        null=True,
        blank=True,
        help_text=_("Additional users besides the main user; empty means unlimited."),
    )
    invitation_validity_days = models.PositiveSmallIntegerField(
        _("invitation validity (days)"), default=14
    )
    users_may_cancel = models.BooleanField(_("users may cancel their own access"), default=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("multi-user account")
        verbose_name_plural = _("multi-user accounts")

    def __str__(self) -> str:
        return str(self.subscription)


class UserSubscription(models.Model):
    """One user's access to one product of a seat account."""

    class State(models.TextChoices):
        ACTIVE = "active", _("Active")
        CANCELLED = "cancelled", _("Cancelled (ends at the date shown)")
        ENDED = "ended", _("Ended")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    seat_account = models.ForeignKey(
        SeatAccount,
        on_delete=models.PROTECT,
        related_name="user_subscriptions",
        verbose_name=_("multi-user account"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="user_subscriptions",
        verbose_name=_("user"),
    )
    product = models.ForeignKey(
        "catalog.Product", on_delete=models.PROTECT, related_name="+", verbose_name=_("product")
    )
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.ACTIVE)
    started_at = models.DateTimeField(_("started"))
    ends_at = models.DateTimeField(_("ends"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("user subscription")
        verbose_name_plural = _("user subscriptions")
        ordering = ["-started_at", "-id"]
        constraints = [
            # One running access per user and product; ended ones stay as history.
            models.UniqueConstraint(
                fields=["seat_account", "user", "product"],
                condition=~Q(state="ended"),
                name="user_subscription_one_running_per_user_and_product",
            ),
            models.CheckConstraint(
                condition=~Q(state="cancelled") | Q(ends_at__isnull=False),
                name="user_subscription_cancelled_has_end",
            ),
            models.CheckConstraint(
                condition=~Q(state="ended") | Q(ended_at__isnull=False),
                name="user_subscription_ended_has_ended_at",
            ),
        ]
        indexes = [
            models.Index(fields=["seat_account", "state"], name="user_sub_account_state"),
            # The reports' seats figure counts each running user once per account from
            # this index alone (reports.selectors.dashboard.seats_by_account).
            models.Index(
                fields=["seat_account", "user"],
                condition=~Q(state="ended"),
                name="user_sub_running_users",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.product}"


class Invitation(models.Model):
    """An invitation by e-mail. The code (128+ bits from a CSPRNG) is shown once, in the
    e-mail; only its SHA-256 is stored. A pending invitation holds a seat."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        REDEEMED = "redeemed", _("Redeemed")
        REVOKED = "revoked", _("Revoked")
        EXPIRED = "expired", _("Expired")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    seat_account = models.ForeignKey(
        SeatAccount,
        on_delete=models.PROTECT,
        related_name="invitations",
        verbose_name=_("multi-user account"),
    )
    email = models.EmailField(_("e-mail address"))
    first_name = models.CharField(_("first name"), max_length=150, blank=True)
    last_name = models.CharField(_("last name"), max_length=150, blank=True)
    language = models.CharField(
        _("language"), max_length=8, choices=settings.LANGUAGES, default="en"
    )
    code_hash = models.CharField(_("code (SHA-256)"), max_length=64, unique=True, editable=False)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    expires_at = models.DateTimeField(_("expires"))
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("invited by"),
    )
    redeemed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("redeemed by"),
    )
    redeemed_at = models.DateTimeField(_("redeemed"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    sent_at = models.DateTimeField(_("last sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["seat_account", "email"],
                condition=Q(status="pending"),
                name="invitation_one_pending_per_email",
            )
        ]
        indexes = [models.Index(fields=["seat_account", "status"], name="invitation_status")]

    def __str__(self) -> str:
        return self.email


class EmailDomain(models.Model):
    """Users with a confirmed address in this domain may activate a seat themselves."""

    seat_account = models.ForeignKey(SeatAccount, on_delete=models.CASCADE, related_name="domains")
    domain = models.CharField(_("domain"), max_length=253)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("e-mail domain")
        verbose_name_plural = _("e-mail domains")
        ordering = ["domain"]
        constraints = [
            models.UniqueConstraint(
                fields=["seat_account", "domain"], name="domain_once_per_account"
            )
        ]

    def __str__(self) -> str:
        return self.domain


class IPRange(models.Model):
    """Signed-in users whose request comes from this network get a seat automatically."""

    seat_account = models.ForeignKey(
        SeatAccount, on_delete=models.CASCADE, related_name="ip_ranges"
    )
    cidr = models.CharField(_("network (CIDR)"), max_length=49)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("IP range")
        verbose_name_plural = _("IP ranges")
        ordering = ["cidr"]
        constraints = [
            models.UniqueConstraint(
                fields=["seat_account", "cidr"], name="ip_range_once_per_account"
            )
        ]

    def __str__(self) -> str:
        return self.cidr


class LogEntry(models.Model):
    """The subscription log: every start and end of a user subscription, per product,
    with who did it and when. Append-only; corporate billing counts users from it."""

    class Action(models.TextChoices):
        STARTED = "started", _("Started")
        ENDED = "ended", _("Ended")

    seat_account = models.ForeignKey(
        SeatAccount, on_delete=models.PROTECT, related_name="log_entries"
    )
    user_subscription = models.ForeignKey(
        UserSubscription, on_delete=models.PROTECT, related_name="log_entries"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("user")
    )
    product = models.ForeignKey(
        "catalog.Product", on_delete=models.PROTECT, related_name="+", verbose_name=_("product")
    )
    action = models.CharField(_("what"), max_length=10, choices=Action.choices)
    at = models.DateTimeField(_("when"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    via = models.CharField(
        _("how"),
        max_length=32,
        blank=True,
        help_text=_("invitation, added by staff, e-mail domain, IP range, cancelled, …"),
    )

    class Meta:
        verbose_name = _("log entry")
        verbose_name_plural = _("subscription log")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["seat_account", "at"], name="seat_log_account_at")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.user} {self.product} {self.action}"
