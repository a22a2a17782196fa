"""Making and issuing invoices and credit notes (SPEC §4).

`invoice_create` writes a draft with its lines; `invoice_issue` gives it the next number
of its series and makes it final (the database refuses later changes, see migration
0002); `credit_note_issue` corrects an issued invoice. The billing run (billing.runs)
uses the same arithmetic (`line_amounts`) and number allocation (`numbers_allocate`)
for whole chunks at once.

Tax: each line carries its product's rate (19 % by default). A company customer with a
VAT id in another EU country than the merchant's gets reverse charge: 0 % on every line
and the reverse-charge note on the invoice.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import override
from django_q.tasks import async_task

from audit.recorder import record_bulk_change
from billing.einvoice import EinvoiceError, einvoice_refusal, einvoice_validate
from billing.exceptions import InvoiceError
from billing.models import Invoice, InvoiceLine, NumberSeries
from billing.models.invoices import PaymentMeans
from billing.services.collection import collection_schedule
from billing.services.dunning import dunning_settle
from catalog.models import PaymentMethod as PaymentKind
from catalog.money import format_money, round_money
from notifications.events import EventType, MailType
from notifications.services import Mail, emit
from subscriptions.models import Customer, Subscription

ZERO = Decimal("0.00")
HUNDRED = Decimal(100)
# EU member states (ISO 3166 codes; Greece is "GR" here, "EL" in VAT ids).
logger = logging.getLogger(__name__)
EU_COUNTRIES = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "CY",
        "CZ",
        "DE",
        "DK",
        "EE",
        "ES",
        "FI",
        "FR",
        "GR",
        "HR",
        "HU",
        "IE",
        "IT",
        "LT",
        "LU",
        "LV",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SE",
        "SI",
        "SK",
    ]
)


@dataclass(frozen=True)
class LineDraft:
    """A line before it is written. `net` overrides quantity x unit price (a base fee,
    a discount or a penalty given as an amount)."""

    kind: str
    description: str
    quantity: Decimal
    unit_price: Decimal
    tax_rate: Decimal
    product_id: int | None = None
    counting: str = ""
    ledger_account: str = ""
    net: Decimal | None = None


@dataclass(frozen=True)
class LineAmounts:
    net: Decimal
    tax: Decimal
    gross: Decimal


def line_amounts(
    *, quantity: Decimal, unit_price: Decimal, tax_rate: Decimal, currency: str, net=None
) -> LineAmounts:
    """Net, tax and gross of one line, each rounded once, half up, to the minor unit:
    net = quantity x unit price, tax = net x rate, gross = net + tax."""
    net = round_money(quantity * unit_price if net is None else net, currency)
    tax = round_money(net * tax_rate / HUNDRED, currency)
    return LineAmounts(net=net, tax=tax, gross=net + tax)


def is_reverse_charge(customer: Customer) -> bool:
    """EU business customer (a company with a VAT id) in another EU country than ours."""
    country = (customer.country or "").upper()
    return (
        customer.kind == Customer.Kind.COMPANY
        and bool(customer.vat_id)
        and country in EU_COUNTRIES
        and country != settings.KONTOR_MERCHANT_COUNTRY.upper()
    )


def customer_address(customer: Customer) -> str:
    """The postal address as printed, one line each."""
    lines = [
        customer.address_line1,
        customer.address_line2,
        " ".join(part for part in (customer.postal_code, customer.city) if part),
        customer.country,
    ]
    return "\n".join(line for line in lines if line)


def buyer_country(customer: Customer) -> str:
    """The buyer's country for the invoice. A consumer who never gave one (a reader who
    signed up in the portal) is taken to live in the merchant's country, as a shop
    selling at home would; a company must give its own (its e-invoice is refused
    without)."""
    country = (customer.country or "").upper()
    if not country and customer.kind == Customer.Kind.PERSON:
        return settings.KONTOR_MERCHANT_COUNTRY.upper()
    return country


def customer_snapshot(customer: Customer) -> dict:
    """The buyer as the invoice keeps it (never following later edits): the printed
    address and, for the e-invoice, its parts, the billing e-mail and the buyer's
    reference. The billing run's bulk rows use the same function."""
    return {
        "customer_name": customer.name,
        "customer_address": customer_address(customer),
        "customer_country": buyer_country(customer),
        "customer_vat_id": customer.vat_id or "",
        "customer_street": customer.address_line1 or "",
        "customer_street2": customer.address_line2 or "",
        "customer_postal_code": customer.postal_code or "",
        "customer_city": customer.city or "",
        "customer_email": customer.email or "",
        "buyer_reference": customer.buyer_reference or "",
    }


