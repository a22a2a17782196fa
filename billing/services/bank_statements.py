"""Importing a bank statement (CSV) and matching its lines to open invoices.

The file has a header row naming the columns date, amount, reference and (optional)
payer; the German names banks use (Buchungstag, Betrag, Verwendungszweck,
Auftraggeber/Zahlungspflichtiger …) are understood too, as are `;` or tab separators,
dates as 2027-04-03 or 03.04.2027, and amounts as 1234.50, 1.234,50 or 1,234.50.
A file with any unreadable row is refused as a whole, naming each bad row, and nothing
is stored; so is one the upload gate refuses (catalog.uploads: over 10 MB or 50,000
rows, a binary file).

Each incoming line (amount > 0) whose reference contains the number of an open or
overdue invoice is paid onto it: in full when the amounts agree (paid in full), as a
part payment when it is less (the invoice stays open with the rest due). Everything
else waits for staff in the review list: no invoice number, an invoice paid already, an
amount above what is due. Outgoing lines are ignored. A booking that an earlier
statement contained already (bank exports overlap) is recognised and not paid twice.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.exceptions import InvoiceError
from billing.models import BankStatement, BankStatementLine, Invoice, Payment
from billing.services.payments import PAYABLE, payment_record
from catalog.uploads import csv_text

MAX_ERRORS = 10
COLUMNS = {
    "date": ("date", "booking date", "buchungstag", "buchungsdatum", "datum", "valuta"),
    "amount": ("amount", "betrag", "umsatz", "betrag (eur)"),
    "reference": (
        "reference",
        "purpose",
        "remittance information",
        "verwendungszweck",
        "referenz",
    ),
    "payer": ("payer", "name", "auftraggeber", "zahlungspflichtiger", "counterparty"),
}
INVOICE_NUMBER = re.compile(r"(?<![\w-])(\d{4}-\d{6})(?!\d)")


class StatementRefused(InvoiceError):
    """The file cannot be imported; `errors` lists what is wrong (nothing was stored)."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__(" ".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class StatementRow:
    row: int
    booked_on: date
    amount: Decimal
    reference: str
    payer: str


# --- reading -------------------------------------------------------------------------


def statement_rows(content: bytes) -> list[StatementRow]:
    """The rows of a statement file, or StatementRefused naming every problem."""
    try:
        text = csv_text(content, fallback_encoding="cp1252")  # many German bank exports
    except ValidationError as refused:
        raise StatementRefused(refused.messages) from None
    reader = csv.reader(io.StringIO(text), _dialect(text))
    header = next(reader, None)
    columns = _columns(header or [])
    rows, errors = [], []
    for number, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        try:
            rows.append(_row(number, cells, columns))
        except ValueError as error:
            errors.append(str(error))
    if errors:
        raise StatementRefused(errors[:MAX_ERRORS])
    if not rows:
        raise StatementRefused([_("The file has no bookings.")])
    return rows


def _dialect(text: str):
    try:
        return csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        return csv.excel


def _columns(header: list[str]) -> dict[str, int]:
    names = [cell.strip().lower() for cell in header]
    found = {}
    for field, aliases in COLUMNS.items():
        index = next((i for i, name in enumerate(names) if name in aliases), None)
        if index is not None:
            found[field] = index
    missing = [field for field in ("date", "amount", "reference") if field not in found]
    if missing:
        raise StatementRefused(
            [
                _(
                    "The first row must name the columns date, amount, reference and "
                    "payer; missing: %(missing)s."
                )
                % {"missing": ", ".join(missing)}
            ]
        )
    return found


def _row(number: int, cells: list[str], columns: dict[str, int]) -> StatementRow:
    def cell(field: str) -> str:
        index = columns.get(field)
        return cells[index].strip() if index is not None and index < len(cells) else ""

    return StatementRow(
        row=number,
        booked_on=_date(number, cell("date")),
        amount=_amount(number, cell("amount")),
        reference=cell("reference")[:300],
        payer=cell("payer")[:140],
    )


def _date(row: int, text: str) -> date:
    for pattern in ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y", "%d.%m.%y"):
        try:
            return datetime.strptime(text, pattern).date()  # noqa: DTZ007 (a date only)
        except ValueError:
            continue
    raise ValueError(
        _('Row %(row)s: "%(value)s" is not a date (use 2027-04-03 or 03.04.2027).')
        % {"row": row, "value": text}
    )


def _amount(row: int, text: str) -> Decimal:
    compact = text.replace(" ", "").replace("\u00a0", "").replace("€", "").replace("EUR", "")
    if "," in compact and "." in compact:
        decimal_mark = "," if compact.rfind(",") > compact.rfind(".") else "."
        thousands = "." if decimal_mark == "," else ","
        compact = compact.replace(thousands, "").replace(decimal_mark, ".")
    else:
        compact = compact.replace(",", ".")
    try:
        amount = Decimal(compact)
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite() or amount.as_tuple().exponent < -2:
        raise ValueError(
            _('Row %(row)s: "%(value)s" is not an amount.') % {"row": row, "value": text}
        )
    return amount.quantize(Decimal("0.01"))


# --- importing -----------------------------------------------------------------------


