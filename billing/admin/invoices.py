"""Invoices and credit notes in the merchant backend.

Read-only throughout: invoices are made by billing runs and services, never typed in,
and issued ones never change (the database refuses it). So there is no add, change or
delete; the change page shows every field, the lines and the credit notes. What staff
may do goes through the services, from buttons on the change page, each a small form
page that POSTs (CSRF) and needs `billing.change_invoice` (Finance, Administrator):

- **Mark paid** — the full amount due or a part of it (`invoice_mark_paid`);
- **Issue credit note** — with a reason (`credit_note_issue`, which voids the invoice);
- **Download PDF** — the stored PDF (`billing.pdf.invoice_pdf_bytes`; view permission),
  a Factur-X / ZUGFeRD e-invoice;
- **XRechnung (XML)** — the e-invoice XML (`billing.einvoice.invoice_xrechnung_file`;
  view permission).

A refusal (`InvoiceError`) is shown on the form and nothing is written.

Exports (billing.exports): invoices, credit notes and payment state from the Export
button (following the list's filters), invoice lines from their own list.
"""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billing.exceptions import InvoiceError
from billing.exports import (
    CreditNoteResource,
    InvoiceLineResource,
    InvoiceResource,
    PaymentStateResource,
)
from billing.models import Invoice, InvoiceLine
from billing.services.invoices import credit_note_issue
from billing.services.payments import invoice_mark_paid

from . import exports
from .exports import FinanceExportMixin
from .tables import attempts_table, payments_table

CHANGE_INVOICE = "billing.change_invoice"


