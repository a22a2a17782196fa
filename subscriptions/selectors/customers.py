from __future__ import annotations

from django.http import Http404

from subscriptions.models import Customer, User


def portal_customer_for_user(*, user: User) -> Customer | None:
    """The customer account whose portal pages the user may see, or None.

    Only the account's main user sees it. Other users belong to an account too (the
    seats issue attaches invited users to their company's or family's account), and they
    must not see the account's subscriptions, cancel them, change its payment methods or
    edit its details; they get pages of their own for the access they were given."""
    if not user.is_authenticated or user.customer_id is None:
        return None
    customer = user.customer
    return customer if customer.main_user_id == user.pk else None


def customer_for_user(*, user: User) -> Customer:
    """The signed-in main user's customer account; 404 for everyone else (staff,
    strangers, the account-less, and an account's other users), so every portal page
    answers them the same."""
    customer = portal_customer_for_user(user=user)
    if customer is None:
        raise Http404
    return customer


def customer_for_checkout(*, user: User) -> Customer | None:
    """The account a signed-in user buys for in the checkout: theirs when they are its
    main user, None when they have none yet (the purchase creates one). An account's
    other users get 404, as on every portal page: buying would spend the account's
    money and payment methods. A user of an account without a main user may buy and
    becomes its main user (see subscription_purchase)."""
    if user.customer_id is None:
        return None
    customer = user.customer
    if customer.main_user_id not in (None, user.pk):
        raise Http404
    return customer
