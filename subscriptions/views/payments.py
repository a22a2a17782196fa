"""Portal pages for payment methods: the list (with removing), adding one, and choosing
which one pays for a subscription. See subscriptions/urls.py for the URLs."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from subscriptions.exceptions import PaymentRefused
from subscriptions.forms_payments import KIND_FORMS, PaymentMethodChoiceForm, SepaForm
from subscriptions.gateways import get_gateway
from subscriptions.gateways.sandbox import (
    TEST_CARDS,
    TEST_IBANS,
    SandboxGateway,
    format_test_number,
)
from subscriptions.models import Customer
from subscriptions.selectors.customers import customer_for_user
from subscriptions.selectors.payments import (
    payment_method_choices_for_subscription,
    payment_method_get_for_customer,
    payment_method_list_for_customer,
    subscription_for_payment_change,
)
from subscriptions.services import payments as services


@login_required
def payment_method_list(request: HttpRequest) -> HttpResponse:
    customer = customer_for_user(user=request.user)
    if request.method == "POST":
        return _remove(request, customer)
    methods = payment_method_list_for_customer(customer=customer)
    return render(request, "subscriptions/payments/list.html", {"methods": methods})


def _remove(request: HttpRequest, customer: Customer) -> HttpResponse:
    method = payment_method_get_for_customer(
        customer=customer, public_id=request.POST.get("remove", "")
    )
    try:
        services.payment_method_remove(payment_method=method, actor=request.user)
    except PaymentRefused as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("%(method)s was removed.") % {"method": method.label})
    return redirect("subscriptions:payment_method_list")


@login_required
def payment_method_add(request: HttpRequest) -> HttpResponse:
    customer = customer_for_user(user=request.user)
    kind = request.GET.get("kind") if request.GET.get("kind") in KIND_FORMS else "card"
    form = KIND_FORMS[kind](request.POST if request.method == "POST" else None)
    next_url = _safe_next(request)
    if form.is_bound and form.is_valid():
        try:
            method = services.payment_method_add(
                customer=customer, kind=kind, details=form.details(), actor=request.user
            )
        except PaymentRefused as error:
            form.add_refusal(error)
        else:
            messages.success(request, _("%(method)s is ready to use.") % {"method": method})
            return redirect(next_url or "subscriptions:payment_method_list")
    context = {"form": form, "kind": kind, "kinds": _kinds(kind), "next": next_url}
    if kind == "sepa_debit":
        context["mandate_text"] = SepaForm.mandate_text()
    return render(request, "subscriptions/payments/add.html", context | _sandbox_hint())


@login_required
def subscription_payment_method(request: HttpRequest, public_id) -> HttpResponse:
    customer = customer_for_user(user=request.user)
    subscription = subscription_for_payment_change(customer=customer, public_id=public_id)
    methods = payment_method_choices_for_subscription(subscription=subscription)
    data = request.POST if request.method == "POST" else None
    form = PaymentMethodChoiceForm(
        data, methods=methods, initial={"payment_method": subscription.payment_method}
    )
    if form.is_bound and form.is_valid():
        try:
            services.subscription_change_payment_method(
                subscription=subscription,
                payment_method=form.cleaned_data["payment_method"],
                actor=request.user,
            )
        except PaymentRefused as error:
            form.add_refusal(error)
        else:
            messages.success(request, _("The payment method was changed."))
            return redirect("subscriptions:subscription_detail", public_id=subscription.public_id)
    context = {"form": form, "subscription": subscription, "has_methods": methods.exists()}
    return render(request, "subscriptions/payments/change.html", context)


def _safe_next(request: HttpRequest) -> str:
    url = request.GET.get("next", "")
    safe = url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return url if safe else ""


def _kinds(current: str) -> list[dict]:
    labels = {"card": _("Card"), "sepa_debit": _("SEPA direct debit"), "invoice": _("Invoice")}
    return [{"value": k, "label": labels[k], "current": k == current} for k in KIND_FORMS]


def _sandbox_hint() -> dict:
    """The sandbox's test data for the development hint box; nothing for real gateways."""
    if not isinstance(get_gateway(), SandboxGateway):
        return {}
    return {
        "test_cards": [(format_test_number(n), what) for n, (_o, what) in TEST_CARDS.items()],
        "test_ibans": [(format_test_number(n), what) for n, (_o, what) in TEST_IBANS.items()],
    }