def payment_snapshot(subscription: Subscription | None) -> dict:
    """How the invoice will be paid, as its e-invoice says (UNTDID 4461): a SEPA
    mandate is collected by direct debit (with its reference), a card is charged, and
    everything else (invoice payment, no subscription) is a transfer to the merchant."""
    method = subscription.payment_method if subscription is not None else None
    kind = method.kind if method is not None else PaymentKind.INVOICE
    if kind == PaymentKind.SEPA_DIRECT_DEBIT:
        return {"payment_means": PaymentMeans.DIRECT_DEBIT,
                "mandate_reference": method.mandate_reference}  # fmt: skip
    if kind == PaymentKind.CARD:
        return {"payment_means": PaymentMeans.CARD, "mandate_reference": ""}
    return {"payment_means": PaymentMeans.CREDIT_TRANSFER, "mandate_reference": ""}


@dataclass
class InvoiceDraft:
    """Everything an invoice says, before it is written (the billing run builds many)."""

    customer: Customer
    currency: str
    lines: Sequence[LineDraft]
    subscription: Subscription | None = None
    billing: str = Invoice.Billing.IN_ADVANCE
    period_start: datetime | None = None
    period_end: datetime | None = None
    kind: str = Invoice.Kind.INVOICE
    credited_invoice: Invoice | None = None
    billing_run_id: int | None = None
    note: str = ""
    extra: dict = field(default_factory=dict)

    def build(self) -> tuple[Invoice, list[InvoiceLine]]:
        """The unsaved invoice (a draft, totals set) and its unsaved lines."""
        customer = self.customer
        reverse_charge = is_reverse_charge(customer)
        invoice = Invoice(
            kind=self.kind,
            customer=customer,
            subscription=self.subscription,
            credited_invoice=self.credited_invoice,
            billing=self.billing,
            period_start=self.period_start,
            period_end=self.period_end,
            currency=self.currency,
            language=customer.language or settings.LANGUAGE_CODE,
            **customer_snapshot(customer),
            **payment_snapshot(self.subscription),
            reverse_charge=reverse_charge,
            billing_run_id=self.billing_run_id,
            note=self.note,
        )
        lines = []
        for position, draft in enumerate(self.lines, start=1):
            rate = ZERO if reverse_charge else draft.tax_rate
            amounts = line_amounts(
                quantity=draft.quantity,
                unit_price=draft.unit_price,
                tax_rate=rate,
                currency=self.currency,
                net=draft.net,
            )
            lines.append(
                InvoiceLine(
                    invoice=invoice,
                    position=position,
                    kind=draft.kind,
                    description=draft.description[:300],
                    product_id=draft.product_id,
                    counting=draft.counting,
                    quantity=draft.quantity,
                    unit_price=draft.unit_price,
                    net_amount=amounts.net,
                    tax_rate=rate,
                    tax_amount=amounts.tax,
                    gross_amount=amounts.gross,
                    ledger_account=draft.ledger_account,
                )
            )
        invoice.net_amount = sum((line.net_amount for line in lines), ZERO)
        invoice.tax_amount = sum((line.tax_amount for line in lines), ZERO)
        invoice.gross_amount = sum((line.gross_amount for line in lines), ZERO)
        return invoice, lines


@transaction.atomic
def invoice_create(*, draft: InvoiceDraft) -> Invoice:
    """Write a draft invoice with its lines (nothing is numbered or sent yet)."""
    invoice, lines = draft.build()
    invoice.save()
    for line in lines:
        line.invoice = invoice
    InvoiceLine.objects.bulk_create(lines)
    return invoice


# --- numbers -------------------------------------------------------------------------


def series_key(kind: str, issued_at: datetime) -> str:
    year = timezone.localtime(issued_at).year
    return f"{'credit' if kind == Invoice.Kind.CREDIT_NOTE else 'invoice'}-{year}"


