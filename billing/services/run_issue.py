"""Writing a chunk's invoices at once: inserted as drafts with their lines (the database
accepts lines only while their invoice is a draft), numbered with one
`numbers_allocate` call (gap-free: the series row stays locked until the chunk
commits), issued with one UPDATE, and their INVOICE_ISSUED events recorded at once —
the same event and e-mail `invoice_issue` records (`issued_event`), so notifications
treats them alike (and sends nothing while the template is inactive). After commit one
task renders the chunk's PDFs and one dispatches its events.

On PostgreSQL the rows go in with COPY, their ids drawn from the tables' sequences
first (as seats' bulk invitations do): five times faster than `bulk_create`, which
spends most of its time preparing each value. Elsewhere (the SQLite demo) it is
`bulk_create` and an UPDATE per invoice.

The events of a chunk share their issue and due dates, so their texts are formatted once
per language and the PDF link once per chunk (`_EventMaker`); the first invoice's event
is also built by `issued_event` and compared, so the two can never drift apart
unnoticed (on a difference every event of the chunk is built by `issued_event`).

The caller's transaction is the chunk's: a crash anywhere leaves nothing behind.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime, timedelta

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import override
from django_q.tasks import async_task

from billing.einvoice import EinvoiceError, einvoice_refusal, einvoice_shape, einvoice_validate
from billing.einvoice.cii import Seller
from billing.models import Invoice, InvoiceLine
from billing.services.collection import collection_schedule_bulk
from billing.services.invoices import (
    ZERO,
    InvoiceDraft,
    can_mail,
    customer_snapshot,
    invoice_url,
    is_reverse_charge,
    issued_event,
    line_amounts,
    numbers_allocate,
    payload_of,
    payment_snapshot,
    series_key,
)
from catalog.money import format_money
from notifications.events import EventType, MailType
from notifications.models import Event

logger = logging.getLogger(__name__)

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


def invoices_issue_bulk(
    *,
    drafts: Sequence[InvoiceDraft],
    now: datetime,
    refused: list[tuple[InvoiceDraft, str]] | None = None,
) -> list[int]:
    """Write and issue `drafts` (kind invoice) in the caller's transaction; returns the
    ids of the issued invoices. Drafts that cannot be e-invoices are not written: each
    is appended to `refused` with the reason (`einvoice_problems`), and so are the other
    drafts of its subscription (its periods are invoiced in order, by a later run).
    Raises RuntimeError outside a transaction."""
    if not drafts:
        return []
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("invoices_issue_bulk must run inside the chunk's transaction.")
    postgres = connection.vendor == "postgresql"
    built = _build_rows(drafts) if postgres else [draft.build() for draft in drafts]
    built = _einvoice_screen(drafts, built, refused if refused is not None else [])
    if not built:
        return []
    invoices = [invoice for invoice, _lines in built]
    lines = [line for _invoice, invoice_lines in built for line in invoice_lines]
    if postgres:
        _copy_invoices(invoices, lines, now)
    else:
        Invoice.objects.bulk_create(invoices, batch_size=BATCH)
        for line in lines:
            line.invoice_id = line.invoice.pk
        InvoiceLine.objects.bulk_create(lines, batch_size=BATCH)
    _issue(invoices, now, postgres)
    _einvoice_validate_shapes(built)
    events = _events(invoices, now)
    event_ids = _copy_events(events, now) if postgres else _create_events(events)
    invoice_ids = [invoice.pk for invoice in invoices]
    collection_schedule_bulk(invoice_ids=invoice_ids, now=now)
    transaction.on_commit(lambda: _queue_after_commit(invoice_ids, event_ids))
    return invoice_ids


# --- rows ------------------------------------------------------------------------------


class _Row:
    """An invoice or line to COPY: its column values by attname, as a model instance's
    `__dict__` holds them, plus the related objects the events read."""

    def __init__(self, **values) -> None:
        self.__dict__.update(values)


def _build_rows(drafts: Sequence[InvoiceDraft]) -> list[tuple]:
    """What `InvoiceDraft.build()` makes, as plain rows: the same arithmetic
    (`line_amounts`, reverse charge, the customer snapshot) without a model instance per
    invoice and line, which cost more than the rest of the chunk's Python together. The
    first draft is also built by `build()` and compared field by field; on a difference
    (say a field added to the models) every draft goes through `build()`."""
    reference = drafts[0].build()
    rows = [_draft_rows(draft) for draft in drafts]
    if not _same(reference, rows[0]):
        logger.warning("Invoice rows differ from InvoiceDraft.build(); using it for each.")
        return [draft.build() for draft in drafts]
    return rows


def _draft_rows(draft: InvoiceDraft) -> tuple[_Row, list[_Row]]:
    customer, currency = draft.customer, draft.currency
    reverse_charge = is_reverse_charge(customer)
    invoice = _Row(
        public_id=uuid.uuid4(), kind=draft.kind, number=None, status=Invoice.Status.DRAFT,
        customer_id=customer.pk, customer=customer,
        subscription_id=draft.subscription.pk if draft.subscription else None,
        subscription=draft.subscription,
        credited_invoice_id=draft.credited_invoice.pk if draft.credited_invoice else None,
        billing=draft.billing, period_start=draft.period_start, period_end=draft.period_end,
        currency=currency, language=customer.language or settings.LANGUAGE_CODE,
        **customer_snapshot(customer), **payment_snapshot(draft.subscription),
        reverse_charge=reverse_charge, note=draft.note, amount_paid=ZERO, issued_at=None,
        due_at=None, paid_at=None, pdf="", billing_run_id=draft.billing_run_id,
        created_at=None,
    )  # fmt: skip
    lines = []
    for position, line in enumerate(draft.lines, start=1):
        rate = ZERO if reverse_charge else line.tax_rate
        amounts = line_amounts(quantity=line.quantity, unit_price=line.unit_price,
                               tax_rate=rate, currency=currency, net=line.net)  # fmt: skip
        lines.append(
            _Row(
                invoice=invoice, invoice_id=None, position=position, kind=line.kind,
                description=line.description[:300], product_id=line.product_id,
                counting=line.counting, quantity=line.quantity, unit_price=line.unit_price,
                net_amount=amounts.net, tax_rate=rate, tax_amount=amounts.tax,
                gross_amount=amounts.gross, ledger_account=line.ledger_account,
            )
        )  # fmt: skip
    invoice.net_amount = sum((line.net_amount for line in lines), ZERO)
    invoice.tax_amount = sum((line.tax_amount for line in lines), ZERO)
    invoice.gross_amount = sum((line.gross_amount for line in lines), ZERO)
    return invoice, lines


_UNCOMPARED = {"id", "public_id", "created_at", "invoice_id", "pdf"}


def _same(reference: tuple[Invoice, list[InvoiceLine]], rows: tuple[_Row, list[_Row]]) -> bool:
    (invoice, lines), (invoice_row, line_rows) = reference, rows
    pairs = [(invoice, invoice_row), *zip(lines, line_rows, strict=False)]
    return len(lines) == len(line_rows) and all(
        field.attname in row.__dict__ and getattr(obj, field.attname) == row.__dict__[field.attname]
        for obj, row in pairs
        for field in obj._meta.concrete_fields
        if field.attname not in _UNCOMPARED
    )


# --- e-invoice checks ------------------------------------------------------------------


def _einvoice_screen(
    drafts: Sequence[InvoiceDraft], built: list[tuple], refused: list[tuple[InvoiceDraft, str]]
) -> list[tuple]:
    """The built rows whose data can form an e-invoice (what `invoice_issue` checks one
    by one); the others, and every draft of their subscriptions, go to `refused`."""
    seller = Seller.from_settings()
    problems = [einvoice_refusal(invoice, lines, seller=seller) for invoice, lines in built]
    blocked = {_owner(draft) for draft, text in zip(drafts, problems, strict=True) if text}
    if not blocked:
        return built
    kept = []
    for draft, rows, text in zip(drafts, built, problems, strict=True):
        if _owner(draft) in blocked:
            refused.append(
                (draft, text or _("Another invoice of this subscription cannot be an e-invoice."))
            )
        else:
            kept.append(rows)
    return kept


def _owner(draft: InvoiceDraft) -> tuple:
    """Drafts of one subscription stand or fall together."""
    return ("subscription", draft.subscription.pk) if draft.subscription else ("draft", id(draft))


def _einvoice_validate_shapes(built: list[tuple]) -> None:
    """The XML of one numbered invoice per shape against the XSD (all invoices of a
    shape pass or fail it alike, see billing.einvoice.checks): a failure is a bug in
    the builder, and the chunk rolls back with the schema's message."""
    seen = set()
    for invoice, lines in built:
        shape = einvoice_shape(invoice, lines)
        if shape in seen:
            continue
        seen.add(shape)
        try:
            einvoice_validate(invoice, lines)
        except EinvoiceError as error:
            raise RuntimeError(str(error)) from error


