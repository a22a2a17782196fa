"""Billing runs in the merchant backend: read-only, a record of what each run did."""

from __future__ import annotations

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy, ngettext

from billing.models import BillingRun
from billing.selectors import held_account_count

from .invoices import ReadOnlyAdmin


@admin.register(BillingRun)
class BillingRunAdmin(ReadOnlyAdmin):
    change_list_template = "admin/billing/billingrun/change_list.html"
    list_display = (
        "run_date",
        "status",
        "started_at",
        "finished_at",
        "subscriptions_due",
        "chunks",
        "invoices_created",
        "error_count",
    )
    list_filter = ("status", "trigger")
    date_hierarchy = "run_date"
    fields = (
        "run_date",
        "status",
        "trigger",
        "started_at",
        "finished_at",
        "subscriptions_due",
        "chunks",
        "invoices_created",
        "error_list",
        "public_id",
    )
    readonly_fields = fields

    def changelist_view(self, request, extra_context=None):
        """Tell staff where they look at runs that some accounts are not billed."""
        held = held_account_count()
        if held:
            text = ngettext(
                "Billing is held for %(count)d customer account: its data breaks a billing rule.",
                "Billing is held for %(count)d customer accounts: their data breaks a billing "
                "rule.",
                held,
            ) % {"count": held}
            url = reverse("admin:billing_billinghold_changelist") + "?state=open"
            link = gettext_lazy("Review the billing holds")
            messages.warning(request, format_html('{} <a href="{}">{}</a>', text, url, link))
        return super().changelist_view(request, extra_context)

    @admin.display(description=gettext_lazy("chunks done"))
    def chunks(self, run: BillingRun) -> str:
        return f"{run.chunks_done} / {run.chunks_total}"

    @admin.display(description=gettext_lazy("errors"))
    def error_count(self, run: BillingRun) -> int:
        return len(run.errors or [])

    @admin.display(description=gettext_lazy("errors"))
    def error_list(self, run: BillingRun) -> str | None:
        """Each error as the run recorded it (a message, or a mapping of details)."""
        errors = run.errors or []
        if not errors:
            return self.get_empty_value_display()
        return format_html(
            '<ul class="kontor-run-errors">{}</ul>',
            format_html_join("", "<li>{}</li>", ((_error_text(error),) for error in errors)),
        )


def _error_text(error) -> str:
    """The run records `{"subscription", "customer", "message"}` per refused subscription
    (billing.services.runs); the message first, then the rest (JSON keeps no order)."""
    if not isinstance(error, dict):
        return str(error)
    details = "; ".join(
        f"{key}: {value}" for key, value in sorted(error.items()) if key != "message"
    )
    message = error.get("message", "")
    return f"{message} ({details})" if message and details else message or details
