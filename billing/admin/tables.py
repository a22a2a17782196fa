"""Tables of payments and charge attempts, shown on the invoice, customer, subscription
and dunning pages."""

from __future__ import annotations

from django.urls import reverse
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _

from billing.models import Invoice
from catalog.admin.base import money_display


def when(moment) -> str:
    if moment is None:
        return "—"
    return formats.date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT")


def invoice_link(invoice: Invoice) -> str:
    url = reverse("admin:billing_invoice_change", args=[invoice.pk])
    return format_html('<a href="{}">{}</a>', url, invoice)


def attempts_table(attempts) -> str:
    rows = [
        (
            attempt.number,
            attempt.get_trigger_display(),
            when(attempt.scheduled_for),
            when(attempt.attempted_at),
            money_display(attempt.amount, attempt.currency),
            attempt.get_status_display(),
            attempt.error_code or attempt.message or "",
        )
        for attempt in attempts
    ]
    if not rows:
        return _("No charge attempts.")
    return format_html(
        "<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>",
        format_html_join(
            "",
            "<th>{}</th>",
            (
                (label,)
                for label in (
                    _("attempt"),
                    _("why"),
                    _("due"),
                    _("answered"),
                    _("amount"),
                    _("status"),
                    _("error"),
                )
            ),
        ),
        format_html_join(
            "",
            "<tr>{}</tr>",
            ((format_html_join("", "<td>{}</td>", ((c,) for c in r)),) for r in rows),
        ),
    )


def payments_table(payments) -> str:
    rows = [
        (
            when(payment.received_at),
            invoice_link(payment.invoice),
            money_display(payment.amount, payment.currency),
            payment.get_method_display(),
            payment.get_source_display(),
            payment.reference,
        )
        for payment in payments
    ]
    if not rows:
        return _("No payments received.")
    return format_html(
        "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th>"
        "</tr></thead><tbody>{}</tbody></table>",
        _("received"),
        _("invoice"),
        _("amount"),
        _("paid by"),
        _("recorded from"),
        _("reference"),
        format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            rows,
        ),
    )
