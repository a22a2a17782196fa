"""What Kontor's admin site (reports/sites.py) mixes in for two-factor login.

An admin request is allowed only when the stock check passes *and* the session needs no
second factor (security.otp.session_needs_otp): staff who must use two-factor login and
have no device are sent to the enrolment page after their password, and can do nothing
else in the admin until enrolled; staff with a device give its code on the login form
(security.forms.StaffLoginForm). The login form is throttled."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import path, reverse, reverse_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect

from .forms import StaffLoginForm
from .otp import confirmed_device, session_needs_otp
from .views import PasswordChangeView, otp_enrol


class TwoFactorAdminSiteMixin:
    login_form = StaffLoginForm
    login_template = "security/admin_login.html"

    def has_permission(self, request) -> bool:
        return super().has_permission(request) and not session_needs_otp(request)

    def login(self, request, extra_context=None):
        user = request.user
        if (
            user.is_authenticated
            and user.is_active
            and user.is_staff
            and session_needs_otp(request)
            and confirmed_device(user) is None
        ):
            return redirect(reverse("admin:security_otp_enrol", current_app=self.name))
        return super().login(request, extra_context)

    def password_change(self, request, extra_context=None):
        """The stock page with the throttled form (a wrong old password counts)."""
        defaults = {
            "success_url": reverse("admin:password_change_done", current_app=self.name),
            "extra_context": {**self.each_context(request), **(extra_context or {})},
        }
        if self.password_change_template is not None:
            defaults["template_name"] = self.password_change_template
        request.current_app = self.name
        return PasswordChangeView.as_view(**defaults)(request)

    def _staff_view(self, view):
        """Signed-in active staff only, without the admin's own permission check (which
        would send an Administrator without a device round in circles)."""

        @never_cache
        @csrf_protect
        @login_required(login_url=reverse_lazy("admin:login", current_app=self.name))
        def inner(request, *args, **kwargs):
            if not (request.user.is_active and request.user.is_staff):
                raise PermissionDenied
            return view(request, *args, site=self, **kwargs)

        return inner

    def get_urls(self):
        return [
            path(
                "security/two-factor/",
                self._staff_view(otp_enrol),
                name="security_otp_enrol",
            ),
            *super().get_urls(),
        ]
