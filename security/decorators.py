"""Staff pages outside the admin site (an image the admin embeds, an upload the admin
posts to) get the admin's two-factor rule too: Django's `staff_member_required` checks
only `is_staff`, so a session signed in through the portal with a password alone would
open them."""

from __future__ import annotations

from functools import wraps

from django.contrib.admin.views.decorators import staff_member_required as django_staff_required
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.views import redirect_to_login
from django.urls import reverse

from .otp import session_needs_otp


def staff_member_required(view):
    """Active staff whose session needs no second factor (else the admin's login page,
    which asks for the code or sends them to enrol)."""

    @wraps(view)
    def inner(request, *args, **kwargs):
        if session_needs_otp(request):
            return redirect_to_login(
                request.get_full_path(), reverse("admin:login"), REDIRECT_FIELD_NAME
            )
        return view(request, *args, **kwargs)

    return django_staff_required(inner)
