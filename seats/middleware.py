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

import ipaddress
import logging

from django.conf import settings

from seats.models import UserSubscription
from seats.services.activation import ip_activation_for_user
from seats.services.seats import RUNNING

logger = logging.getLogger(__name__)

SESSION_KEY = "seats_ip_checked"


def client_address(request) -> str | None:
    """The client's IP address per KONTOR_TRUSTED_PROXY_HEADER, or None if unusable."""
    header = getattr(settings, "KONTOR_TRUSTED_PROXY_HEADER", "")
    raw = request.META.get(header, "") if header else request.META.get("REMOTE_ADDR", "")
    candidate = raw.split(",")[-1].strip() if raw else ""
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return None


class IPRangeActivationMiddleware:
    """Put after AuthenticationMiddleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not user.is_staff
            and not request.session.get(SESSION_KEY)
        ):
            self.activate(request, user)
        return self.get_response(request)

    def activate(self, request, user) -> None:
        request.session[SESSION_KEY] = True
        address = client_address(request)
        if address is None:
            return
        if UserSubscription.objects.filter(user=user, state__in=RUNNING).exists():
            return
        try:
            account = ip_activation_for_user(user=user, address=address)
        except Exception:  # activation must never break the page the user asked for
            logger.exception("IP activation failed for user %s", user.pk)
            return
        if account is not None:
            logger.info("User %s activated on account %s by IP range", user.pk, account.pk)