def bank_statement_import(
    *, content: bytes, filename: str, actor=None, now: datetime | None = None
) -> BankStatement:
    """Store a statement and match its lines (see the module docstring); all or
    nothing."""
    now = now or timezone.now()
    rows = statement_rows(content)
    try:
        with transaction.atomic():
            statement = BankStatement.objects.create(
                filename=filename[:200], imported_at=now, imported_by=actor
            )
            known = _known_fingerprints(rows)
            invoices = _invoices_named(rows)
            for row, fingerprint in zip(rows, _fingerprints(rows), strict=True):
                line = BankStatementLine(
                    statement=statement,
                    row=row.row,
                    booked_on=row.booked_on,
                    amount=row.amount,
                    reference=row.reference,
                    payer=row.payer,
                    fingerprint=fingerprint,
                )
                if fingerprint in known:
                    line.status = BankStatementLine.Status.DUPLICATE
                    line.note = _("This booking was imported before.")
                    line.save()
                else:
                    _match(line, invoices, actor, now)
    except IntegrityError:
        raise StatementRefused(
            [_("The same bookings were being imported at the same moment; try again.")]
        ) from None
    return statement


def _fingerprints(rows: list[StatementRow]) -> list[str]:
    """Identical bookings on one statement are told apart by their order."""
    seen: Counter = Counter()
    prints = []
    for row in rows:
        key = f"{row.booked_on}|{row.amount}|{row.reference}|{row.payer}"
        seen[key] += 1
        prints.append(hashlib.sha256(f"{key}|{seen[key]}".encode()).hexdigest())
    return prints


def _known_fingerprints(rows: list[StatementRow]) -> set[str]:
    return set(
        BankStatementLine.objects.filter(fingerprint__in=_fingerprints(rows))
        .exclude(status=BankStatementLine.Status.DUPLICATE)
        .values_list("fingerprint", flat=True)
    )


def _invoices_named(rows: list[StatementRow]) -> dict[str, Invoice]:
    numbers = {n for row in rows for n in INVOICE_NUMBER.findall(row.reference)}
    return {
        invoice.number: invoice
        for invoice in Invoice.objects.filter(number__in=numbers, kind=Invoice.Kind.INVOICE)
    }


def _match(line: BankStatementLine, invoices: dict[str, Invoice], actor, now) -> None:
    S = BankStatementLine.Status
    if line.amount <= 0:
        line.status, line.note = S.IGNORED, _("Outgoing payment.")
        line.save()
        return
    named = [invoices[n] for n in INVOICE_NUMBER.findall(line.reference) if n in invoices]
    invoice = next((i for i in named if i.status in PAYABLE), None)
    line.invoice = invoice or (named[0] if named else None)
    if invoice is None:
        line.status = S.REVIEW
        line.note = (
            _("Invoice %(number)s is not open.") % {"number": named[0].number}
            if named
            else _("No open invoice's number in the reference.")
        )
        line.save()
        return
    due = invoice.amount_due
    if line.amount > due:
        line.status = S.REVIEW
        line.note = _("%(amount)s is more than the %(due)s due.") % {
            "amount": line.amount,
            "due": due,
        }
        line.save()
        return
    line.status = S.MATCHED if line.amount == due else S.PARTIAL
    line.payment = _pay(invoice, line, actor, now)
    line.save()
    # The invoice as paid now (read under its lock), for later lines naming it.
    invoices[invoice.number] = line.payment.invoice


def _pay(invoice: Invoice, line: BankStatementLine, actor, now) -> Payment:
    return payment_record(
        invoice=invoice,
        amount=line.amount,
        method=Payment.Method.BANK_TRANSFER,
        source=Payment.Source.BANK_STATEMENT,
        reference=line.reference,
        payer=line.payer,
        actor=actor,
        now=now,
    )


# --- review --------------------------------------------------------------------------


@transaction.atomic
def bank_line_assign(
    *, line: BankStatementLine, invoice_number: str, actor=None, now: datetime | None = None
) -> BankStatementLine:
    """Staff pay a line under review onto the invoice they name."""
    now = now or timezone.now()
    line = BankStatementLine.objects.select_for_update().get(pk=line.pk)
    if line.status != BankStatementLine.Status.REVIEW:
        raise InvoiceError(_("Only a line under review can be assigned."))
    invoice = Invoice.objects.filter(
        number=invoice_number.strip(), kind=Invoice.Kind.INVOICE
    ).first()
    if invoice is None:
        raise InvoiceError(_("There is no invoice %(number)s.") % {"number": invoice_number})
    line.payment = _pay(invoice, line, actor, now)  # refuses a settled invoice or too much
    line.invoice, line.status = invoice, BankStatementLine.Status.ASSIGNED
    line.note = _("Assigned by %(who)s.") % {"who": actor or _("staff")}
    line.save()
    return line


@transaction.atomic
def bank_line_ignore(*, line: BankStatementLine, note: str = "", actor=None) -> BankStatementLine:
    """Staff decide a line under review is not an invoice payment (a refund to do, a
    payment for something else)."""
    line = BankStatementLine.objects.select_for_update().get(pk=line.pk)
    if line.status != BankStatementLine.Status.REVIEW:
        raise InvoiceError(_("Only a line under review can be ignored."))
    line.status = BankStatementLine.Status.IGNORED
    line.note = (note.strip() or _("Ignored by %(who)s.") % {"who": actor or _("staff")})[:300]
    line.save()
    return line
