"""Domain exceptions of the seats app. Each carries a message fit to show the user
(translated lazily), so views and the admin map them to a page or a message as they are."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _


class SeatError(Exception):
    """A seat operation was refused; nothing changed."""

    default_message = _("This change to the multi-user account is not possible.")

    def __init__(self, message=None) -> None:
        self.message = message if message is not None else self.default_message
        super().__init__(str(self.message))


class SeatsFull(SeatError):
    """Every seat of the account is taken (user subscriptions and pending invitations)."""

    default_message = _("All seats of this subscription are taken.")


class InvitationInvalid(SeatError):
    """The invitation code cannot be redeemed (or the invitation no longer changed).
    `reason` is one of REASONS; the landing page shows a page per reason."""

    REASONS = ("unknown", "redeemed", "expired", "revoked")
    MESSAGES = {
        "unknown": _("This invitation code is not valid."),
        "redeemed": _("This invitation has already been accepted."),
        "expired": _("This invitation has expired."),
        "revoked": _("This invitation has been withdrawn."),
    }

    def __init__(self, reason: str) -> None:
        if reason not in self.REASONS:
            raise ValueError(f"Unknown reason {reason!r}.")
        self.reason = reason
        super().__init__(self.MESSAGES[reason])


class InvitationRowsInvalid(SeatError):
    """A batch of invitations was refused because some rows break the rules; nothing was
    created. `errors` is a list of (row index, 0-based, message) in row order."""

    default_message = _("Some rows cannot be invited; nothing was imported.")

    def __init__(self, errors: list[tuple[int, str]]) -> None:
        self.errors = errors
        super().__init__()
