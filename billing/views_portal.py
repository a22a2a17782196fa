"""The portal's invoice pages for the customer's main user: the list, one invoice (or
credit note), its PDF (a Factur-X / ZUGFeRD e-invoice) and its XRechnung XML. A
customer's own issued invoices only: another customer's id, a draft, and everyone who
is not an account's main user get 404, like every portal URL.

The selectors live here, beside their only callers (billing/selectors.py holds the
contract reads staff use); they take the customer and do the scoping once.
"""

from __future__ import annotations

from uuid import UUID

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import translation

from billing.models import Dunning, Invoice, InvoiceLine
from billing.pdf import COUNTING, format_quantity, format_rate, format_unit_price, period_last_day
from billing.services.dunning import merchant_bank
from catalog.money import format_money
from subscriptions.models import Customer
from subscriptions.selectors.customers import customer_for_user

INVOICES_PER_PAGE = 20


def invoice_list_for_customer(*, customer: Customer) -> QuerySet[Invoice]:
    """The customer's issued invoices and credit notes, newest first (drafts never)."""
    return (
        Invoice.objects.filter(customer=customer)
        .exclude(status=Invoice.Status.DRAFT)
        .select_related("credited_invoice")
        .order_by("-issued_at", "-id")
    )


def invoice_for_customer(*, customer: Customer, public_id: UUID) -> Invoice:
    """One of the customer's issued invoices with its lines and the credit notes that
    correct it; 404 for anyone else's, a draft, or an unknown id."""
    credit_notes = Invoice.objects.exclude(status=Invoice.Status.DRAFT).order_by("issued_at")
    return get_object_or_404(
        invoice_list_for_customer(customer=customer).prefetch_related(
            Prefetch("lines", queryset=InvoiceLine.objects.order_by("position")),
            Prefetch("credit_notes", queryset=credit_notes, to_attr="issued_credit_notes"),
        ),
        public_id=public_id,
    )


def unpaid_dunnings_for_customer(*, customer: Customer) -> list[Dunning]:
    """The customer's invoices whose charge failed and that are still unpaid: being
    retried, or waiting for a bank transfer after the retries (one query)."""
    return list(
        Dunning.objects.filter(
            customer=customer, status__in=[Dunning.Status.RETRYING, Dunning.Status.EXHAUSTED]
        )
        .select_related("invoice")
        .order_by("failed_at")
    )


# --- labels in the viewer's language (the PDF uses the invoice's own) ------------------


def _language() -> str:
    return (translation.get_language() or "en").split("-")[0]


def _label_invoice(invoice: Invoice, language: str) -> Invoice:
    """Money in the viewer's locale and the period's last day (period_end is exclusive)."""

    def money(amount):
        return format_money(amount, invoice.currency, language)

    invoice.period_until = period_last_day(invoice.period_end)
    invoice.net_label = money(invoice.net_amount)
    invoice.tax_label = money(invoice.tax_amount)
    invoice.gross_label = money(invoice.gross_amount)
    invoice.amount_due_label = money(invoice.amount_due)
    return invoice


def _label_line(line: InvoiceLine, currency: str, language: str) -> InvoiceLine:

    def money(amount):
        return format_money(amount, currency, language)

    line.counting_label = COUNTING.get(line.counting, "") if line.counting else ""
    line.quantity_label = format_quantity(line.quantity, language)
    line.unit_price_label = format_unit_price(line.unit_price, currency, language)
    line.tax_rate_label = format_rate(line.tax_rate, language)
    line.net_label = money(line.net_amount)
    line.tax_label = money(line.tax_amount)
    line.gross_label = money(line.gross_amount)
    return line


# --- pages ------------------------------------------------------------------------------


@login_required
def invoice_list(request: HttpRequest) -> HttpResponse:
    customer = customer_for_user(user=request.user)
    paginator = Paginator(invoice_list_for_customer(customer=customer), INVOICES_PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    language = _language()
    page.object_list = [_label_invoice(invoice, language) for invoice in page.object_list]
    unpaid = unpaid_dunnings_for_customer(customer=customer)
    for dunning in unpaid:
        _label_invoice(dunning.invoice, language)
    return render(
        request,
        "billing/portal/invoice_list.html",
        {"page": page, "unpaid": unpaid, "bank": merchant_bank()},
    )


@login_required
def invoice_detail(request: HttpRequest, public_id: UUID) -> HttpResponse:
    customer = customer_for_user(user=request.user)
    invoice = invoice_for_customer(customer=customer, public_id=public_id)
    language = _language()
    _label_invoice(invoice, language)
    lines = [_label_line(line, invoice.currency, language) for line in invoice.lines.all()]
    credit_notes = [_label_invoice(note, language) for note in invoice.issued_credit_notes]
    return render(
        request,
        "billing/portal/invoice_detail.html",
        {"invoice": invoice, "lines": lines, "credit_notes": credit_notes},
    )


@login_required
def invoice_pdf(request: HttpRequest, public_id: UUID) -> HttpResponse:
    """The stored PDF of one of the customer's issued invoices. The task queued at issue
    normally stored it already; if not, it is rendered and stored now (the fallback), so
    every download is the same file."""
    from billing.pdf import invoice_pdf_bytes  # WeasyPrint is heavy: loaded when needed

    customer = customer_for_user(user=request.user)
    invoice = get_object_or_404(invoice_list_for_customer(customer=customer), public_id=public_id)
    response = HttpResponse(invoice_pdf_bytes(invoice=invoice), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{invoice.number}.pdf"'
    return response


@login_required
def invoice_xrechnung(request: HttpRequest, public_id: UUID) -> HttpResponse:
    """One of the customer's issued invoices as XRechnung XML (billing.einvoice), for
    the customer's accounting software; built from the invoice as issued."""
    from billing.einvoice import invoice_xrechnung_file

    customer = customer_for_user(user=request.user)
    invoice = get_object_or_404(invoice_list_for_customer(customer=customer), public_id=public_id)
    return xml_attachment(*invoice_xrechnung_file(invoice=invoice))


def xml_attachment(filename: str, xml: bytes) -> HttpResponse:
    """An XML download (the admin's XRechnung button uses it too)."""
    response = HttpResponse(xml, content_type="application/xml; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
