"""The customer's subscriptions and account in the portal (see subscriptions/urls.py).

Every page finds the customer through the signed-in user and every object through a
selector scoped to that customer, so another customer's subscription answers 404."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from catalog.models import PeriodUnit
from catalog.models.base import describe_period
from catalog.money import format_money
from subscriptions.exceptions import SubscriptionError
from subscriptions.forms_portal import CANCEL_MODES, CancelForm, CustomerDetailsForm
from subscriptions.models import CouponRedemption, Subscription, SubscriptionItem
from subscriptions.selectors.customers import customer_for_user
from subscriptions.selectors.subscriptions import (
    subscription_get_for_customer,
    subscription_list_for_customer,
    subscription_pending_charges,
)
from subscriptions.services import lifecycle
from subscriptions.services.accounts import customer_update_details

PER_UNIT = {
    PeriodUnit.DAY: gettext_lazy("day"),
    PeriodUnit.WEEK: gettext_lazy("week"),
    PeriodUnit.MONTH: gettext_lazy("month"),
    PeriodUnit.YEAR: gettext_lazy("year"),
}
ITEM_GROUPS = [
    (SubscriptionItem.Source.INCLUDED, gettext_lazy("Included")),
    (SubscriptionItem.Source.OPTIONAL, gettext_lazy("Optional products")),
    (SubscriptionItem.Source.ADDON, gettext_lazy("Add-ons")),
]


def money(amount, currency: str) -> str:
    """An amount in the viewer's language: '€9.90' in English, '9,90 €' in German."""
    return format_money(amount, currency, translation.get_language() or "en")


def price_label(subscription: Subscription) -> str:
    """'€9.90 / month', '€25.00 / 3 months', or the bare price of a one-time purchase.
    Corporate subscriptions are priced from usage after each accounting period."""
    count, unit = subscription.billing_interval_count, subscription.billing_interval_unit
    if subscription.is_corporate:
        return _("By usage, invoiced after each accounting period (%(period)s)") % {
            "period": describe_period(count, unit)
        }
    price = money(subscription.price_amount, subscription.currency)
    redemption = _redemption(subscription)
    if redemption is not None:
        price = _("%(price)s with code %(code)s (instead of %(list_price)s)") % {
            "price": money(redemption.price_after_discount, subscription.currency),
            "code": redemption.code.code,
            "list_price": money(redemption.list_price, subscription.currency),
        }
    if not unit or not count:
        return price
    period = PER_UNIT[PeriodUnit(unit)] if count == 1 else describe_period(count, unit)
    if redemption is not None and redemption.kind == CouponRedemption.Kind.VOUCHER:
        return _("Free with voucher %(code)s for %(periods)s") % {
            "code": redemption.code.code,
            "periods": describe_period(count * (redemption.periods or 1), unit),
        }
    return f"{price} / {period}"


def _redemption(subscription: Subscription) -> CouponRedemption | None:
    try:
        return subscription.coupon_redemption
    except CouponRedemption.DoesNotExist:
        return None


def decorate(subscriptions: Iterable[Subscription]) -> list[Subscription]:
    subscriptions = list(subscriptions)
    for subscription in subscriptions:
        subscription.price_label = price_label(subscription)
    return subscriptions


@login_required
def subscription_list(request: HttpRequest) -> HttpResponse:
    customer = customer_for_user(user=request.user)
    subscriptions = decorate(subscription_list_for_customer(customer=customer))
    return render(
        request, "subscriptions/portal/subscription_list.html", {"subscriptions": subscriptions}
    )


@login_required
def subscription_detail(request: HttpRequest, public_id) -> HttpResponse:
    customer = customer_for_user(user=request.user)
    subscription = subscription_get_for_customer(customer=customer, public_id=public_id)
    decorate([subscription])
    items = list(subscription.items.all())
    groups = [
        (label, [item for item in items if item.source == source]) for source, label in ITEM_GROUPS
    ]
    return render(
        request,
        "subscriptions/portal/subscription_detail.html",
        {
            "subscription": subscription,
            "item_groups": [(label, group) for label, group in groups if group],
            "term": term_summary(subscription),
            "charges": [
                (charge.get_kind_display(), money(charge.amount, charge.currency))
                for charge in subscription_pending_charges(subscription=subscription)
            ],
        },
    )


def term_summary(subscription: Subscription) -> list[tuple[str, str]]:
    """The term in force as label/value pairs, from the values agreed at purchase (the
    snapshot) where present, else from the term itself. A corporate subscription shows
    the contract terms it was signed with."""
    if subscription.is_corporate:
        return corporate_term_summary(subscription.term_snapshot)
    term = subscription.term
    if term is None:
        return []
    agreed = {**_term_values(term), **(subscription.term_snapshot or {})}
    rows = [(_("Term"), term.name)]
    if agreed.get("notice_period_count"):
        period = describe_period(agreed["notice_period_count"], agreed["notice_period_unit"])
        rows.append(
            (_("Cancellation period"), _("%(period)s before a period ends") % {"period": period})
        )
    else:
        rows.append((_("Cancellation period"), _("None")))
    rule = str(dict(term.EarlyCancellation.choices).get(agreed.get("early_cancellation"), ""))
    if rule:
        rows.append((_("Ending the commitment early"), rule))
    return rows


