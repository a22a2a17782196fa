"""Collecting invoices through the payment gateway (SPEC §4).

An invoice of a subscription that pays by card or SEPA direct debit gets a pending
first `PaymentAttempt` in the transaction that issues it (`collection_schedule`, or
`collection_schedule_bulk` for a billing-run chunk); a task executes it right after
commit, and the `collect_payments` sweep executes whatever is due and was not done
(a lost task, a scheduled retry, a gateway that was down).

Executing an attempt (`attempt_execute`) takes three steps so that nothing is charged
twice and nothing is lost:

1. claim it: lock the row (skip it when another worker holds it), check the invoice
   still needs the money, fix the payment method and amount, and commit `sent_at`;
2. ask the gateway, outside any transaction, with the attempt's idempotency key: a
   second worker, or the same task run again after a crash, gets the first answer
   and no second charge;
3. record the answer under the lock, once: a payment on the invoice, or the dunning's
   next step (`billing.services.dunning`), and the payment event.

A gateway that cannot be reached leaves the attempt pending for a later sweep with the
same key, never a new charge.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_q.tasks import async_task

from billing.exceptions import InvoiceError
from billing.models import Invoice, Payment, PaymentAttempt
from billing.services.dunning import (
    attempt_create,
    dunning_after_failure,
    dunning_stop,
    electronic_method,
)
from billing.services.payments import payment_record
from notifications.events import EventType
from notifications.services import emit
from subscriptions.gateways import ChargeResult
from subscriptions.services.payments import payment_method_charge

logger = logging.getLogger(__name__)

# A claimed attempt whose worker has not answered for this long is taken over (with the
# same idempotency key, so the gateway charges it at most once).
IN_FLIGHT = timedelta(minutes=10)
# After the gateway could not be reached.
GATEWAY_DOWN_DELAY = timedelta(minutes=15)
OUTCOMES = {
    ChargeResult.SUCCEEDED: PaymentAttempt.Status.SUCCEEDED,
    ChargeResult.DECLINED: PaymentAttempt.Status.DECLINED,
    ChargeResult.FAILED_TEMPORARILY: PaymentAttempt.Status.FAILED_TEMPORARILY,
}
COLLECTABLE = (Invoice.Status.OPEN, Invoice.Status.OVERDUE)


# --- scheduling ----------------------------------------------------------------------


def collection_schedule(*, invoice: Invoice, now: datetime) -> PaymentAttempt | None:
    """In the issuing transaction: the first attempt of an invoice whose subscription
    pays electronically, due now; executed after commit."""
    method = electronic_method(invoice.subscription)
    if not _collectable(invoice) or method is None:
        return None
    attempt = attempt_create(
        invoice=invoice,
        payment_method=method,
        trigger=PaymentAttempt.Trigger.ISSUE,
        scheduled_for=now,
    )
    transaction.on_commit(lambda: queue_attempts([attempt.pk]))
    return attempt


def collection_schedule_bulk(*, invoice_ids: Sequence[int], now: datetime) -> list[int]:
    """`collection_schedule` for a billing-run chunk: one `INSERT … SELECT` (PostgreSQL)
    for the invoices whose subscription pays by an active card or SEPA mandate."""
    if not invoice_ids:
        return []
    if connection.vendor != "postgresql":
        invoices = Invoice.objects.filter(pk__in=invoice_ids).select_related(
            "subscription__payment_method"
        )
        attempts = [collection_schedule(invoice=invoice, now=now) for invoice in invoices]
        return [attempt.pk for attempt in attempts if attempt is not None]
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO billing_paymentattempt (
                public_id, invoice_id, customer_id, payment_method_id, number, trigger,
                idempotency_key, amount, currency, status, scheduled_for, gateway_reference,
                error_code, message, created_at)
            SELECT gen_random_uuid(), i.id, i.customer_id, pm.id, 1, 'issue',
                   'kontor-' || i.public_id::text || '-1', i.gross_amount - i.amount_paid,
                   i.currency, 'pending', %(now)s, '', '', '', %(now)s
            FROM billing_invoice i
            JOIN subscriptions_subscription s ON s.id = i.subscription_id
            JOIN subscriptions_paymentmethod pm ON pm.id = s.payment_method_id
            WHERE i.id = ANY(%(ids)s) AND i.kind = 'invoice' AND i.status IN ('open', 'overdue')
              AND i.gross_amount > i.amount_paid
              AND pm.kind IN ('card', 'sepa_debit') AND pm.status = 'active'
            ON CONFLICT DO NOTHING
            RETURNING id
            """,
            {"ids": list(invoice_ids), "now": now},
        )
        ids = [row[0] for row in cursor.fetchall()]
    if ids:
        transaction.on_commit(lambda: queue_attempts(ids))
    return ids


