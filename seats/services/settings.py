"""The user settings of a seat account (SPEC §3 "User settings"): how long an
invitation code stays valid, and whether users may cancel their own access."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from seats.models import SeatAccount
from subscriptions.models import User

MIN_VALIDITY_DAYS = 1
MAX_VALIDITY_DAYS = 365


def validity_days_errors(days: object) -> str | None:
    """The message for an invitation validity outside 1-365 days, else None."""
    if isinstance(days, bool) or not isinstance(days, int):
        return _("Enter a whole number of days.")
    if not MIN_VALIDITY_DAYS <= days <= MAX_VALIDITY_DAYS:
        return _("An invitation stays valid between %(min)d and %(max)d days.") % {
            "min": MIN_VALIDITY_DAYS,
            "max": MAX_VALIDITY_DAYS,
        }
    return None


@transaction.atomic
def seat_account_update_settings(
    *,
    account: SeatAccount,
    invitation_validity_days: int,
    users_may_cancel: bool,
    actor: User | None,
) -> SeatAccount:
    """Change the settings; a validity outside 1-365 days raises ValidationError on
    `invitation_validity_days` and changes nothing. Invitations already sent keep their
    expiry date; the new validity applies to invitations sent (or re-sent) from now on."""
    message = validity_days_errors(invitation_validity_days)
    if message:
        raise ValidationError({"invitation_validity_days": message}, code="range")
    account = SeatAccount.objects.select_for_update().get(pk=account.pk)
    account.invitation_validity_days = invitation_validity_days
    account.users_may_cancel = bool(users_may_cancel)
    account.save(update_fields=["invitation_validity_days", "users_may_cancel"])
    return account
