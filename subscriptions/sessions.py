"""How long a signed-in session lasts.

Staff sessions end after `KONTOR_STAFF_SESSION_SECONDS` (12 hours: a working day, so a
forgotten admin tab on a shared machine does not stay signed in for the two weeks a
customer's portal session may); customers keep Django's SESSION_COOKIE_AGE.
"""

from __future__ import annotations

from django.conf import settings


def limit_staff_session(sender, request, user, **kwargs) -> None:
    """`user_logged_in` receiver (connected in SubscriptionsConfig.ready)."""
    if user.is_staff and request is not None and hasattr(request, "session"):
        request.session.set_expiry(settings.KONTOR_STAFF_SESSION_SECONDS)