def queue_attempts(attempt_ids: list[int]) -> None:
    async_task("billing.tasks.execute_attempts", attempt_ids)


def _collectable(invoice: Invoice) -> bool:
    return (
        invoice.kind == Invoice.Kind.INVOICE
        and invoice.status in COLLECTABLE
        and invoice.amount_due > 0
    )


# --- executing -----------------------------------------------------------------------


def payments_collect_due(*, now: datetime | None = None, limit: int = 200) -> int:
    """The sweep: execute the attempts that are due (first collections whose task was
    lost, scheduled retries, replays after a gateway outage). Returns how many were
    answered."""
    now = now or timezone.now()
    due = list(
        PaymentAttempt.objects.filter(status=PaymentAttempt.Status.PENDING, scheduled_for__lte=now)
        .order_by("scheduled_for", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(attempt_execute(attempt_id=pk, now=now) is not None for pk in due)


def attempt_execute(*, attempt_id: int, now: datetime | None = None) -> PaymentAttempt | None:
    """Execute one pending attempt (see the module docstring). None when there was
    nothing to do: not due, answered already, held by another worker, or not needed."""
    now = now or timezone.now()
    attempt = _claim(attempt_id, now)
    if attempt is None:
        return None
    try:
        result = payment_method_charge(
            payment_method=attempt.payment_method,
            amount=attempt.amount,
            currency=attempt.currency,
            idempotency_key=attempt.idempotency_key,
            description=_("Invoice %(number)s") % {"number": attempt.invoice.number},
        )
    except Exception:
        # Unknown whether the gateway charged: replay later with the same key.
        logger.exception("Payment attempt %s: the gateway failed", attempt.public_id)
        PaymentAttempt.objects.filter(pk=attempt.pk, status=PaymentAttempt.Status.PENDING).update(
            scheduled_for=now + GATEWAY_DOWN_DELAY,
            message=_("The payment provider could not be reached; trying again soon."),
        )
        return None
    return _record(attempt.pk, result, now)


def _claim(attempt_id: int, now: datetime) -> PaymentAttempt | None:
    with transaction.atomic():
        attempt = (
            PaymentAttempt.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("invoice__subscription__payment_method", "payment_method")
            .filter(pk=attempt_id, status=PaymentAttempt.Status.PENDING, scheduled_for__lte=now)
            .first()
        )
        if attempt is None or (attempt.sent_at and attempt.sent_at > now - IN_FLIGHT):
            return None
        invoice = attempt.invoice
        if not _collectable(invoice) and attempt.sent_at is None:
            _skip(attempt, _("The invoice no longer needs collecting."))
            return None
        # Sent before (its worker died): replayed with its key even if the invoice was
        # settled since, so a charge the gateway made is recorded (and refunded), not lost.
        if attempt.sent_at is None:  # not asked yet: charge what is due, how it pays now
            method = electronic_method(invoice.subscription)
            if method is None:
                _skip(attempt, _("The subscription now pays by invoice."))
                dunning_stop(invoice=invoice, reason=_("Now paid by invoice."), now=now)
                return None
            attempt.payment_method, attempt.amount = method, invoice.amount_due
        attempt.sent_at = now
        attempt.save(update_fields=["payment_method", "amount", "sent_at"])
    return attempt


def _skip(attempt: PaymentAttempt, reason: str) -> None:
    attempt.status, attempt.message = PaymentAttempt.Status.SKIPPED, reason
    attempt.save(update_fields=["status", "message"])


def _record(attempt_id: int, result: ChargeResult, now: datetime) -> PaymentAttempt | None:
    with transaction.atomic():
        attempt = (
            PaymentAttempt.objects.select_for_update(of=("self",))
            .select_related("invoice__customer", "invoice__subscription", "payment_method")
            .get(pk=attempt_id)
        )
        if attempt.status != PaymentAttempt.Status.PENDING:
            return None  # another worker recorded the same answer
        attempt.status = OUTCOMES.get(result.status, PaymentAttempt.Status.FAILED_TEMPORARILY)
        attempt.gateway_reference = result.reference[:100]
        attempt.error_code = result.error_code[:64]
        attempt.message = str(result.message)[:300]
        attempt.attempted_at = now
        attempt.save()
        if attempt.status == PaymentAttempt.Status.SUCCEEDED:
            _paid(attempt, now)
        else:
            dunning_after_failure(
                attempt=attempt,
                now=now,
                announce=lambda mails: _event(EventType.PAYMENT_FAILED, attempt, now, mails),
            )
    return attempt


def _paid(attempt: PaymentAttempt, now: datetime) -> None:
    """Record the charged amount on the invoice. Paid (partly) another way while this
    charge ran, the money came in twice: what is still due is recorded, and the attempt
    names the excess for staff to refund, rather than lose it."""
    invoice = Invoice.objects.get(pk=attempt.invoice_id)
    due = invoice.amount_due if invoice.status in COLLECTABLE else 0
    if due > 0:
        payment_record(
            invoice=invoice,
            amount=min(attempt.amount, due),
            method=attempt.payment_method.kind,
            source=Payment.Source.GATEWAY,
            reference=attempt.gateway_reference,
            now=now,
        )
    if attempt.amount > due:
        logger.warning("Invoice %s was settled while attempt %s charged", invoice, attempt)
        attempt.message = _("Collected after the invoice was settled: refund %(amount)s.") % {
            "amount": attempt.amount - due
        }
        attempt.save(update_fields=["message"])
    _event(EventType.PAYMENT_SUCCEEDED, attempt, now)


def _event(kind: str, attempt: PaymentAttempt, now: datetime, mails=()) -> None:
    invoice = attempt.invoice
    emit(
        type=kind,
        subject=invoice,
        payload={
            "invoice": str(invoice.public_id),
            "number": invoice.number,
            "customer": str(invoice.customer.public_id),
            "subscription": str(invoice.subscription.public_id) if invoice.subscription else None,
            "attempt": attempt.number,
            "amount": str(attempt.amount),
            "currency": attempt.currency,
            "payment_method": attempt.payment_method.kind,
            "status": attempt.status,
            "error_code": attempt.error_code,
            "gateway_reference": attempt.gateway_reference,
        },
        mails=mails,
        occurred_at=now,
    )


# --- staff ---------------------------------------------------------------------------


def payment_retry_now(*, invoice: Invoice, now: datetime | None = None) -> PaymentAttempt:
    """Staff's "retry now": one more charge outside the schedule (a success settles the
    invoice and ends the dunning; a failure leaves the schedule as it is)."""
    now = now or timezone.now()
    with transaction.atomic():
        invoice = (
            Invoice.objects.select_for_update(of=("self",))
            .select_related("subscription__payment_method")
            .get(pk=invoice.pk)
        )
        if not _collectable(invoice):
            raise InvoiceError(_("Only an open or overdue invoice with an amount due is charged."))
        method = electronic_method(invoice.subscription)
        if method is None:
            raise InvoiceError(
                _("The subscription pays by invoice; there is no card or mandate to charge.")
            )
        if invoice.payment_attempts.filter(
            status=PaymentAttempt.Status.PENDING, sent_at__gt=now - IN_FLIGHT
        ).exists():
            raise InvoiceError(_("A charge of this invoice is under way; wait for its answer."))
        try:
            with transaction.atomic():
                attempt = attempt_create(
                    invoice=invoice,
                    payment_method=method,
                    trigger=PaymentAttempt.Trigger.MANUAL,
                    scheduled_for=now,
                )
        except IntegrityError:
            raise InvoiceError(_("Someone else just started a retry of this invoice.")) from None
    attempt_execute(attempt_id=attempt.pk, now=now)
    attempt.refresh_from_db()
    return attempt
