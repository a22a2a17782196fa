"""Writing a chunk's invoices at once: inserted as drafts with their lines (the database
accepts lines only while their invoice is a draft), numbered with one
`numbers_allocate` call (gap-free: the series row stays locked until the chunk
commits), issued with one UPDATE, and their INVOICE_ISSUED events recorded in one
INSERT — the same event and e-mail `invoice_issue` would record (`issued_event`), so
notifications treats them alike (and sends nothing while the template is inactive).
After commit one task renders the chunk's PDFs and one dispatches its events.

The caller's transaction is the chunk's: a crash anywhere leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django_q.tasks import async_task

from billing.models import Invoice, InvoiceLine
from billing.services.invoices import InvoiceDraft, issued_event, numbers_allocate, series_key
from notifications.events import EventType
from notifications.models import Event

BATCH = 1000

ISSUE_SQL = """
UPDATE billing_invoice AS i
SET number = v.number,
    status = CASE WHEN i.gross_amount = 0 THEN 'paid' ELSE 'open' END,
    paid_at = CASE WHEN i.gross_amount = 0 THEN %(now)s::timestamptz END,
    issued_at = %(now)s, due_at = %(due)s
FROM unnest(%(ids)s::bigint[], %(numbers)s::text[]) AS v(id, number)
WHERE i.id = v.id AND i.status = 'draft'
"""


def invoices_issue_bulk(*, drafts: Sequence[InvoiceDraft], now: datetime) -> list[Invoice]:
    """Write and issue `drafts` (kind invoice) in the caller's transaction; returns the
    issued invoices. Raises RuntimeError outside a transaction."""
    if not drafts:
        return []
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("invoices_issue_bulk must run inside the chunk's transaction.")
    built = [draft.build() for draft in drafts]
    invoices = Invoice.objects.bulk_create([invoice for invoice, _lines in built], batch_size=BATCH)
    lines = []
    for invoice, invoice_lines in built:
        for line in invoice_lines:
            line.invoice_id = invoice.pk
            lines.append(line)
    InvoiceLine.objects.bulk_create(lines, batch_size=BATCH)
    _issue(invoices, now)
    event_ids = _record_events(invoices, now)
    invoice_ids = [invoice.pk for invoice in invoices]
    transaction.on_commit(lambda: _queue_after_commit(invoice_ids, event_ids))
    return invoices


def _issue(invoices: list[Invoice], now: datetime) -> None:
    numbers = numbers_allocate(key=series_key(Invoice.Kind.INVOICE, now), count=len(invoices))
    due = now + timedelta(days=settings.KONTOR_PAYMENT_TERMS_DAYS)
    params = {"now": now, "due": due, "ids": [i.pk for i in invoices], "numbers": numbers}
    with connection.cursor() as cursor:
        cursor.execute(ISSUE_SQL, params)
        if cursor.rowcount != len(invoices):
            raise RuntimeError("Some invoices of the chunk were no longer drafts.")
    for invoice, number in zip(invoices, numbers, strict=True):
        invoice.number, invoice.issued_at, invoice.due_at = number, now, due
        paid = invoice.gross_amount == 0
        invoice.status = Invoice.Status.PAID if paid else Invoice.Status.OPEN
        invoice.paid_at = now if paid else None


def _record_events(invoices: list[Invoice], now: datetime) -> list[int]:
    subject_type = Invoice._meta.label_lower
    events = []
    for invoice in invoices:
        event = issued_event(invoice, now)
        events.append(
            Event(
                type=EventType.INVOICE_ISSUED,
                subject_type=subject_type,
                subject_id=str(invoice.public_id),
                payload=event["payload"],
                mails=[asdict(mail) for mail in event["mails"]],
                occurred_at=now,
            )
        )
    return [event.pk for event in Event.objects.bulk_create(events, batch_size=BATCH)]


def _queue_after_commit(invoice_ids: list[int], event_ids: list[int]) -> None:
    """One task per chunk for each: a task per invoice would cost the broker a round
    trip each. Both are safe to run twice; the notifications sweep dispatches events a
    lost task left behind, and the portal renders a missing PDF on first download."""
    async_task("billing.tasks.dispatch_events", event_ids)
    async_task("billing.tasks.render_pdfs", invoice_ids)