def format_number(key: str, number: int) -> str:
    """`2026-000123` for invoices, `CN-2026-000001` for credit notes."""
    kind, year = key.rsplit("-", 1)
    prefix = "CN-" if kind == "credit" else ""
    return f"{prefix}{year}-{number:06d}"


def numbers_allocate(*, key: str, count: int) -> list[str]:
    """`count` consecutive numbers of a series, taken under the series row's lock in the
    caller's transaction: if it rolls back, so does the allocation (no gaps), and a
    concurrent issuer waits for the commit (no number twice)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("numbers_allocate must run inside the issuing transaction.")
    NumberSeries.objects.get_or_create(key=key)
    series = NumberSeries.objects.select_for_update().get(key=key)
    first = series.last_number + 1
    NumberSeries.objects.filter(pk=series.pk).update(last_number=F("last_number") + count)
    return [format_number(key, number) for number in range(first, first + count)]


# --- issuing -------------------------------------------------------------------------


@transaction.atomic
def invoice_issue(*, invoice: Invoice, now: datetime | None = None) -> Invoice:
    """Number the draft and make it final: open (or paid when nothing is due), due after
    the payment term; the "invoice issued" event carries the e-mail with the link to
    the PDF, which is rendered after commit and stored (billing.pdf)."""
    now = now or timezone.now()
    invoice = (
        Invoice.objects.select_for_update(of=("self", "customer"))
        .select_related("customer", "credited_invoice")
        .get(pk=invoice.pk)
    )
    if invoice.status != Invoice.Status.DRAFT:
        raise InvoiceError(_("This invoice is issued already."))
    lines = list(invoice.lines.order_by("position"))
    _refuse_unless_einvoice(invoice, lines)  # before a number is taken
    (invoice.number,) = numbers_allocate(key=series_key(invoice.kind, now), count=1)
    invoice.issued_at = now
    invoice.due_at = now + timedelta(days=settings.KONTOR_PAYMENT_TERMS_DAYS)
    invoice.status = Invoice.Status.OPEN
    if invoice.kind == Invoice.Kind.INVOICE and invoice.gross_amount == 0:
        invoice.status, invoice.paid_at = Invoice.Status.PAID, now  # nothing to pay
    try:  # the XML of the numbered invoice against the schema; a refusal rolls back
        einvoice_validate(invoice, lines)
    except EinvoiceError as error:
        raise InvoiceError(str(error)) from error
    invoice.save()
    emit_issued(invoice, now)
    collection_schedule(invoice=invoice, now=now)
    transaction.on_commit(lambda: queue_pdf(invoice.pk))
    return invoice


def _refuse_unless_einvoice(invoice: Invoice, lines: list[InvoiceLine]) -> None:
    """Every issued invoice is an e-invoice: one whose data cannot form a valid
    EN 16931 invoice is not issued, and the message names what is missing."""
    refusal = einvoice_refusal(invoice, lines)
    if refusal:
        raise InvoiceError(refusal)


def queue_pdf(invoice_id: int) -> None:
    async_task("billing.tasks.render_pdf", invoice_id)


def invoice_url(invoice: Invoice) -> str:
    return settings.KONTOR_PUBLIC_URL.rstrip("/") + reverse(
        "billing:invoice_pdf", args=[invoice.public_id]
    )


def issued_event(invoice: Invoice, now: datetime) -> dict:
    """The INVOICE_ISSUED event's fields (payload and the e-mail) for `emit` or a bulk
    insert; the invoice is numbered and has its customer loaded."""
    language = invoice.language or settings.LANGUAGE_CODE
    with override(language):
        total = format_money(invoice.gross_amount, invoice.currency, language)
        due = formats.date_format(timezone.localtime(invoice.due_at), "DATE_FORMAT")
    if not can_mail(invoice.customer.email):
        return {"payload": payload_of(invoice), "mails": []}
    mail = Mail(
        template=MailType.INVOICE_ISSUED,
        to=invoice.customer.email,
        language=language,
        context={
            "invoice_number": invoice.number,
            "total": total,
            "due_date": due,
            "invoice_url": invoice_url(invoice),
            "customer_name": invoice.customer_name,
            "merchant_name": settings.KONTOR_MERCHANT_NAME,
        },
    )
    return {"payload": payload_of(invoice), "mails": [mail]}


def payload_of(invoice: Invoice) -> dict:
    return {
        "invoice": str(invoice.public_id),
        "number": invoice.number,
        "kind": invoice.kind,
        "customer": str(invoice.customer.public_id),
        "subscription": str(invoice.subscription.public_id) if invoice.subscription else None,
        "gross": str(invoice.gross_amount),
        "currency": invoice.currency,
        "due_at": invoice.due_at.isoformat() if invoice.due_at else None,
    }


def can_mail(address: str) -> bool:
    """Whether the invoice e-mail can go to this address. A customer without a usable
    address gets no e-mail (the invoice is in the portal), rather than one bad address
    failing a whole billing chunk."""
    if not address:
        return False
    try:
        validate_email(address)
    except ValidationError:
        logger.warning("No invoice e-mail: %r is not a valid address.", address)
        return False
    return True


def emit_issued(invoice: Invoice, now: datetime) -> None:
    """INVOICE_ISSUED (with the e-mail) for an invoice, CREDIT_NOTE_ISSUED (no e-mail)
    for a credit note."""
    event = issued_event(invoice, now)
    if invoice.kind == Invoice.Kind.CREDIT_NOTE:
        emit(
            type=EventType.CREDIT_NOTE_ISSUED,
            payload={
                **event["payload"],
                "credited_invoice": str(invoice.credited_invoice.public_id),
            },
            subject=invoice,
            occurred_at=now,
        )
        return
    emit(
        type=EventType.INVOICE_ISSUED,
        payload=event["payload"],
        subject=invoice,
        mails=event["mails"],
        occurred_at=now,
    )


# --- credit notes --------------------------------------------------------------------


@transaction.atomic
def credit_note_issue(
    *, invoice: Invoice, reason: str, actor=None, now: datetime | None = None
) -> Invoice:
    """Credit an issued invoice in full: a credit note with every line negated, its own
    number series, referring to the invoice, which becomes void (never because a payment
    failed: only staff correct invoices this way)."""
    now = now or timezone.now()
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.kind != Invoice.Kind.INVOICE or invoice.status == Invoice.Status.DRAFT:
        raise InvoiceError(_("Only an issued invoice can be credited."))
    if invoice.status == Invoice.Status.VOID or invoice.credit_notes.exists():
        raise InvoiceError(_("This invoice has been credited already."))
    if not reason.strip():
        raise InvoiceError(_("Give the reason for the credit note."))
    lines = [
        LineDraft(
            kind=InvoiceLine.Kind.CREDIT,
            description=line.description,
            quantity=-line.quantity,
            unit_price=line.unit_price,
            tax_rate=line.tax_rate,
            product_id=line.product_id,
            counting=line.counting,
            ledger_account=line.ledger_account,
            net=-line.net_amount,
        )
        for line in invoice.lines.order_by("position")
    ]
    draft = InvoiceDraft(
        customer=invoice.customer,
        currency=invoice.currency,
        lines=lines,
        subscription=invoice.subscription,
        billing=invoice.billing,
        period_start=invoice.period_start,
        period_end=invoice.period_end,
        kind=Invoice.Kind.CREDIT_NOTE,
        credited_invoice=invoice,
        note=reason.strip(),
    )
    credit_note = invoice_create(draft=draft)
    Invoice.objects.filter(pk=invoice.pk).update(status=Invoice.Status.VOID)
    record_bulk_change(
        model=Invoice,
        pks=[invoice.pk],
        changes={"status": (invoice.status, Invoice.Status.VOID)},
        operation="credit_note_issue",
    )
    dunning_settle(invoice=invoice, paid=False, now=now)
    return invoice_issue(invoice=credit_note, now=now)


# --- payment -------------------------------------------------------------------------


def invoices_mark_overdue(*, now: datetime | None = None, batch: int = 5000) -> int:
    """Open invoices past their due date become overdue (an hourly schedule; safe to run
    twice, rows someone holds are left for the next run). Payment still settles them."""
    now = now or timezone.now()
    with transaction.atomic():
        ids = list(
            Invoice.objects.select_for_update(skip_locked=True)
            .filter(status=Invoice.Status.OPEN, kind=Invoice.Kind.INVOICE, due_at__lt=now)
            .values_list("pk", flat=True)[:batch]
        )
        return Invoice.objects.filter(pk__in=ids, status=Invoice.Status.OPEN).update(
            status=Invoice.Status.OVERDUE
        )
