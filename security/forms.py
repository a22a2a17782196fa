"""The admin's login form: throttled, with the second factor for staff who have one."""

from __future__ import annotations

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import PasswordChangeForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .otp import confirmed_device
from .throttle import Kind, guard


class StaffLoginForm(AdminAuthenticationForm):
    """E-mail, password and, for staff with a device, the current code of their app.
    Every wrong password or code counts as a failure of the account and the client;
    over the limit the form raises Throttled (429) before checking anything."""

    otp_token = forms.CharField(
        label=_("Authenticator code"),
        required=False,
        max_length=8,
        strip=True,
        help_text=_("Only if two-factor login is on for you: the 6-digit code of your app."),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )
    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "otp_invalid": _("Enter the current 6-digit code of your authenticator app."),
    }

    def clean(self):
        account = self.data.get("username", "") if self.is_bound else ""
        with guard(kind=Kind.ADMIN_LOGIN, request=self.request, account=account) as attempt:
            cleaned = super().clean()
            self._check_second_factor(attempt)
            attempt.success()
        return cleaned

    def _check_second_factor(self, attempt) -> None:
        device = confirmed_device(self.user_cache)
        if device is None:
            return  # an Administrator without a device enrols next (security.admin_site)
        token = self.cleaned_data.get("otp_token", "")
        # An empty field is no guess for django-otp's own per-device delay (which grows
        # with each wrong code); it still counts as a failure here.
        if not token or not device.verify_token(token):
            attempt.kind = Kind.OTP
            raise ValidationError(self.error_messages["otp_invalid"], code="otp_invalid")
        # django_otp's user_logged_in hook marks the session verified with this device.
        self.user_cache.otp_device = device


class EnrolForm(forms.Form):
    token = forms.CharField(
        label=_("Code from your app"),
        max_length=8,
        strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class ThrottledPasswordChangeForm(PasswordChangeForm):
    """Django's password change, whose old password is a guessable secret like the
    login's: each wrong one counts against the account (the login's count) and the
    client; over a limit even the right one is refused with 429. The portal's view
    passes the request (for the client address); the admin's passes none."""

    def __init__(self, user, *args, request=None, **kwargs):
        self.request = request
        super().__init__(user, *args, **kwargs)

    def clean_old_password(self):
        with guard(kind=Kind.LOGIN, request=self.request, account=self.user.email) as attempt:
            old_password = super().clean_old_password()
            attempt.success()
        return old_password