class ReadOnlyAdmin(admin.ModelAdmin):
    """Nothing is added, changed or deleted here; staff with view permission read."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class InvoiceLineInline(admin.TabularInline):
    model = InvoiceLine
    extra = 0
    can_delete = False
    fields = (
        "position",
        "kind",
        "description",
        "product",
        "counting",
        "quantity",
        "unit_price",
        "net_amount",
        "tax_rate",
        "tax_amount",
        "gross_amount",
        "ledger_account",
    )
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("product")


@admin.register(Invoice)
class InvoiceAdmin(FinanceExportMixin, ReadOnlyAdmin):
    resource_classes = [InvoiceResource, CreditNoteResource, PaymentStateResource]
    list_display = (
        "number_or_draft",
        "kind",
        "customer_name",
        "subscription",
        "period",
        "gross_amount",
        "currency",
        "status",
        "issued",
        "due",
    )
    list_filter = (
        "kind",
        "status",
        "billing",
        ("issued_at", admin.DateFieldListFilter),
        "currency",
    )
    search_fields = ("number", "customer_name", "customer__email")
    search_help_text = gettext_lazy("Number, customer name or e-mail.")
    date_hierarchy = "issued_at"
    list_select_related = (
        "subscription__customer",
        "subscription__offer",
        "subscription__corporate_offer",
    )
    inlines = [InvoiceLineInline]
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "number",
                    "kind",
                    "status",
                    "billing",
                    "credited_invoice_link",
                    "credit_notes_list",
                    "note",
                    "billing_run",
                )
            },
        ),
        (
            gettext_lazy("Customer (as invoiced)"),
            {
                "fields": (
                    "customer",
                    "subscription",
                    "customer_name",
                    "customer_address",
                    "customer_country",
                    "customer_vat_id",
                    "reverse_charge",
                    "buyer_reference",
                    "customer_email",
                    "payment_means",
                    "mandate_reference",
                    "language",
                )
            },
        ),
        (
            gettext_lazy("Amounts and dates"),
            {
                "fields": (
                    "period_start",
                    "period_end",
                    "currency",
                    "net_amount",
                    "tax_amount",
                    "gross_amount",
                    "amount_paid",
                    "amount_due",
                    "issued_at",
                    "due_at",
                    "paid_at",
                    "payment_history",
                    "pdf_link",
                    "public_id",
                    "created_at",
                )
            },
        ),
    )
    # Everything shown is read-only: invoices are made by runs and services.
    readonly_fields = tuple(name for _title, options in fieldsets for name in options["fields"])

    def has_payment_permission(self, request, obj=None) -> bool:
        return request.user.has_perm(CHANGE_INVOICE)

    # --- columns ---

    @admin.display(description=gettext_lazy("number"), ordering="number")
    def number_or_draft(self, invoice: Invoice) -> str:
        return invoice.number or _("Draft")

    @admin.display(description=gettext_lazy("issued"), ordering="issued_at")
    def issued(self, invoice: Invoice) -> str | None:
        return _local_date(invoice.issued_at)

    @admin.display(description=gettext_lazy("due"), ordering="due_at")
    def due(self, invoice: Invoice) -> str | None:
        return _local_date(invoice.due_at)

    @admin.display(description=gettext_lazy("PDF"))
    def pdf_link(self, invoice: Invoice) -> str | None:
        if not invoice.number:
            return self.get_empty_value_display()
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:billing_invoice_pdf", args=[invoice.pk]),
            _("Download PDF") if invoice.pdf else _("Render and download PDF"),
        )

    @admin.display(description=gettext_lazy("period"), ordering="period_start")
    def period(self, invoice: Invoice) -> str | None:
        if invoice.period_start is None:
            return self.get_empty_value_display()
        start = formats.date_format(timezone.localtime(invoice.period_start), "SHORT_DATE_FORMAT")
        if invoice.period_end is None:
            return start
        # The end is exclusive: show the last day the period covers.
        last = timezone.localtime(invoice.period_end) - timezone.timedelta(microseconds=1)
        return f"{start} \N{EN DASH} {formats.date_format(last, 'SHORT_DATE_FORMAT')}"

    @admin.display(description=gettext_lazy("amount due"))
    def amount_due(self, invoice: Invoice) -> Decimal:
        return invoice.amount_due

    @admin.display(description=gettext_lazy("payments and charges"))
    def payment_history(self, invoice: Invoice) -> str:
        dunning = getattr(invoice, "dunning", None)
        dunning_link = (
            format_html(
                '<p><a href="{}">{}: {}</a></p>',
                reverse("admin:billing_dunning_change", args=[dunning.pk]),
                _("Dunning"),
                dunning.get_status_display(),
            )
            if dunning
            else ""
        )
        return format_html(
            "{}{}{}",
            payments_table(invoice.payments.select_related("invoice")),
            attempts_table(invoice.payment_attempts.order_by("number")),
            dunning_link,
        )

    @admin.display(description=gettext_lazy("credited invoice"))
    def credited_invoice_link(self, invoice: Invoice) -> str | None:
        if invoice.credited_invoice is None:
            return self.get_empty_value_display()
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:billing_invoice_change", args=[invoice.credited_invoice_id]),
            invoice.credited_invoice,
        )

    @admin.display(description=gettext_lazy("credit notes"))
    def credit_notes_list(self, invoice: Invoice) -> str | None:
        notes = list(invoice.credit_notes.order_by("issued_at", "id"))
        if not notes:
            return self.get_empty_value_display()
        return format_html_join(
            ", ",
            '<a href="{}">{}</a>',
            ((reverse("admin:billing_invoice_change", args=[note.pk]), note) for note in notes),
        )

    # --- pages ---

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<path:object_id>/pay/", wrap(self.mark_paid_view), name="billing_invoice_pay"),
            path(
                "<path:object_id>/credit-note/",
                wrap(self.credit_note_view),
                name="billing_invoice_credit_note",
            ),
            path("<path:object_id>/pdf/", wrap(self.pdf_view), name="billing_invoice_pdf"),
            path(
                "<path:object_id>/xrechnung/",
                wrap(self.xrechnung_view),
                name="billing_invoice_xrechnung",
            ),
            *exports.urls(self),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "has_payment_permission": self.has_payment_permission(request),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def _invoice(self, request: HttpRequest, object_id: str, *, change: bool) -> Invoice:
        invoice = self.get_object(request, unquote(object_id))
        if invoice is None:
            raise Http404
        allowed = self.has_payment_permission(request) if change else True
        if not allowed or not self.has_view_permission(request, invoice):
            raise PermissionDenied
        return invoice

    def _form_page(self, request, invoice: Invoice, form, title: str, template: str):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": invoice,
            "form": form,
            "title": title,
        }
        return TemplateResponse(request, f"admin/billing/invoice/{template}", context)

    def mark_paid_view(self, request: HttpRequest, object_id: str):
        """Record a payment: the full amount due, or the given part of it."""
        invoice = self._invoice(request, object_id, change=True)
        form = MarkPaidForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                invoice = invoice_mark_paid(
                    invoice=invoice, amount=form.cleaned_data["amount"], actor=request.user
                )
            except InvoiceError as refusal:
                form.add_error(None, str(refusal))
            else:
                self.log_change(request, invoice, _("Payment recorded."))
                messages.success(request, _("The payment was recorded."))
                return redirect("admin:billing_invoice_change", invoice.pk)
        title = _("Mark invoice %(number)s paid") % {"number": invoice}
        return self._form_page(request, invoice, form, title, "mark_paid.html")

    def credit_note_view(self, request: HttpRequest, object_id: str):
        """Credit the invoice in full with a credit note (the invoice becomes void)."""
        invoice = self._invoice(request, object_id, change=True)
        form = CreditNoteForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                note = credit_note_issue(
                    invoice=invoice, reason=form.cleaned_data["reason"], actor=request.user
                )
            except InvoiceError as refusal:
                form.add_error(None, str(refusal))
            else:
                self.log_change(request, note, form.cleaned_data["reason"])
                messages.success(
                    request, _("Credit note %(number)s was issued.") % {"number": note.number}
                )
                return redirect("admin:billing_invoice_change", note.pk)
        title = _("Issue a credit note for %(number)s") % {"number": invoice}
        return self._form_page(request, invoice, form, title, "credit_note.html")

    def pdf_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The invoice's stored PDF (rendered and stored on first request if the task has
        not done it yet), for staff who may view invoices."""
        from billing.pdf import invoice_pdf_bytes  # WeasyPrint is heavy: loaded when needed

        invoice = self._invoice(request, object_id, change=False)
        if not invoice.is_issued:
            raise Http404
        response = HttpResponse(invoice_pdf_bytes(invoice=invoice), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="{invoice.number}.pdf"'
        return response

    def xrechnung_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The issued invoice as XRechnung XML (billing.einvoice), for staff who may
        view invoices."""
        from billing.einvoice import invoice_xrechnung_file
        from billing.views_portal import xml_attachment

        invoice = self._invoice(request, object_id, change=False)
        if not invoice.is_issued:
            raise Http404
        return xml_attachment(*invoice_xrechnung_file(invoice=invoice))


def _local_date(value) -> str | None:
    if value is None:
        return None
    return formats.date_format(timezone.localtime(value), "SHORT_DATE_FORMAT")


class MarkPaidForm(forms.Form):
    amount = forms.DecimalField(
        label=gettext_lazy("Amount"),
        required=False,
        min_value=Decimal("0.01"),
        decimal_places=2,
        localize=True,  # "5,00" for German staff
        help_text=gettext_lazy("Leave empty to record the full amount due."),
    )


class CreditNoteForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=500,
        help_text=gettext_lazy("Why the invoice is corrected (kept in the admin log)."),
    )


@admin.register(InvoiceLine)
class InvoiceLineAdmin(FinanceExportMixin, ReadOnlyAdmin):
    """Invoice lines across invoices, for finance to filter and export (with the
    reporting tags of the contract that priced each line)."""

    resource_classes = [InvoiceLineResource]
    list_display = (
        "invoice",
        "position",
        "kind",
        "description",
        "product",
        "quantity",
        "net_amount",
        "tax_amount",
        "gross_amount",
    )
    list_filter = (
        "kind",
        "invoice__kind",
        "invoice__status",
        ("invoice__issued_at", admin.DateFieldListFilter),
        "invoice__currency",
    )
    search_fields = ("invoice__number", "description", "invoice__customer_name")
    list_select_related = ("invoice", "product")