def _next_ids(cursor, table: str, count: int) -> list[int]:
    """`count` fresh ids from the sequence behind `table`.id (through Django's cursor, so
    query counters see it; the COPY statements themselves they cannot see)."""
    cursor.execute(
        "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
        [table, count],
    )
    return [row[0] for row in cursor.fetchall()]


def _columns(model, skip=("id",)) -> list:
    return [f for f in model._meta.concrete_fields if f.column not in skip]


def _copy(cursor, table: str, fields: list, rows) -> None:
    columns = ", ".join(["id", *(f.column for f in fields)])
    with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _copy_invoices(invoices: list[Invoice], lines: list[InvoiceLine], now: datetime) -> None:
    """COPY the drafts and their lines. Values are the instances' own (what `save()`
    would write): the FileField as its name, `created_at` (auto_now_add) as `now`."""
    invoice_fields = _columns(Invoice)
    names = [f.attname for f in invoice_fields]
    files = [f.attname for f in invoice_fields if f.get_internal_type() == "FileField"]
    line_fields = _columns(InvoiceLine)
    with connection.cursor() as wrapper:
        cursor = wrapper.cursor
        ids = _next_ids(wrapper, "billing_invoice", len(invoices))
        for invoice, pk in zip(invoices, ids, strict=True):
            invoice.pk = invoice.id = pk
        rows = ([i.pk, *_values(i, names, files, now)] for i in invoices)
        _copy(cursor, "billing_invoice", invoice_fields, rows)
        ids = _next_ids(wrapper, "billing_invoiceline", len(lines))
        for line, pk in zip(lines, ids, strict=True):
            line.pk, line.invoice_id = pk, line.invoice.pk
        rows = ([li.pk, *(getattr(li, f.attname) for f in line_fields)] for li in lines)
        _copy(cursor, "billing_invoiceline", line_fields, rows)


