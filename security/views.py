"""The admin's "Two-factor login" page (enrol an authenticator app, TOTP), and the
password change of the portal and the admin (throttled like a login).

Reached by every staff member from the admin's user links, and forced on staff who must
use two-factor login but have no device yet (security.admin_site). The secret and its
QR code are shown only while the device is unconfirmed; a correct code from the app
confirms it and verifies the session."""

from __future__ import annotations

import base64
from io import BytesIO

import qrcode
import qrcode.image.svg
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _

from .forms import EnrolForm, ThrottledPasswordChangeForm
from .otp import confirmed_device, device_confirm, device_for_enrolment, session_needs_otp
from .throttle import Kind, guard


def _qr_data_uri(url: str) -> str:
    """The otpauth:// URL as an SVG QR code in a data: URI (the CSP allows data: images,
    not inline SVG styles)."""
    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


def _secret(device) -> str:
    key = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(key[i : i + 4] for i in range(0, len(key), 4))


def otp_enrol(request: HttpRequest, *, site) -> HttpResponse:
    user = request.user
    context = {**site.each_context(request), "title": _("Two-factor login")}
    if session_needs_otp(request):
        # No app list before the second factor; the header keeps "Log out".
        context.update(available_apps=[], is_nav_sidebar_enabled=False, has_permission=True)
    if confirmed_device(user) is not None:
        if session_needs_otp(request):  # a device, but this session gave no code yet
            return redirect(f"{reverse('admin:login', current_app=site.name)}")
        return TemplateResponse(request, "security/otp_enabled.html", context)
    device = device_for_enrolment(user=user)
    form = EnrolForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with guard(kind=Kind.OTP, request=request, account=user.get_username()) as attempt:
            if device_confirm(request=request, device=device, token=form.cleaned_data["token"]):
                attempt.success()
        if attempt.succeeded:
            messages.success(request, _("Two-factor login is on for your account."))
            return redirect(reverse("admin:index", current_app=site.name))
        form.add_error("token", _("That code is not right. Enter the current code of your app."))
    context.update(
        form=form,
        qr_code=_qr_data_uri(device.config_url),
        secret=_secret(device),
        required=session_needs_otp(request),
    )
    return TemplateResponse(request, "security/otp_enrol.html", context)


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's password change with the throttled form (security.forms): a wrong old
    password counts like a wrong login, and over a limit the answer is 429. Used by the
    portal and the admin."""

    form_class = ThrottledPasswordChangeForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "request": self.request}
