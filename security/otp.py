"""Two-factor login for staff (django-otp, TOTP): who must use it, and their device.

Staff in a group named in KONTOR_OTP_REQUIRED_GROUPS (the Administrator role) must have
a confirmed TOTP device and an OTP-verified session to use the admin; other staff may
opt in, and once they have a device it is required for them too. Whether a session
needs the second factor is worked out at login (`remember_requirement`, from the
user_logged_in signal); once it does, it is kept in the session (no query), and while
it does not, each staff request looks again (see `session_needs_otp`).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Exists
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

SESSION_KEY = "security_otp_required"
DEVICE_NAME = "Authenticator app"


def required_groups() -> list[str]:
    return list(getattr(settings, "KONTOR_OTP_REQUIRED_GROUPS", ["Administrator"]))


def confirmed_device(user) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


def otp_required_for(user) -> bool:
    """Superusers, staff in a required group, and staff who enrolled a device, need the
    second factor; customers never (they do not use the admin). One query for staff
    who are not superusers."""
    if not (user.is_authenticated and user.is_staff):
        return False
    if user.is_superuser:  # holds every permission, in no group
        return True
    in_group = user.groups.filter(name__in=required_groups())
    enrolled = TOTPDevice.objects.filter(user=user, confirmed=True)
    users = get_user_model().objects.filter(pk=user.pk)
    return users.filter(Exists(in_group) | Exists(enrolled)).exists()


def remember_requirement(request, user) -> None:
    """At login: note in the session whether this user needs the second factor."""
    session = getattr(request, "session", None)
    if session is not None:
        session[SESSION_KEY] = otp_required_for(user)


def session_needs_otp(request) -> bool:
    """True while this session's user must still give a one-time code (or enrol).

    A session that needed the code at login keeps needing it (no query). One that did
    not is looked at again on each staff request (one query), so staff promoted since
    (made Administrator or superuser, or enrolled) give the code from their next admin
    page on, not from their next login."""
    user = request.user
    if not user.is_authenticated or (hasattr(user, "is_verified") and user.is_verified()):
        return False
    if request.session.get(SESSION_KEY):
        return True
    if not user.is_staff:
        return False
    if not hasattr(request, "_kontor_otp_required"):  # once per request
        request._kontor_otp_required = otp_required_for(user)
        if request._kontor_otp_required:  # written on change only: no session save
            request.session[SESSION_KEY] = True
    return request._kontor_otp_required


def device_for_enrolment(*, user) -> TOTPDevice:
    """The user's unconfirmed device (made once, so a reload shows the same secret);
    shown on the enrolment page until a code confirms it."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    return device or TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)


@transaction.atomic
def device_confirm(*, request, device: TOTPDevice, token: str) -> bool:
    """Confirm the device with a code from the app; the session is then verified.
    A wrong code changes nothing."""
    if not token or not device.verify_token(token):
        return False
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=device.user, confirmed=False).delete()
    otp_login(request, device)
    request.session[SESSION_KEY] = True
    return True


@transaction.atomic
def devices_reset(*, user) -> int:
    """Remove all of a user's TOTP devices (a lost phone): an Administrator enrols a new
    one at the next login. The number removed."""
    deleted, _ = TOTPDevice.objects.filter(user=user).delete()
    return deleted
