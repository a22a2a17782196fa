"""Activation by IP range (SPEC §3): a signed-in user whose request comes from a network
listed on a seat account gets a user subscription on it.

Cheap by design: nothing for anonymous users and staff; for others at most once per
session (the result is remembered in the session), and then one query to see whether
the user already has running access and, only if not, one query for matching ranges.

The client address is REMOTE_ADDR, unless settings.KONTOR_TRUSTED_PROXY_HEADER names a
request.META key (e.g. "HTTP_X_FORWARDED_FOR") set by the site's own reverse proxy. Then
the RIGHT-most address of that header is used: it is the one the proxy itself appended
(the client's address as the proxy saw it); everything left of it was sent by the client
and can be forged. Set it only when every request passes through that proxy.
"""

from __future__ import annotations

import logging

from seats.models import UserSubscription
from seats.services.activation import ip_activation_for_user
from seats.services.seats import RUNNING
from security.throttle import client_address

logger = logging.getLogger(__name__)

SESSION_KEY = "seats_ip_checked"
# Set (True) in the session when the user has running shared access (a user subscription
# of someone else's account); base.html shows the "Shared with me" nav link from it, so
# pages need no query. Refreshed at every login and by activation by IP range.
SHARED_ACCESS_KEY = "seats_shared_access"


def remember_shared_access(request, user, has_access: bool = True) -> None:
    """Refresh the session's "Shared with me" flag when this request changed or read the
    signed-in user's access (an invitation redeemed, a domain confirmed, the access page
    seen), so the nav link does not wait for the next login."""
    session = getattr(request, "session", None)
    if session is not None and request.user.is_authenticated and request.user.pk == user.pk:
        session[SHARED_ACCESS_KEY] = has_access


def activate_once(request, user, *, mark_without_address: bool = True) -> None:
    """Activation by IP range for this session (at most once; the marker is kept in the
    session). Nothing for staff; one query when the user already has running access,
    otherwise one more for matching ranges plus the activation itself. With
    `mark_without_address=False` a request without a usable address leaves the session
    unmarked (the login hook: the test client's force_login has no address)."""
    session = getattr(request, "session", None)
    if session is None or user is None or not user.is_authenticated or user.is_staff:
        return
    if session.get(SESSION_KEY):
        return
    has_access = UserSubscription.objects.filter(user=user, state__in=RUNNING).exists()
    session[SHARED_ACCESS_KEY] = has_access
    address = client_address(request)
    if address is None and not mark_without_address:
        return
    session[SESSION_KEY] = True
    if has_access or address is None:
        return
    try:
        account = ip_activation_for_user(user=user, address=address)
    except Exception:  # activation must never break the page the user asked for
        logger.exception("IP activation failed for user %s", user.pk)
        return
    if account is not None:
        session[SHARED_ACCESS_KEY] = True
        logger.info("User %s activated on account %s by IP range", user.pk, account.pk)


def activate_on_login(sender, request, user, **kwargs) -> None:
    """Receiver of django.contrib.auth's `user_logged_in` (connected in
    SeatsConfig.ready): the IP-range check runs once per session, at login, so no page
    pays for it. The codebase keeps business flow out of signals; this login hook is
    the one exception and only calls `activate_once` (one service). A request without a
    usable address (e.g. the test client's force_login) starts nothing."""
    if request is None:
        return
    request.session.pop(SESSION_KEY, None)  # a new login is checked afresh
    activate_once(request, user, mark_without_address=False)


class IPRangeActivationMiddleware:
    """Optional (not in settings.MIDDLEWARE: the login hook covers sign-ins). Put after
    AuthenticationMiddleware; catches sessions that began before the hook existed."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not request.session.get(SESSION_KEY):
            activate_once(request, user)
        return self.get_response(request)
