"""Staff's "New corporate subscription" (corporate deals are signed offline): a form whose
choices the service re-checks, and the page SubscriptionAdmin serves it on. The service
(`corporate_subscription_create`) decides; its refusal is shown on the form."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from catalog.models import CorporateOffer, Status
from subscriptions.exceptions import PurchaseRefused
from subscriptions.models import Customer, PaymentMethod, Subscription
from subscriptions.services.corporate import INVOICE, corporate_subscription_create

CORPORATE_PAYMENT_CHOICES = [
    (INVOICE, _("Invoice / bank transfer")),
    ("on_file", _("The customer's card or SEPA account on file")),
]


class CorporateSubscriptionCreateForm(forms.Form):
    customer = forms.ModelChoiceField(
        label=_("Customer"),
        queryset=Customer.objects.all(),
        help_text=_("Its main user becomes the corporate admin who manages the users."),
    )
    corporate_offer = forms.ModelChoiceField(
        label=_("Corporate offer"),
        queryset=CorporateOffer.objects.filter(status=Status.ACTIVE).order_by("name"),
    )
    starts_on = forms.DateField(
        label=_("Start date"),
        required=False,
        help_text=_(
            "Empty: now. Accounting periods are counted from the start (merchant's time zone)."
        ),
    )
    payment_method = forms.ChoiceField(
        label=_("Payment"), choices=CORPORATE_PAYMENT_CHOICES, initial=INVOICE
    )

    def __init__(self, *args: Any, admin_site: admin.AdminSite, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        widget = AutocompleteSelect(Subscription._meta.get_field("customer"), admin_site)
        widget.is_required = True
        self.fields["customer"].widget = widget
        self.fields["customer"].queryset = Customer.objects.all()  # hands the widget its choices

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("payment_method") == "on_file" and data.get("customer"):
            method = (
                PaymentMethod.objects.filter(
                    customer=data["customer"], status=PaymentMethod.Status.ACTIVE
                )
                .exclude(kind=INVOICE)
                .order_by("-created_at", "-id")
                .first()
            )
            if method is None:
                self.add_error(
                    "payment_method", _("The customer has no card or SEPA account on file.")
                )
            data["method"] = method
        return data

    def create_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        starts_at = None
        if data.get("starts_on"):
            # Midnight on the merchant's clock; today's date starts now.
            midnight = timezone.make_aware(datetime.combine(data["starts_on"], time.min))
            starts_at = max(midnight, timezone.now())
        on_file = data["payment_method"] == "on_file"
        return {
            "customer": data["customer"],
            "corporate_offer": data["corporate_offer"],
            "starts_at": starts_at,
            "payment_method": data.get("method") if on_file else INVOICE,
        }


def corporate_add_view(model_admin: admin.ModelAdmin, request: HttpRequest) -> HttpResponse:
    if not model_admin.has_add_permission(request):
        raise PermissionDenied
    data = request.POST if request.method == "POST" else None
    initial = {"customer": request.GET.get("customer")} if "customer" in request.GET else {}
    form = CorporateSubscriptionCreateForm(data, initial=initial, admin_site=model_admin.admin_site)
    if data is not None and form.is_valid():
        try:
            subscription = corporate_subscription_create(actor=request.user, **form.create_kwargs())
        except PurchaseRefused as refusal:
            field = {"starts_at": "starts_on"}.get(refusal.field or "", refusal.field)
            form.add_error(field if field in form.fields else None, str(refusal))
        else:
            model_admin.log_addition(request, subscription, [{"added": {}}])
            messages.success(request, _("The corporate subscription was created."))
            url = reverse("admin:subscriptions_subscription_change", args=[subscription.pk])
            return HttpResponseRedirect(url)
    context = {
        **model_admin.admin_site.each_context(request),
        "title": _("New corporate subscription"),
        "intro": _(
            "For a corporate deal signed offline. The contracts' terms, currency and "
            "maximum user count are copied in; the subscription is invoiced after each "
            "accounting period for the users it had."
        ),
        "submit_label": _("Create corporate subscription"),
        "opts": model_admin.model._meta,
        "form": form,
        "media": model_admin.media + form.media,
        "adminform": None,
    }
    return TemplateResponse(request, "admin/subscriptions/subscription/create.html", context)