def _values(invoice: Invoice, names: list[str], files: list[str], now: datetime) -> list:
    values = invoice.__dict__
    for name in files:
        values[name] = values[name].name or "" if values[name] else ""
    values["created_at"] = now
    return [values[name] for name in names]


def _issue(invoices: list[Invoice], now: datetime, postgres: bool) -> None:
    numbers = numbers_allocate(key=series_key(Invoice.Kind.INVOICE, now), count=len(invoices))
    due = now + timedelta(days=settings.KONTOR_PAYMENT_TERMS_DAYS)
    for invoice, number in zip(invoices, numbers, strict=True):
        invoice.number, invoice.issued_at, invoice.due_at = number, now, due
        paid = invoice.gross_amount == 0
        invoice.status = Invoice.Status.PAID if paid else Invoice.Status.OPEN
        invoice.paid_at = now if paid else None
    if not postgres:
        fields = ["number", "status", "issued_at", "due_at", "paid_at"]
        for invoice in invoices:
            invoice.save(update_fields=fields)
        return
    params = {"now": now, "due": due, "ids": [i.pk for i in invoices], "numbers": numbers}
    with connection.cursor() as cursor:
        cursor.execute(ISSUE_SQL, params)
        if cursor.rowcount != len(invoices):
            raise RuntimeError("Some invoices of the chunk were no longer drafts.")


# --- events ----------------------------------------------------------------------------


