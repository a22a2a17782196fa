"""Domain exceptions of the coupons app, with messages fit to show the customer or staff
(translated lazily)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _


class CouponError(Exception):
    """A coupon operation was refused; nothing changed."""

    default_message = _("This coupon operation is not possible.")

    def __init__(self, message=None) -> None:
        self.message = message if message is not None else self.default_message
        super().__init__(str(self.message))


class CouponRefused(CouponError):
    """A code cannot be used (checked or claimed). `reason` says why, for callers that
    react to it (the API answers it, the checkout shows `message` on the code field)."""

    REASONS = (
        "unknown",
        "not_yet_valid",
        "expired",
        "disabled",
        "used_up",
        "wrong_bundle",
        "wrong_kind",
        "throttled",
    )
    MESSAGES = {
        "unknown": _("This code is not valid."),
        "not_yet_valid": _("This code is not valid yet."),
        "expired": _("This code has expired."),
        "disabled": _("This code has been disabled."),
        "used_up": _("This code has already been used."),
        "wrong_bundle": _("This code is not valid for this purchase."),
        "wrong_kind": _("This code cannot be used here."),
        "throttled": _("Too many invalid codes. Try again later."),
    }

    def __init__(self, message=None, *, reason: str) -> None:
        if reason not in self.REASONS:
            raise ValueError(f"Unknown reason {reason!r}.")
        self.reason = reason
        super().__init__(message if message is not None else self.MESSAGES[reason])


class NothingToRelease(CouponError):
    default_message = _("This code has no redemption to give back.")
