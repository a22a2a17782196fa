"""Recording money received for an invoice: a charge that succeeded, a bank transfer
matched from a statement, or what staff entered (in full or in part)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.exceptions import InvoiceError
from billing.models import Invoice, Payment
from billing.services.dunning import dunning_settle
from notifications.events import EventType
from notifications.services import emit

PAYABLE = (Invoice.Status.OPEN, Invoice.Status.OVERDUE)


def invoice_mark_paid(*, invoice: Invoice, **details) -> Invoice:
    """`payment_record`, answering with the invoice as it is now (staff, tests)."""
    return payment_record(invoice=invoice, **details).invoice


@transaction.atomic
def payment_record(
    *,
    invoice: Invoice,
    amount: Decimal | None = None,
    method: str = Payment.Method.BANK_TRANSFER,
    source: str = Payment.Source.STAFF,
    reference: str = "",
    payer: str = "",
    actor=None,
    now: datetime | None = None,
) -> Payment:
    """Record a payment on an open or overdue invoice: `amount` (default: what is due)
    adds to the amount paid. Once nothing is due the invoice is paid, its dunning ends
    (access paused for it resumes) and the "invoice paid" event is emitted. Refuses
    (InvoiceError) an amount above what is due: an overpayment is for staff to sort out,
    not to hide in a total."""
    now = now or timezone.now()
    invoice = (
        Invoice.objects.select_for_update(of=("self",))
        .select_related("customer", "subscription")
        .get(pk=invoice.pk)
    )
    if invoice.kind != Invoice.Kind.INVOICE or invoice.status not in PAYABLE:
        raise InvoiceError(_("Only an open or overdue invoice can be paid."))
    amount = invoice.amount_due if amount is None else amount
    if amount <= 0 or amount > invoice.amount_due:
        raise InvoiceError(
            _("Enter an amount between 0.01 and %(due)s.") % {"due": invoice.amount_due}
        )
    payment = Payment.objects.create(
        invoice=invoice,
        customer_id=invoice.customer_id,
        amount=amount,
        currency=invoice.currency,
        method=method,
        source=source,
        reference=reference[:140],
        payer=payer[:140],
        received_at=now,
        recorded_by=actor,
    )
    invoice.amount_paid += amount
    if invoice.amount_due == 0:
        invoice.status, invoice.paid_at = Invoice.Status.PAID, now
    invoice.save(update_fields=["amount_paid", "status", "paid_at"])
    if invoice.status == Invoice.Status.PAID:
        dunning_settle(invoice=invoice, paid=True, now=now)
        emit(
            type=EventType.INVOICE_PAID,
            payload={
                "invoice": str(invoice.public_id),
                "number": invoice.number,
                "customer": str(invoice.customer.public_id),
                "gross": str(invoice.gross_amount),
                "currency": invoice.currency,
            },
            subject=invoice,
            occurred_at=now,
        )
    return payment
