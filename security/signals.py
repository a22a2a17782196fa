"""Login hook: remember whether the new session needs the second factor (security.otp)."""

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from .otp import remember_requirement


@receiver(user_logged_in, dispatch_uid="security.remember_otp_requirement")
def _remember_otp_requirement(sender, request, user, **kwargs) -> None:
    if request is not None:
        remember_requirement(request, user)