class _EventMaker:
    """`issued_event`'s fields, with what the chunk's invoices share computed once."""

    def __init__(self, now: datetime, due: datetime) -> None:
        self.now = now
        self.due = due
        marker = uuid.UUID(int=0)
        self.url = invoice_url(Invoice(public_id=marker)).replace(str(marker), "{}")
        self.due_texts: dict[str, str] = {}
        self.totals: dict[tuple, str] = {}  # a chunk's invoices often share their total

    def due_text(self, language: str) -> str:
        if language not in self.due_texts:
            with override(language):
                self.due_texts[language] = formats.date_format(
                    timezone.localtime(self.due), "DATE_FORMAT"
                )
        return self.due_texts[language]

    def total(self, amount, currency: str, language: str) -> str:
        key = (amount, currency, language)
        if key not in self.totals:
            self.totals[key] = format_money(amount, currency, language)
        return self.totals[key]

    def __call__(self, invoice: Invoice) -> dict:
        language = invoice.language or settings.LANGUAGE_CODE
        customer = invoice.customer
        payload = payload_of(invoice)
        mails = []
        if can_mail(customer.email):
            context = {
                "invoice_number": invoice.number,
                "total": self.total(invoice.gross_amount, invoice.currency, language),
                "due_date": self.due_text(language),
                "invoice_url": self.url.format(invoice.public_id),
                "customer_name": invoice.customer_name,
                "merchant_name": settings.KONTOR_MERCHANT_NAME,
            }
            mails = [{"template": MailType.INVOICE_ISSUED, "to": customer.email,
                      "language": language, "context": context}]  # fmt: skip
        return {"payload": payload, "mails": mails}


def _slow(invoice: Invoice, now: datetime) -> dict:
    event = issued_event(invoice, now)
    return {"payload": event["payload"], "mails": [asdict(mail) for mail in event["mails"]]}


def _events(invoices: list[Invoice], now: datetime) -> list[tuple[Invoice, dict]]:
    make = _EventMaker(now, invoices[0].due_at)
    first = _slow(invoices[0], now)  # validates the mail (template, address, context)
    if make(invoices[0]) != first:
        logger.warning("Bulk invoice events differ from issued_event(); using it for each.")
        return [(invoice, _slow(invoice, now)) for invoice in invoices]
    return [(invoices[0], first)] + [(invoice, make(invoice)) for invoice in invoices[1:]]


_EVENT_COLUMNS = (
    "id, event_id, type, subject_type, subject_id, payload, mails, occurred_at, created_at"
)


def _copy_events(events: list[tuple[Invoice, dict]], now: datetime) -> list[int]:
    encode = DjangoJSONEncoder().encode
    subject_type = Invoice._meta.label_lower
    with connection.cursor() as wrapper:
        cursor = wrapper.cursor
        ids = _next_ids(wrapper, "notifications_event", len(events))
        with cursor.copy(f"COPY notifications_event ({_EVENT_COLUMNS}) FROM STDIN") as copy:
            for pk, (invoice, event) in zip(ids, events, strict=True):
                copy.write_row([
                    pk, uuid.uuid4(), EventType.INVOICE_ISSUED.value, subject_type,
                    str(invoice.public_id), encode(event["payload"]), encode(event["mails"]),
                    now, now,
                ])  # fmt: skip
    return ids


def _create_events(events: list[tuple[Invoice, dict]]) -> list[int]:
    rows = [
        Event(
            type=EventType.INVOICE_ISSUED,
            subject_type=Invoice._meta.label_lower,
            subject_id=str(invoice.public_id),
            payload=event["payload"],
            mails=event["mails"],
            occurred_at=invoice.issued_at,
        )
        for invoice, event in events
    ]
    return [event.pk for event in Event.objects.bulk_create(rows, batch_size=BATCH)]


def _queue_after_commit(invoice_ids: list[int], event_ids: list[int]) -> None:
    """One task per chunk (`billing.tasks.chunk_issued`: dispatch the events, then
    render the PDFs): a task per invoice would cost the broker a round trip each. Safe
    to run twice; the notifications sweep dispatches events a lost task left behind,
    and the portal renders a missing PDF on first download."""
    async_task("billing.tasks.chunk_issued", invoice_ids, event_ids)
