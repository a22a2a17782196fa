from __future__ import annotations

from django.http import Http404

from subscriptions.models import Customer, User


def customer_for_user(*, user: User) -> Customer:
    """The customer account whose portal a signed-in user sees; 404 without one, so
    every portal page answers the same to staff, strangers and the account-less."""
    if not user.is_authenticated or user.customer_id is None:
        raise Http404
    return user.customer
