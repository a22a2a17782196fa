"""Payments, charge attempts, the dunning overview and the dunning policy in the
merchant backend.

- **Payments**: every amount received (gateway, bank statement, staff), read-only.
- **Payment attempts**: every charge at the gateway with its outcome, read-only.
- **Dunning** (the overview): which invoices are being retried, the next attempt, the
  attempts so far, how it ended; "Retry now" charges once more outside the schedule
  (`payment_retry_now`; needs `billing.change_invoice`).
- **Dunning policy**: the merchant's settings for regular subscriptions (one row).

The customer and subscription pages show the payment history and the dunning through
panels registered in `subscriptions.admin.panels`.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billing.exceptions import InvoiceError
from billing.models import Dunning, DunningPolicy, Invoice, Payment, PaymentAttempt
from billing.services.collection import payment_retry_now
from billing.services.dunning import dunning_policy
from catalog.admin.base import money_display
from subscriptions.admin.panels import CUSTOMER_PANELS, SUBSCRIPTION_PANELS

from .invoices import CHANGE_INVOICE, ReadOnlyAdmin
from .tables import attempts_table, invoice_link, payments_table, when

HISTORY_ROWS = 20


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = (
        "received_at",
        "invoice_link",
        "customer",
        "amount_display",
        "method",
        "source",
        "reference",
        "payer",
        "recorded_by",
    )
    list_filter = ("method", "source", ("received_at", admin.DateFieldListFilter))
    list_select_related = ("invoice", "customer", "recorded_by")
    search_fields = ("invoice__number", "customer__name", "reference", "payer")
    search_help_text = gettext_lazy("Invoice number, customer, reference or payer.")
    date_hierarchy = "received_at"

    @admin.display(description=gettext_lazy("invoice"), ordering="invoice__number")
    def invoice_link(self, payment: Payment) -> str:
        return invoice_link(payment.invoice)

    @admin.display(description=gettext_lazy("amount"), ordering="amount")
    def amount_display(self, payment: Payment) -> str:
        return money_display(payment.amount, payment.currency)


@admin.register(PaymentAttempt)
class PaymentAttemptAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "invoice_link",
        "customer",
        "number",
        "trigger",
        "amount_display",
        "status",
        "scheduled_for",
        "attempted_at",
        "error_code",
    )
    list_filter = ("status", "trigger", ("created_at", admin.DateFieldListFilter))
    list_select_related = ("invoice", "customer")
    search_fields = ("invoice__number", "customer__name", "gateway_reference")
    search_help_text = gettext_lazy("Invoice number, customer or gateway reference.")
    exclude = ("idempotency_key",)

    @admin.display(description=gettext_lazy("invoice"), ordering="invoice__number")
    def invoice_link(self, attempt: PaymentAttempt) -> str:
        return invoice_link(attempt.invoice)

    @admin.display(description=gettext_lazy("amount"), ordering="amount")
    def amount_display(self, attempt: PaymentAttempt) -> str:
        return money_display(attempt.amount, attempt.currency)


@admin.register(Dunning)
class DunningAdmin(ReadOnlyAdmin):
    list_display = (
        "invoice_number",
        "customer",
        "schedule",
        "status",
        "retries",
        "next_attempt_at",
        "failed_at",
        "amount_due",
        "last_error",
    )
    list_filter = ("status", "schedule")
    list_select_related = ("invoice", "customer")
    search_fields = ("invoice__number", "customer__name")
    search_help_text = gettext_lazy("Invoice number or customer.")
    actions = ["retry_now"]
    change_form_template = "admin/billing/dunning/change_form.html"
    fields = (
        "invoice_link",
        "customer",
        "subscription",
        "schedule",
        "status",
        "retry_days",
        "retries",
        "next_attempt_at",
        "failed_at",
        "final_action",
        "remind_customer",
        "last_error",
        "ended_at",
        "outcome",
        "attempts",
    )
    readonly_fields = fields

    @admin.display(description=gettext_lazy("invoice"), ordering="invoice__number")
    def invoice_link(self, dunning: Dunning) -> str:
        return invoice_link(dunning.invoice)

    @admin.display(description=gettext_lazy("invoice"), ordering="invoice__number")
    def invoice_number(self, dunning: Dunning) -> str:
        return dunning.invoice.number

    @admin.display(description=gettext_lazy("retries"))
    def retries(self, dunning: Dunning) -> str:
        return _("%(done)s of %(total)s") % {
            "done": dunning.retries_done,
            "total": dunning.retries_total,
        }

    @admin.display(description=gettext_lazy("amount due"))
    def amount_due(self, dunning: Dunning) -> str:
        return money_display(dunning.invoice.amount_due, dunning.invoice.currency)

    @admin.display(description=gettext_lazy("attempts so far"))
    def attempts(self, dunning: Dunning) -> str:
        return attempts_table(dunning.invoice.payment_attempts.order_by("number"))

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(CHANGE_INVOICE)

    @admin.action(description=gettext_lazy("Retry the charge now"), permissions=["retry"])
    def retry_now(self, request: HttpRequest, queryset) -> None:
        for dunning in queryset.select_related("invoice"):
            self._retry(request, dunning.invoice)

    def _retry(self, request: HttpRequest, invoice: Invoice) -> None:
        try:
            attempt = payment_retry_now(invoice=invoice)
        except InvoiceError as refusal:
            messages.error(request, f"{invoice}: {refusal}")
            return
        self.log_change(request, invoice, _("Charge retried by staff."))
        level = messages.SUCCESS if attempt.status == "succeeded" else messages.WARNING
        messages.add_message(
            request,
            level,
            _("%(invoice)s: %(status)s %(message)s")
            % {
                "invoice": invoice,
                "status": attempt.get_status_display(),
                "message": attempt.message,
            },
        )

    def get_urls(self):
        view = self.admin_site.admin_view(self.retry_view)
        return [
            path("<path:object_id>/retry/", view, name="billing_dunning_retry"),
            *super().get_urls(),
        ]

    def retry_view(self, request: HttpRequest, object_id: str) -> HttpResponseRedirect:
        if request.method != "POST":
            raise Http404
        # Staff who may not see dunnings do not retry one by its id either.
        if not (self.has_retry_permission(request) and self.has_view_permission(request)):
            raise PermissionDenied
        dunning = self.get_object(request, unquote(object_id))
        if dunning is None:
            raise Http404
        self._retry(request, dunning.invoice)
        return redirect("admin:billing_dunning_change", dunning.pk)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra = {"can_retry": self.has_retry_permission(request), **(extra_context or {})}
        return super().change_view(request, object_id, form_url, extra)


@admin.register(DunningPolicy)
class DunningPolicyAdmin(admin.ModelAdmin):
    """One row: its form is the list page."""

    fields = ("retry_days", "remind_customer", "final_action", "updated_at")
    readonly_fields = ("updated_at",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context=None):
        # The list of one row is that row's form (it posts back here).
        return self.change_view(request, str(dunning_policy().pk), extra_context=extra_context)


def customer_payment_history(customer) -> tuple[str, str]:
    payments = customer.payments.select_related("invoice").order_by("-received_at")
    attempts = customer.payment_attempts.select_related("invoice").order_by("-created_at")
    invoices_url = reverse("admin:billing_invoice_changelist") + f"?customer={customer.pk}"
    return (
        _("Payment history"),
        format_html(
            '{}<h4>{}</h4>{}<p><a href="{}">{}</a></p>',
            payments_table(payments[:HISTORY_ROWS]),
            _("Charge attempts"),
            attempts_table(attempts[:HISTORY_ROWS]),
            invoices_url,
            _("All invoices of this customer"),
        ),
    )


def subscription_dunning(subscription) -> tuple[str, str]:
    dunnings = subscription.dunnings.select_related("invoice").order_by("-failed_at")[:10]
    rows = [
        (
            reverse("admin:billing_dunning_change", args=[dunning.pk]),
            dunning.invoice,
            dunning.get_status_display(),
            _("%(done)s of %(total)s")
            % {
                "done": dunning.retries_done,
                "total": dunning.retries_total,
            },
            when(dunning.next_attempt_at),
            dunning.outcome or dunning.last_error,
        )
        for dunning in dunnings
    ]
    paused = (
        format_html(
            "<p><strong>{}</strong></p>",
            _("Access paused since %(when)s until the open invoice is paid.")
            % {"when": when(subscription.access_paused_at)},
        )
        if subscription.access_paused_at
        else ""
    )
    if not rows:
        return _("Dunning"), format_html("{}{}", paused, _("No failed payments."))
    return (
        _("Dunning"),
        format_html(
            "{}<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>"
            "</thead><tbody>{}</tbody></table>",
            paused,
            _("invoice"),
            _("status"),
            _("retries"),
            _("next attempt"),
            _("outcome"),
            format_html_join(
                "",
                '<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>',
                rows,
            ),
        ),
    )


CUSTOMER_PANELS.append(customer_payment_history)
SUBSCRIPTION_PANELS.append(subscription_dunning)
