"""Subscriptions in the merchant backend: a list, a read-only page with its products,
charges and history, "create a subscription for a customer" through the purchase
service (never a bare save), "New corporate subscription" through the corporate service
(admin/corporate.py), the lifecycle steps (cancel, undo, end) through the
lifecycle services, and the CSV import of people onto one offer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from import_export.admin import ImportMixin
from import_export.forms import ConfirmImportForm, ImportForm

from catalog.admin.base import money_display
from catalog.models import Bundle, Offer, Product, Status
from catalog.uploads import check_spreadsheet
from subscriptions.admin.corporate import corporate_add_view
from subscriptions.admin.panels import SUBSCRIPTION_PANELS, render_panels
from subscriptions.exceptions import PurchaseRefused, SubscriptionError
from subscriptions.models import (
    Activity,
    Charge,
    CouponRedemption,
    Customer,
    Subscription,
    SubscriptionItem,
)
from subscriptions.resources import SubscriptionImportResource
from subscriptions.services import lifecycle
from subscriptions.services.purchase import (
    INVOICE,
    payment_methods_for_purchase,
    subscription_purchase,
)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    max_num = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class ItemInline(ReadOnlyInline):
    model = SubscriptionItem
    fields = readonly_fields = ("product", "bundle", "source")

    def get_queryset(self, request: HttpRequest) -> QuerySet[SubscriptionItem]:
        return super().get_queryset(request).select_related("product", "bundle")


class ChargeInline(ReadOnlyInline):
    model = Charge
    fields = readonly_fields = (
        "kind",
        "description",
        "amount",
        "currency",
        "created_at",
        "invoiced_at",
    )


class CouponRedemptionInline(ReadOnlyInline):
    model = CouponRedemption
    verbose_name_plural = _("coupon or voucher")
    fields = readonly_fields = (
        "code",
        "campaign",
        "kind",
        "list_price",
        "discount_amount",
        "periods",
        "redeemed_at",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[CouponRedemption]:
        return super().get_queryset(request).select_related("code", "campaign")


class ActivityInline(ReadOnlyInline):
    model = Activity
    fields = readonly_fields = ("created_at", "verb", "actor", "message")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Activity]:
        return super().get_queryset(request).select_related("actor")


PAYMENT_CHOICES = [
    ("", _("None (free offers only)")),
    (INVOICE, _("Invoice / bank transfer")),
    ("on_file", _("The customer's card or SEPA account on file")),
]


class SubscriptionCreateForm(forms.Form):
    """Staff's "create a subscription for a customer": the purchase service decides."""

    customer = forms.ModelChoiceField(label=_("Customer"), queryset=Customer.objects.all())
    offer = forms.ModelChoiceField(
        label=_("Offer"),
        queryset=Offer.objects.filter(status=Status.ACTIVE).order_by("name"),
    )
    optional_products = forms.ModelMultipleChoiceField(
        label=_("Optional products"),
        queryset=Product.objects.filter(status=Status.ACTIVE),
        required=False,
        help_text=_("Only optional products of the offer's plan are accepted."),
    )
    addon_bundles = forms.ModelMultipleChoiceField(
        label=_("Add-on bundles"),
        queryset=Bundle.objects.filter(status=Status.ACTIVE),
        required=False,
        help_text=_("Only add-ons the offer's plan allows are accepted."),
    )
    payment_method = forms.ChoiceField(label=_("Payment"), choices=PAYMENT_CHOICES, required=False)
    coupon_code = forms.CharField(label=_("Coupon code"), max_length=64, required=False)

    def __init__(self, *args: Any, admin_site: admin.AdminSite, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = Subscription._meta.get_field("customer")
        widget = AutocompleteSelect(field, admin_site)
        widget.is_required = True
        self.fields["customer"].widget = widget
        self.fields["customer"].queryset = Customer.objects.all()  # hands the widget its choices

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("payment_method") == "on_file" and data.get("customer") and data.get("offer"):
            methods = payment_methods_for_purchase(customer=data["customer"], offer=data["offer"])
            if not methods:
                self.add_error(
                    "payment_method",
                    _("The customer has no card or SEPA account on file that this offer accepts."),
                )
            else:
                data["method"] = methods[0]  # the newest
        return data

    def purchase_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        chosen = data.get("payment_method")
        return {
            "customer": data["customer"],
            "offer": data["offer"],
            "optional_products": list(data["optional_products"]),
            "addon_bundles": list(data["addon_bundles"]),
            "coupon_code": data["coupon_code"],
            "payment_method": data.get("method") if chosen == "on_file" else (chosen or None),
        }


@dataclass(frozen=True)
class LifecycleStep:
    """One lifecycle service as staff run it: from a subscription's page or the list."""

    label: str
    run: Callable[[Subscription, Any], Subscription]
    done: str
    quote_mode: str | None = None  # the cancellation mode whose quote the confirm page shows


LIFECYCLE_STEPS = {
    "cancel_at_period_end": LifecycleStep(
        _("Cancel at period end"),
        lambda sub, actor: lifecycle.subscription_cancel(
            subscription=sub, mode=lifecycle.PERIOD_END, actor=actor
        ),
        _("%(subscription)s is cancelled; it ends on %(date)s."),
        lifecycle.PERIOD_END,
    ),
    "cancel_now": LifecycleStep(
        _("Cancel now"),
        lambda sub, actor: lifecycle.subscription_cancel(
            subscription=sub, mode=lifecycle.NOW, actor=actor
        ),
        _("%(subscription)s is cancelled and ended on %(date)s."),
        lifecycle.NOW,
    ),
    "undo_cancellation": LifecycleStep(
        _("Undo cancellation"),
        lambda sub, actor: lifecycle.subscription_undo_cancellation(subscription=sub, actor=actor),
        _("The cancellation of %(subscription)s is withdrawn; it continues."),
    ),
    "end_now": LifecycleStep(
        _("End now (no term rules, no fee)"),
        lambda sub, actor: lifecycle.subscription_end(subscription=sub, actor=actor),
        _("%(subscription)s ended on %(date)s."),
    ),
}


def _lifecycle_action(name: str, step: LifecycleStep):
    """A list action: a confirmation page first, then the service for each row."""

    def action(modeladmin, request, queryset):
        if request.POST.get("post") == "yes":
            modeladmin.run_lifecycle_step(request, name, queryset)
            return None
        return modeladmin.lifecycle_confirm(request, name, queryset, from_list=True)

    action.__name__ = name
    return admin.action(description=step.label, permissions=["lifecycle"])(action)


class SubscriptionImportForm(ImportForm):
    offer = forms.ModelChoiceField(
        label=_("Offer"),
        queryset=Offer.objects.filter(status=Status.ACTIVE).order_by("name"),
        help_text=_(
            "Every person in the file gets a subscription to this offer (paid offers are "
            "paid by invoice). Columns: email, first_name, last_name, language."
        ),
    )

    def clean_import_file(self):
        """The upload gate (catalog.uploads) before import-export parses the file."""
        upload = self.cleaned_data["import_file"]
        check_spreadsheet(upload.read(), upload.name)
        upload.seek(0)
        return upload


class SubscriptionConfirmImportForm(ConfirmImportForm):
    offer = forms.ModelChoiceField(queryset=Offer.objects.all(), widget=forms.HiddenInput)


class KindFilter(admin.SimpleListFilter):
    title = _("kind")
    parameter_name = "kind"

    def lookups(self, request: HttpRequest, model_admin) -> list[tuple[str, Any]]:
        return [("regular", _("Single- and multi-user")), ("corporate", _("Corporate"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "corporate":
            return queryset.filter(corporate_offer__isnull=False)
        if self.value() == "regular":
            return queryset.filter(offer__isnull=False)
        return queryset


@admin.register(Subscription)
class SubscriptionAdmin(ImportMixin, admin.ModelAdmin):
    list_display = (
        "__str__",
        "customer",
        "offer_title",
        "kind",
        "status",
        "started_at",
        "current_period_end",
        "commitment_ends_at",
        "price",
    )
    list_display_links = ("__str__",)
    list_select_related = ("customer", "offer", "corporate_offer")
    list_filter = (KindFilter, "status", "offer", "billing_interval_unit", "started_at")
    search_fields = (
        "customer__name",
        "customer__email",
        "offer__code",
        "offer__name",
        "corporate_offer__code",
        "corporate_offer__name",
    )
    date_hierarchy = "started_at"
    inlines = (ItemInline, CouponRedemptionInline, ChargeInline, ActivityInline)
    resource_classes = (SubscriptionImportResource,)
    import_form_class = SubscriptionImportForm
    confirm_form_class = SubscriptionConfirmImportForm
    add_form_template = "admin/subscriptions/subscription/create.html"
    change_form_template = "admin/subscriptions/subscription/change_form.html"
    change_list_template = "admin/subscriptions/subscription/change_list.html"
    actions = [_lifecycle_action(name, step) for name, step in LIFECYCLE_STEPS.items()]

    @admin.display(description=_("price"), ordering="price_amount")
    def price(self, subscription: Subscription) -> str:
        if subscription.is_corporate:
            return _("By usage")
        return money_display(subscription.price_amount, subscription.currency)

    @admin.display(description=_("offer"))
    def offer_title(self, subscription: Subscription) -> str:
        return subscription.title

    @admin.display(description=_("kind"))
    def kind(self, subscription: Subscription) -> str:
        if subscription.is_corporate:
            return format_html("<strong>{}</strong>", _("Corporate"))
        return _("Multi-user") if subscription.user_count else _("Single-user")

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> list[str]:
        # Subscriptions change only through their services (purchase, lifecycle).
        return [f.name for f in Subscription._meta.fields] + ["payments"]

    @admin.display(description=_("payments and dunning"))
    def payments(self, subscription: Subscription) -> str:
        return render_panels(SUBSCRIPTION_PANELS, subscription)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_lifecycle_permission(self, request: HttpRequest, obj=None) -> bool:
        # The page stays read-only (no field is edited); "change" lets staff run the
        # lifecycle services, as Customer support may.
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}")

    # Lifecycle: every step through its service; the service refuses, staff read why.
    def get_urls(self):
        view = self.admin_site.admin_view(self.lifecycle_view)
        name = f"{self.opts.app_label}_{self.opts.model_name}_lifecycle"
        corporate = self.admin_site.admin_view(lambda request: corporate_add_view(self, request))
        return [
            path(
                "new-corporate/",
                corporate,
                name=f"{self.opts.app_label}_{self.opts.model_name}_add_corporate",
            ),
            path("<path:object_id>/lifecycle/<slug:step>/", view, name=name),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        steps = LIFECYCLE_STEPS.items() if self.has_lifecycle_permission(request) else []
        extra_context = {
            **(extra_context or {}),
            "lifecycle_steps": steps,
            "seat_account_url": self._seat_account_url(object_id),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def _seat_account_url(self, object_id: str) -> str | None:
        """The seats admin's page of a multi-user or corporate subscription (it makes the
        seat account on first use). Reached by URL name: this app sits below seats and
        does not import it."""
        sub = Subscription.objects.filter(pk=object_id).first() if object_id.isdigit() else None
        if sub is None or not (sub.is_corporate or sub.user_count):
            return None
        try:
            return reverse("admin:seats_seataccount_for_subscription", args=[sub.pk])
        except NoReverseMatch:
            return None

    def lifecycle_view(self, request: HttpRequest, object_id: str, step: str) -> HttpResponse:
        if step not in LIFECYCLE_STEPS or not self.has_lifecycle_permission(request):
            raise PermissionDenied
        queryset = Subscription.objects.filter(pk=object_id)
        get_object_or_404(queryset)
        if request.method == "POST":
            self.run_lifecycle_step(request, step, queryset)
            url = reverse("admin:subscriptions_subscription_change", args=[object_id])
            return HttpResponseRedirect(url)
        return self.lifecycle_confirm(request, step, queryset, from_list=False)

    def lifecycle_confirm(
        self, request: HttpRequest, step: str, queryset: QuerySet, *, from_list: bool
    ) -> HttpResponse:
        """What the step would do to each subscription (the quote of a cancellation)."""
        mode = LIFECYCLE_STEPS[step].quote_mode
        rows = [
            (sub, lifecycle.subscription_cancellation_quote(subscription=sub, mode=mode))
            if mode
            else (sub, None)
            for sub in queryset.select_related("customer", "offer", "corporate_offer")
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": LIFECYCLE_STEPS[step].label,
            "opts": self.opts,
            "step": step,
            "rows": rows,
            "from_list": from_list,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        }
        template = "admin/subscriptions/subscription/lifecycle_confirm.html"
        return TemplateResponse(request, template, context)

    def run_lifecycle_step(self, request: HttpRequest, step: str, queryset: QuerySet) -> None:
        run = LIFECYCLE_STEPS[step]
        for sub in queryset.select_related("customer", "offer", "corporate_offer"):
            try:
                done = run.run(sub, request.user)
            except SubscriptionError as refused:
                self.message_user(request, f"{sub}: {refused}", messages.ERROR)
                continue
            date = date_format(timezone.localtime(done.ends_at)) if done.ends_at else ""
            message = run.done % {"subscription": done, "date": date}
            self.message_user(request, message, messages.SUCCESS)

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context=None
    ) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        data = request.POST if request.method == "POST" else None
        # ?customer=<id>: "create a subscription" from a customer's page.
        initial = {"customer": request.GET.get("customer")} if "customer" in request.GET else {}
        form = SubscriptionCreateForm(data, initial=initial, admin_site=self.admin_site)
        if data is not None and form.is_valid():
            try:
                subscription = subscription_purchase(actor=request.user, **form.purchase_kwargs())
            except PurchaseRefused as refusal:
                form.add_error(
                    refusal.field if refusal.field in form.fields else None, str(refusal)
                )
            else:
                self.log_addition(request, subscription, [{"added": {}}])
                messages.success(request, _("The subscription was created."))
                url = reverse("admin:subscriptions_subscription_change", args=[subscription.pk])
                return HttpResponseRedirect(url)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Create a subscription for a customer"),
            "opts": self.model._meta,
            "form": form,
            "media": self.media + form.media,
            "adminform": None,
            **(extra_context or {}),
        }
        return TemplateResponse(request, self.add_form_template, context)

    # Import: the offer chosen on the import form travels to the confirm step.
    def get_import_resource_kwargs(self, request: HttpRequest, **kwargs: Any) -> dict[str, Any]:
        form = kwargs.get("form")
        offer = getattr(form, "cleaned_data", {}).get("offer") if form is not None else None
        return {"offer": offer}

    def get_confirm_form_initial(self, request: HttpRequest, import_form) -> dict[str, Any]:
        initial = super().get_confirm_form_initial(request, import_form)
        if import_form is not None:
            initial["offer"] = import_form.cleaned_data["offer"].pk
        return initial

    def get_import_data_kwargs(self, **kwargs: Any) -> dict[str, Any]:
        kwargs = super().get_import_data_kwargs(**kwargs)
        # A confirmed import with any invalid row is rolled back whole.
        kwargs["rollback_on_validation_errors"] = True
        return kwargs
