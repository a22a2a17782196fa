"""The hosted checkout: /portal/checkout/<offer code>/.

Signed-in customers choose options and a payment method and confirm; the purchase
service decides. Visitors see the offer with "log in" and a small "create an account"
form (a redirect straight to the login page would hide that path); buying needs a login.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from catalog.models import Offer
from catalog.models.base import describe_period
from catalog.money import format_money
from coupons.exceptions import CouponRefused
from security.throttle import Kind, guard
from subscriptions.exceptions import PurchaseRefused
from subscriptions.forms_checkout import CheckoutForm, RegisterForm
from subscriptions.selectors.customers import customer_for_checkout
from subscriptions.services.coupons import coupon_quote
from subscriptions.services.customers import customer_create_for_user, customer_register
from subscriptions.services.purchase import offer_refusal, subscription_purchase_for_user

REGISTER = "register"
ADD_METHOD = "add_method"
APPLY_COUPON = "apply_coupon"


def checkout(request: HttpRequest, offer_code: str) -> HttpResponse:
    offer = _sellable_offer(offer_code)
    if not request.user.is_authenticated:
        return _visitor(request, offer)
    customer = customer_for_checkout(user=request.user)
    if request.POST.get("intent") == ADD_METHOD:
        return _add_payment_method(request, offer)
    data = request.POST if request.method == "POST" else None  # an empty POST is still bound
    form = CheckoutForm(data, offer=offer, customer=customer)
    buyable = customer is not None or not request.user.is_staff
    quote = None
    if request.POST.get("intent") == APPLY_COUPON:
        quote = _apply_coupon(request, form, offer, customer)
    elif request.method == "POST" and buyable and form.is_valid():
        try:
            subscription = _purchase(request, offer, form, customer)
        except PurchaseRefused as refusal:
            form.add_error(refusal.field if refusal.field in form.fields else None, str(refusal))
        else:
            messages.success(
                request,
                _("Thank you! Your subscription to %(offer)s has started.") % {"offer": offer.name},
            )
            return redirect("subscriptions:subscription_detail", public_id=subscription.public_id)
    context = {"offer": offer, "form": form, "buyable": buyable, **_summary(offer)}
    if quote is not None:
        context.update(_quote_summary(quote, offer))
    return render(request, "subscriptions/checkout/checkout.html", context)


def _apply_coupon(request: HttpRequest, form: CheckoutForm, offer: Offer, customer):
    """The checkout's "Apply": the code checked against the chosen options, nothing
    used; the page then shows the price with the discount. Wrong guesses count against
    the account (or the user before they have one)."""
    if not form.is_valid():
        return None
    code = form.cleaned_data.get("coupon_code", "")
    if not code.strip():
        form.add_error("coupon_code", _("Enter a code to apply."))
        return None
    owner = _code_owner(request, customer)
    try:
        with guard(kind=Kind.COUPON, request=request, account=owner) as attempt:
            quote = coupon_quote(
                offer=offer,
                code=code,
                optional_products=form.cleaned_data.get("optional_products") or (),
                addon_bundles=form.cleaned_data.get("addon_bundles") or (),
                throttle_key=owner,
            )
            attempt.success()
        return quote
    except CouponRefused as refused:
        form.add_error("coupon_code", str(refused.message))
        return None


def _code_owner(request: HttpRequest, customer) -> str:
    """Whose wrong codes these are: the account, or the user before they have one."""
    return f"customer:{customer.pk}" if customer is not None else f"user:{request.user.pk}"


def _wrong_code(error: BaseException) -> bool:
    return isinstance(error, PurchaseRefused) and error.field == "coupon_code"


def _purchase(request: HttpRequest, offer: Offer, form: CheckoutForm, customer):
    """The purchase; with a coupon code it is throttled like "Apply" (security.throttle):
    a refusal of the code counts as a failure, other refusals do not."""
    kwargs = form.purchase_kwargs()
    if not kwargs.get("coupon_code"):
        return subscription_purchase_for_user(user=request.user, offer=offer, **kwargs)
    owner = _code_owner(request, customer)
    with guard(kind=Kind.COUPON, request=request, account=owner, fails=_wrong_code) as attempt:
        subscription = subscription_purchase_for_user(user=request.user, offer=offer, **kwargs)
        attempt.success()
    return subscription


def _quote_summary(quote, offer: Offer) -> dict:
    language = get_language() or "en"
    return {
        "quote": quote,
        "list_price": format_money(quote.list_price, offer.currency, language),
        "discount": format_money(quote.discount, offer.currency, language),
        "price": format_money(quote.price, offer.currency, language),
    }


def _visitor(request: HttpRequest, offer: Offer) -> HttpResponse:
    """Anonymous: the offer, "log in", and "create an account" (which logs in)."""
    if request.method == "POST" and request.POST.get("intent") != REGISTER:
        return redirect_to_login(request.get_full_path())
    form = RegisterForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            user = customer_register(**form.cleaned_data, language=get_language() or "en")
        except ValidationError as error:  # the address was taken since the form checked
            form.add_error(None, error)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, _("Your account is ready. Check your order and confirm it."))
            return redirect("subscriptions:checkout", offer_code=offer.code)
    context = {"offer": offer, "register_form": form, "intent": REGISTER, **_summary(offer)}
    return render(request, "subscriptions/checkout/visitor.html", context)


def _add_payment_method(request: HttpRequest, offer: Offer) -> HttpResponse:
    """To the payment-method page and back; a user without a customer account gets one
    first (that page belongs to an account)."""
    if request.user.is_staff and not request.user.customer_id:
        raise Http404
    customer_create_for_user(user=request.user)
    back = reverse("subscriptions:checkout", args=[offer.code])
    return redirect(f"{reverse('subscriptions:payment_method_add')}?{urlencode({'next': back})}")


def _sellable_offer(code: str) -> Offer:
    offer = (
        Offer.objects.select_related("product", "plan", "term", "plan__term")
        .filter(code=code.lower())
        .first()
    )
    if offer is None or offer_refusal(offer=offer) is not None:
        raise Http404
    return offer


def _summary(offer: Offer) -> dict:
    """What the page says about the offer: price, interval and term, in the viewer's
    language."""
    term = offer.effective_term
    interval = (
        _interval(offer.billing_interval_count, offer.billing_interval_unit)
        if offer.is_recurring
        else ""
    )
    commitment = penalty = grace = ""
    if term is not None:
        if term.commitment_basis == term.Basis.CALENDAR:
            commitment = describe_period(term.commitment_count, term.commitment_unit)
        elif offer.is_recurring:
            commitment = describe_period(
                term.commitment_count * offer.billing_interval_count, offer.billing_interval_unit
            )
        if term.early_cancellation == term.EarlyCancellation.PENALTY:
            penalty = format_money(term.penalty_fee_amount, term.currency, get_language() or "en")
            if term.grace_period_count:
                grace = describe_period(term.grace_period_count, term.grace_period_unit)
    notice = (
        describe_period(term.notice_period_count, term.notice_period_unit)
        if term is not None and term.notice_period_count
        else ""
    )
    return {
        "price": format_money(offer.price_amount, offer.currency, get_language() or "en"),
        "interval": interval,
        "term": term,
        "commitment": commitment,
        "penalty": penalty,
        "grace": grace,
        "notice": notice,
    }


def _interval(count: int, unit: str) -> str:
    """ "per month", "every 3 months"."""
    if count == 1:
        return {
            "day": _("per day"),
            "week": _("per week"),
            "month": _("per month"),
            "year": _("per year"),
        }[unit]
    return _("every %(period)s") % {"period": describe_period(count, unit)}
