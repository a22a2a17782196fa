"""Failed attempts at guessing a secret (password, one-time code, invitation, voucher or
coupon code), counted in sliding windows by `security.throttle`.

A row is written *before* the attempt is checked (a reservation) and deleted when the
attempt succeeds, so concurrent attempts can never exceed the limit (see throttle.py).
Rows hold hashes only: `account_key` and `client_key` are SHA-256 digests of the account
(e-mail, customer) and of the client address, never the values themselves, and never
the secret that was tried.
"""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Failure(models.Model):
    class Kind(models.TextChoices):
        LOGIN = "login", _("Portal login")
        ADMIN_LOGIN = "admin_login", _("Admin login")
        OTP = "otp", _("Two-factor code")
        PASSWORD_RESET = "password_reset", _("Password reset")
        INVITATION = "invitation", _("Invitation code")
        VOUCHER = "voucher", _("Voucher code")
        COUPON = "coupon", _("Coupon code")

    kind = models.CharField(max_length=20, choices=Kind.choices)
    # sha256 hex of "<family>:<account>"; empty when the attempt names no account.
    account_key = models.CharField(max_length=64, blank=True)
    # sha256 hex of the client address (an IPv6 client's /64) or of the API key.
    client_key = models.CharField(max_length=64, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("failed attempt")
        verbose_name_plural = _("failed attempts")
        indexes = [
            models.Index(fields=["account_key", "at"], name="security_failure_account"),
            models.Index(fields=["client_key", "at"], name="security_failure_client"),
            models.Index(fields=["at"], name="security_failure_at"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.at:%Y-%m-%d %H:%M:%S}"