def corporate_term_summary(contract: dict) -> list[tuple[str, str]]:
    """The contract terms of a corporate subscription (its snapshot) as label/value pairs."""
    if not contract:
        return []
    if contract.get("duration_count") and contract.get("duration_unit"):
        duration = describe_period(contract["duration_count"], contract["duration_unit"])
    else:
        duration = _("Until revoked")
    interval = describe_period(
        contract["subscription_interval_count"], contract["subscription_interval_unit"]
    )
    rows = [
        (_("Duration"), duration),
        (_("Subscription interval"), interval),
        (
            _("Accounting period"),
            describe_period(
                contract["accounting_period_count"], contract["accounting_period_unit"]
            ),
        ),
    ]
    if contract.get("cancellation_period_count"):
        notice = describe_period(
            contract["cancellation_period_count"], contract["cancellation_period_unit"]
        )
        value = _("%(period)s before a subscription interval ends") % {"period": notice}
    else:
        value = _("None")
    rows.append((_("Cancellation period"), value))
    return rows


def _term_values(term) -> dict:
    return {
        "notice_period_count": term.notice_period_count,
        "notice_period_unit": term.notice_period_unit,
        "early_cancellation": term.early_cancellation,
    }


@login_required
def account(request: HttpRequest) -> HttpResponse:
    customer = customer_for_user(user=request.user)
    form = CustomerDetailsForm(request.POST or None, customer=customer)
    if request.method == "POST" and form.is_valid():
        try:
            customer_update_details(customer=customer, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Your account details have been saved."))
            return redirect("subscriptions:account")
    return render(
        request, "subscriptions/portal/account.html", {"customer": customer, "form": form}
    )


def local_date(moment) -> str:
    """A moment as a date on the merchant's clock, in the viewer's language."""
    return date_format(timezone.localtime(moment), "DATE_FORMAT")


@login_required
def subscription_cancel(request: HttpRequest, public_id) -> HttpResponse:
    customer = customer_for_user(user=request.user)
    subscription = subscription_get_for_customer(customer=customer, public_id=public_id)
    form = CancelForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            subscription = lifecycle.subscription_cancel(
                subscription=subscription, actor=request.user, **form.expected()
            )
        except SubscriptionError as refused:
            messages.error(request, str(refused))
            return redirect("subscriptions:subscription_cancel", public_id=public_id)
        messages.success(
            request,
            _("Your subscription is cancelled. It ends on %(date)s.")
            % {"date": local_date(subscription.ends_at)},
        )
        return redirect("subscriptions:subscription_detail", public_id=public_id)
    return render(
        request,
        "subscriptions/portal/subscription_cancel.html",
        {
            "subscription": subscription,
            "form": form,
            "quotes": cancellation_quotes(subscription, form["mode"].value()),
        },
    )


def cancellation_quotes(subscription: Subscription, chosen: str | None) -> list[dict]:
    """Both ways to cancel, as the confirm page shows them; the chosen (or else the first
    allowed) one is preselected."""
    quotes = []
    for mode, label in CANCEL_MODES:
        quote = lifecycle.subscription_cancellation_quote(subscription=subscription, mode=mode)
        penalty = money(quote.penalty_amount, quote.currency) if quote.penalty_amount else ""
        # What the customer confirms travels back, so a changed quote is refused.
        confirmed = (
            {"end": quote.takes_effect_at.isoformat(), "penalty": str(quote.penalty_amount)}
            if quote.allowed
            else None
        )
        quotes.append(
            {
                "mode": mode,
                "label": label,
                "quote": quote,
                "late": quote.late,
                "penalty": penalty,
                "confirmed": confirmed,
            }
        )
    allowed = [option["mode"] for option in quotes if option["quote"].allowed]
    preselected = chosen if chosen in allowed else next(iter(allowed), None)
    for option in quotes:
        option["checked"] = option["mode"] == preselected
    return quotes


@login_required
def subscription_undo_cancellation(request: HttpRequest, public_id) -> HttpResponse:
    customer = customer_for_user(user=request.user)
    subscription = subscription_get_for_customer(customer=customer, public_id=public_id)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        lifecycle.subscription_undo_cancellation(subscription=subscription, actor=request.user)
    except SubscriptionError as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, _("Your cancellation is withdrawn; the subscription continues."))
    return redirect("subscriptions:subscription_detail", public_id=public_id)
