"""The portal's "Redeem a voucher" page (SPEC §5): enter the code, choose which offer of
the voucher's bundle to take, confirm. The subscription is free for the voucher's
periods and then ends; no payment method is asked for."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from coupons.exceptions import CouponRefused
from security.throttle import Kind, guard
from subscriptions.exceptions import PurchaseRefused
from subscriptions.models import CouponRedemption
from subscriptions.services.coupons import voucher_offers
from subscriptions.services.purchase import subscription_purchase_for_user

CHECK = "check"
REDEEM = "redeem"


class VoucherForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Voucher code"),
        max_length=64,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    offer = forms.CharField(required=False, widget=forms.HiddenInput)


@login_required
def voucher_redeem(request: HttpRequest) -> HttpResponse:
    form = VoucherForm(request.POST or None)
    context: dict = {"form": form}
    if request.method == "POST" and form.is_valid():
        code = form.cleaned_data["code"]
        try:
            found, offers = _checked_voucher(request, code)
        except CouponRefused as refused:
            form.add_error("code", str(refused.message))
        else:
            context.update(campaign=found.campaign, offers=offers)
            chosen = {offer.code: offer for offer in offers}.get(request.POST.get("offer", ""))
            if request.POST.get("intent") == REDEEM and chosen is not None:
                return _redeem(request, form, context, code, chosen)
            if request.POST.get("intent") == REDEEM:
                form.add_error(None, _("Choose what you want to redeem the voucher for."))
            if not offers:
                form.add_error("code", _("Nothing can be redeemed with this voucher right now."))
    return render(request, "subscriptions/vouchers/redeem.html", context)


def _checked_voucher(request: HttpRequest, code: str):
    """The voucher and its offers; a refused code counts against the user and the client
    (security.throttle: over a limit, 429 before the code is looked at)."""
    account = f"user:{request.user.pk}"
    with guard(kind=Kind.VOUCHER, request=request, account=account) as attempt:
        found_and_offers = voucher_offers(code=code, throttle_key=account)
        attempt.success()
    return found_and_offers


def _redeem(request, form, context, code, offer) -> HttpResponse:
    try:
        subscription = subscription_purchase_for_user(
            user=request.user,
            offer=offer,
            coupon_code=code,
            coupon_kind=CouponRedemption.Kind.VOUCHER,
            payment_method=None,
        )
    except PurchaseRefused as refused:
        form.add_error("code" if refused.field == "coupon_code" else None, str(refused))
        return render(request, "subscriptions/vouchers/redeem.html", context)
    ends = subscription.ends_at
    messages.success(
        request,
        _("Voucher redeemed: %(offer)s is yours free until %(date)s.")
        % {
            "offer": offer.name,
            "date": formats.date_format(timezone.localtime(ends), "DATE_FORMAT") if ends else "",
        },
    )
    return redirect("subscriptions:subscription_detail", public_id=subscription.public_id)
