"""The integration API's invoices (issued invoices and credit notes, with their lines and
PDF) and the corporate usage of the current accounting period. Drafts are never shown.
The PDF is the stored document (billing.pdf.invoice_pdf_bytes), the usage the same
count and price as the portal's usage page (billing.views_usage.current_period)."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal
from uuid import UUID

from django.db.models import Prefetch, QuerySet
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Query, Router, Schema
from pydantic import Field

from api.auth import scope
from api.pagination import PageParams, cursor_page, page_of
from api.problems import Problem, register_problem
from api.schemas import Money, Timestamp, money
from billing.einvoice.files import invoice_xrechnung_file
from billing.exceptions import InvoiceError
from billing.models import Invoice, InvoiceLine
from billing.pdf import invoice_pdf_bytes
from billing.services.payments import invoice_mark_paid
from billing.views_usage import current_period
from subscriptions.models import Subscription

router = Router(tags=["billing"])

register_problem(InvoiceError, status=409, code="invoice_refused")


class LineOut(Schema):
    position: int
    kind: str
    description: str
    product: str | None
    quantity: str
    unit_price: Money
    net: Money
    tax_rate: str
    tax: Money
    gross: Money


class InvoiceOut(Schema):
    id: UUID
    number: str
    kind: str
    status: str
    customer: UUID
    subscription: UUID | None
    credited_invoice: UUID | None
    billing: str
    period_start: Timestamp | None
    period_end: Timestamp | None = Field(None, description="Exclusive.")
    net: Money
    tax: Money
    gross: Money
    amount_paid: Money
    amount_due: Money
    issued_at: Timestamp
    due_at: Timestamp | None
    paid_at: Timestamp | None
    pdf_url: str
    lines: list[LineOut] | None = Field(None, description="On the single invoice only.")


class InvoiceFilters(Schema):
    customer: UUID | None = None
    subscription: UUID | None = None
    status: Literal["open", "paid", "overdue", "void"] | None = None
    kind: Literal["invoice", "credit_note"] | None = None


class PaymentIn(Schema):
    amount: str | None = Field(
        None,
        pattern=r"^\d{1,10}(\.\d{1,2})?$",
        description="A decimal string; default: everything that is due.",
    )


class ProductUsageOut(Schema):
    product: str
    users: int
    counting: str
    amount: Money | None = Field(..., description="Null when the contract cannot price yet.")
    base_fee: Money


class UsageOut(Schema):
    subscription: UUID
    period_start: Timestamp
    period_end: Timestamp = Field(..., description="Exclusive.")
    counted_until: Timestamp
    products: list[ProductUsageOut]
    total: Money
    complete: bool = Field(..., description="Every product could be priced.")


def _invoices() -> QuerySet[Invoice]:
    return Invoice.objects.exclude(status=Invoice.Status.DRAFT).select_related(
        "customer", "subscription", "credited_invoice"
    )


def _invoice_out(request, invoice: Invoice, *, lines: bool = False) -> InvoiceOut:
    currency = invoice.currency
    return InvoiceOut(
        id=invoice.public_id,
        number=invoice.number,
        kind=invoice.kind,
        status=invoice.status,
        customer=invoice.customer.public_id,
        subscription=invoice.subscription.public_id if invoice.subscription_id else None,
        credited_invoice=(
            invoice.credited_invoice.public_id if invoice.credited_invoice_id else None
        ),
        billing=invoice.billing,
        period_start=invoice.period_start,
        period_end=invoice.period_end,
        net=money(invoice.net_amount, currency),
        tax=money(invoice.tax_amount, currency),
        gross=money(invoice.gross_amount, currency),
        amount_paid=money(invoice.amount_paid, currency),
        amount_due=money(invoice.amount_due, currency),
        issued_at=invoice.issued_at,
        due_at=invoice.due_at,
        paid_at=invoice.paid_at,
        pdf_url=request.build_absolute_uri(f"/api/v1/invoices/{invoice.public_id}/pdf"),
        lines=[_line_out(line, currency) for line in invoice.lines.all()] if lines else None,
    )


def _line_out(line: InvoiceLine, currency: str) -> LineOut:
    return LineOut(
        position=line.position,
        kind=line.kind,
        description=line.description,
        product=line.product.code if line.product_id else None,
        quantity=str(line.quantity),
        unit_price=money(line.unit_price, currency),
        net=money(line.net_amount, currency),
        tax_rate=str(line.tax_rate),
        tax=money(line.tax_amount, currency),
        gross=money(line.gross_amount, currency),
    )


@router.get("/invoices", response=page_of(InvoiceOut, "InvoicePage"), auth=scope("read"))
def invoice_list(request, filters: Query[InvoiceFilters], page: Query[PageParams]):
    """Issued invoices and credit notes, newest first."""
    invoices = _invoices()
    if filters.customer:
        invoices = invoices.filter(customer__public_id=filters.customer)
    if filters.subscription:
        invoices = invoices.filter(subscription__public_id=filters.subscription)
    if filters.status:
        invoices = invoices.filter(status=filters.status)
    if filters.kind:
        invoices = invoices.filter(kind=filters.kind)
    items, cursor = cursor_page(invoices, page)
    return {"items": [_invoice_out(request, i) for i in items], "next_cursor": cursor}


@router.get("/invoices/{invoice_id}", response=InvoiceOut, auth=scope("read"))
def invoice_get(request, invoice_id: UUID):
    lines = InvoiceLine.objects.select_related("product").order_by("position")
    invoice = get_object_or_404(
        _invoices().prefetch_related(Prefetch("lines", queryset=lines)), public_id=invoice_id
    )
    return _invoice_out(request, invoice, lines=True)


@router.get(
    "/invoices/{invoice_id}/pdf",
    response={200: None},
    auth=scope("read"),
    openapi_extra={
        "responses": {
            "200": {
                "description": "The invoice as PDF (the stored document).",
                "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    },
)
def invoice_pdf(request, invoice_id: UUID):
    invoice = get_object_or_404(_invoices(), public_id=invoice_id)
    response = HttpResponse(invoice_pdf_bytes(invoice=invoice), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{invoice.number}.pdf"'
    return response


@router.get(
    "/invoices/{invoice_id}/xrechnung",
    response={200: None},
    auth=scope("read"),
    openapi_extra={
        "responses": {
            "200": {
                "description": "The invoice as XRechnung (EN 16931 CII XML).",
                "content": {"application/xml": {"schema": {"type": "string"}}},
            }
        }
    },
)
def invoice_xrechnung(request, invoice_id: UUID):
    """The XRechnung XML of an issued invoice or credit note (the same data as the XML
    embedded in the Factur-X PDF)."""
    invoice = get_object_or_404(_invoices(), public_id=invoice_id)
    filename, content = invoice_xrechnung_file(invoice=invoice)
    response = HttpResponse(content, content_type="application/xml")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@router.post("/invoices/{invoice_id}/payments", response=InvoiceOut, auth=scope("billing"))
def invoice_payment_post(request, invoice_id: UUID, body: PaymentIn):
    """Record a payment received outside Kontor (a bank transfer): the amount paid grows,
    and once nothing is due the invoice is paid (the "invoice paid" event)."""
    invoice = get_object_or_404(_invoices(), public_id=invoice_id)
    amount = Decimal(body.amount) if body.amount is not None else None
    invoice_mark_paid(invoice=invoice, amount=amount, actor=request.auth.created_by)
    return invoice_get(request, invoice_id)


@router.get("/subscriptions/{subscription_id}/usage", response=UsageOut, auth=scope("read"))
def usage_get(request, subscription_id: UUID):
    """A corporate subscription's current accounting period so far: billable users per
    product, counted as the contract says, and the price if the period ended now."""
    subscription = get_object_or_404(
        Subscription.objects.select_related("corporate_offer"), public_id=subscription_id
    )
    if not subscription.is_corporate:
        raise Problem(404, "not_corporate", "This subscription is not a corporate one.")
    now = timezone.now()
    period = current_period(subscription, now, "en")
    if period is None:
        raise Problem(409, "no_current_period", "This subscription has no current period.")
    currency = subscription.currency
    total = sum((u.amount for u in period.usage if u.amount is not None), start=0)
    return UsageOut(
        subscription=subscription.public_id,
        period_start=period.start,
        period_end=period.end,
        counted_until=now,
        products=[
            ProductUsageOut(
                product=u.product.code,
                users=u.users,
                counting=u.counting,
                amount=money(u.amount, currency),
                base_fee=money(u.base_fee, currency),
            )
            for u in period.usage
        ],
        total=money(total, currency),
        complete=period.complete,
    )
