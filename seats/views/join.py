"""The invitation landing page, /join/<code>/ (SPEC §3).

GET shows the offer, its products and who invites; a signed-in visitor presses "Accept"
(POST), a visitor without an account registers (and accepts in the same step) or logs in
and comes back. Unknown, used, expired and withdrawn codes, and refusals (the account is
full, the user already has access, the main user), get a page of their own and change
nothing. After accepting, the same URL shows the redeemer "You now have access to …", so
reloading the page never redeems twice.
"""

from __future__ import annotations

from django.contrib.auth import login
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language

from seats.exceptions import InvitationInvalid, SeatError, SeatsFull
from seats.middleware import remember_shared_access
from seats.models import Invitation
from seats.services.invitations import (
    invitation_for_code,
    invitation_redeem,
    invitation_status_for,
)
from seats.services.seats import products_for
from security.throttle import Kind, guard
from subscriptions.forms_checkout import RegisterForm
from subscriptions.services.customers import customer_register

ACCEPT = "accept"
REGISTER = "register"
INVALID_STATUS = {"unknown": 404, "redeemed": 410, "expired": 410, "revoked": 410}


def redeem(request: HttpRequest, code: str) -> HttpResponse:
    try:
        invitation, status = _checked_invitation(request, code)
    except InvitationInvalid as invalid:
        return _invalid(request, invalid.reason)
    mine = request.user.is_authenticated and invitation.redeemed_by_id == request.user.pk
    if status == Invitation.Status.REDEEMED and mine:
        return _page(request, "seats/join/success.html", invitation)
    if status != Invitation.Status.PENDING:
        return _invalid(request, status)
    form = None
    if request.method == "POST" and request.POST.get("intent") == REGISTER:
        form, user = _register(request, invitation)
        if user is not None:
            return _accept(request, invitation, code, user)
    elif request.method == "POST" and request.user.is_authenticated:
        return _accept(request, invitation, code, request.user)
    return _page(request, "seats/join/invitation.html", invitation, form=form or _form(invitation))


def _checked_invitation(request: HttpRequest, code: str):
    """The invitation and its status. Unknown codes, and codes that can no longer be
    used (except by their own redeemer), count as failures of the client and of the
    signed-in user (security.throttle: over a limit, 429 before the code is looked at)."""
    account = f"user:{request.user.pk}" if request.user.is_authenticated else None
    with guard(kind=Kind.INVITATION, request=request, account=account) as attempt:
        invitation = invitation_for_code(code=code)
        status = invitation_status_for(invitation)
        mine = request.user.is_authenticated and invitation.redeemed_by_id == request.user.pk
        if status == Invitation.Status.PENDING or mine:
            attempt.success()
    return invitation, status


def _accept(request: HttpRequest, invitation: Invitation, code: str, user) -> HttpResponse:
    try:
        invitation_redeem(code=code, user=user)
    except InvitationInvalid as invalid:
        return _invalid(request, invalid.reason)
    except SeatError as refusal:
        full = isinstance(refusal, SeatsFull)
        context = {"message": refusal.message, "full": full}
        return _page(request, "seats/join/refused.html", invitation, status=409, **context)
    remember_shared_access(request, user)
    return redirect("join:redeem", code=code)


def _register(request: HttpRequest, invitation: Invitation):
    """The new account (signed in), or the form with its errors and None."""
    if request.user.is_authenticated:
        return None, request.user
    form = RegisterForm(request.POST)
    if not form.is_valid():
        return form, None
    try:
        user = customer_register(**form.cleaned_data, language=get_language() or "en")
    except ValidationError as error:  # the address was taken since the form checked
        form.add_error(None, error)
        return form, None
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return None, user


def _form(invitation: Invitation) -> RegisterForm:
    initial = {
        "email": invitation.email,
        "first_name": invitation.first_name,
        "last_name": invitation.last_name,
    }
    return RegisterForm(initial=initial)


def _page(request, template: str, invitation: Invitation, status: int = 200, **extra):
    account = invitation.seat_account
    context = {
        "invitation": invitation,
        "offer_name": account.subscription.title,
        "inviter": account.subscription.customer.name,
        "products": products_for(account),
        "intent_accept": ACCEPT,
        "intent_register": REGISTER,
        **extra,
    }
    return render(request, template, context, status=status)


def _invalid(request: HttpRequest, reason: str) -> HttpResponse:
    context = {"reason": reason}
    return render(request, "seats/join/invalid.html", context, status=INVALID_STATUS[reason])
