"""Invoice and credit-note PDFs (SPEC §4, WeasyPrint).

`render_invoice_pdf` turns an issued invoice into an A4 PDF from
templates/billing/pdf/invoice.html and static/css/invoice-pdf.css, in the invoice's own
language (`invoice.language`, not the viewer's): its strings through gettext under
`translation.override`, money with `format_money` (babel), dates with Django's formats.

The PDF is a Factur-X / ZUGFeRD e-invoice: PDF/A-3b with the invoice's EN 16931 XML
embedded (billing.einvoice, profile KONTOR_EINVOICE_PROFILE).

`invoice_pdf_store` renders it **once** and stores it on `Invoice.pdf`; the task queued
by `invoice_issue` calls it after commit, so a web request normally only reads the file.
`invoice_pdf_bytes` is what downloads use: the stored bytes, storing them first when the
task has not run yet (the fallback), so every download is the same document. The stored
PDF is the document as issued: a later payment or credit note does not rewrite it (the
database allows setting `pdf` once and refuses changing it), the portal shows the
current status beside it.

WeasyPrint is heavy to import: it is imported only where a PDF is rendered, so the
portal pages may use this module's formatting helpers (`format_unit_price`, …).
"""

from __future__ import annotations

import logging
import mimetypes
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from babel import Locale
from babel.numbers import format_currency, format_decimal, format_percent
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.files.base import ContentFile
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from billing.models import Invoice, InvoiceLine
from catalog.models import CorporateContract
from catalog.money import format_money, round_money

logger = logging.getLogger(__name__)

TEMPLATE = "billing/pdf/invoice.html"
STYLESHEET = "css/invoice-pdf.css"
PDF_VARIANT = "pdf/a-3b"
HUNDRED = Decimal(100)

# How a usage line counted its users (InvoiceLine.counting: the contract's setting).
COUNTING = dict(CorporateContract.UserCounting.choices)


@dataclass(frozen=True)
class PdfLine:
    position: int
    description: str
    note: str
    quantity: str
    unit_price: str
    net: str
    tax_rate: str
    tax: str
    gross: str


@dataclass(frozen=True)
class TaxRow:
    rate: str
    net: str
    tax: str
    gross: str


# --- formatting (call under translation.override(language)) -------------------------


def _language(invoice: Invoice) -> str:
    language = (invoice.language or settings.LANGUAGE_CODE).split("-")[0]
    return language if language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


def _date(value: date | None) -> str:
    return formats.date_format(value, "DATE_FORMAT") if value else ""


def _local_date(value: datetime | None) -> date | None:
    return timezone.localtime(value).date() if value else None


def period_last_day(period_end: datetime | None) -> date | None:
    """The last day a half-open period [start, end) includes (end at midnight: the day
    before)."""
    if period_end is None:
        return None
    return (timezone.localtime(period_end) - timedelta(microseconds=1)).date()


def _money(amount: Decimal, currency: str, language: str) -> str:
    return format_money(amount, currency, language)


def format_unit_price(amount: Decimal, currency: str, language: str) -> str:
    """Unit prices keep up to four decimals (0.4950 €) but never show trailing zeros
    beyond the currency's own (2.5000 → 2.50 €)."""
    if amount == round_money(amount, currency):
        return format_money(amount, currency, language)
    return format_currency(
        amount.normalize(), currency, locale=language, decimal_quantization=False
    )


def format_quantity(quantity: Decimal, language: str) -> str:
    return format_decimal(quantity, format="#,##0.###", locale=language)


def format_rate(rate: Decimal, language: str) -> str:
    return format_percent(rate / HUNDRED, locale=language, decimal_quantization=False)


def _lines(invoice: Invoice, lines: list[InvoiceLine], language: str) -> list[PdfLine]:
    cur = invoice.currency
    return [
        PdfLine(
            position=line.position,
            description=line.description,
            note=str(COUNTING.get(line.counting, "")) if line.counting else "",
            quantity=format_quantity(line.quantity, language),
            unit_price=format_unit_price(line.unit_price, cur, language),
            net=_money(line.net_amount, cur, language),
            tax_rate=format_rate(line.tax_rate, language),
            tax=_money(line.tax_amount, cur, language),
            gross=_money(line.gross_amount, cur, language),
        )
        for line in lines
    ]


def _tax_breakdown(invoice: Invoice, lines: list[InvoiceLine], language: str) -> list[TaxRow]:
    """Net, tax and gross per tax rate (highest rate first); sums of rounded lines."""
    sums: dict[Decimal, list[Decimal]] = defaultdict(lambda: [Decimal(0)] * 3)
    for line in lines:
        row = sums[line.tax_rate]
        row[0] += line.net_amount
        row[1] += line.tax_amount
        row[2] += line.gross_amount
    cur = invoice.currency
    return [
        TaxRow(
            rate=format_rate(rate, language),
            net=_money(net, cur, language),
            tax=_money(tax, cur, language),
            gross=_money(gross, cur, language),
        )
        for rate, (net, tax, gross) in sorted(sums.items(), reverse=True)
    ]


def _address_lines(invoice: Invoice, language: str) -> list[str]:
    """The snapshot address; its last line, the country code, as the country's name in
    the invoice's language ("DE" → "Germany" / "Deutschland")."""
    lines = [line for line in invoice.customer_address.splitlines() if line.strip()]
    country = invoice.customer_country.upper()
    if lines and country and lines[-1].strip().upper() == country:
        lines[-1] = Locale.parse(language).territories.get(country, lines[-1])
    return lines


def _collecting_method(invoice: Invoice) -> str:
    """The label of the card or SEPA mandate the amount is collected from, or "" when
    the customer pays by bank transfer (invoice payment, or no subscription)."""
    subscription = invoice.subscription
    method = subscription.payment_method if subscription else None
    if method is None or method.kind == "invoice":
        return ""
    return method.label


def invoice_pdf_context(invoice: Invoice, lines: list[InvoiceLine] | None = None) -> dict:
    """Everything the template prints, formatted in the invoice's language (call under
    `translation.override(invoice.language)`)."""
    language = _language(invoice)
    if lines is None:
        lines = list(invoice.lines.order_by("position"))
    cur = invoice.currency
    is_credit_note = invoice.kind == Invoice.Kind.CREDIT_NOTE
    paid = not is_credit_note and (invoice.status == Invoice.Status.PAID or invoice.amount_due == 0)
    return {
        "invoice": invoice,
        "language": language,
        "is_credit_note": is_credit_note,
        "title": _("Credit note") if is_credit_note else _("Invoice"),
        "merchant": {
            "name": settings.KONTOR_MERCHANT_NAME,
            "address": [part for part in settings.KONTOR_MERCHANT_ADDRESS.split("|") if part],
            "vat_id": settings.KONTOR_MERCHANT_VAT_ID,
            "iban": settings.KONTOR_MERCHANT_IBAN,
            "bic": settings.KONTOR_MERCHANT_BIC,
            "bank": settings.KONTOR_MERCHANT_BANK,
        },
        "customer_address": _address_lines(invoice, language),
        "issue_date": _date(_local_date(invoice.issued_at)),
        "due_date": _date(_local_date(invoice.due_at)),
        "paid_date": _date(_local_date(invoice.paid_at)),
        "period_from": _date(_local_date(invoice.period_start)),
        "period_until": _date(period_last_day(invoice.period_end)),
        "credited_number": invoice.credited_invoice.number if is_credit_note else "",
        "lines": _lines(invoice, lines, language),
        "tax_rows": _tax_breakdown(invoice, lines, language),
        "net": _money(invoice.net_amount, cur, language),
        "tax": _money(invoice.tax_amount, cur, language),
        "gross": _money(invoice.gross_amount, cur, language),
        "amount_due": _money(invoice.amount_due, cur, language),
        "paid": paid,
        "collected_from": "" if paid or is_credit_note else _collecting_method(invoice),
        "credited_amount": _money(-invoice.gross_amount, cur, language),
    }


def static_roots() -> list[Path]:
    """The folders a PDF may read files from: our static files, nothing else."""
    roots = [Path(folder) for folder in settings.STATICFILES_DIRS]
    if settings.STATIC_ROOT:
        roots.append(Path(settings.STATIC_ROOT))
    return [root.resolve() for root in roots]


def static_only_fetcher():
    """A WeasyPrint URL fetcher that serves files inside `static_roots()` and refuses
    everything else: http(s) (an invoice must never make the server fetch a URL, e.g.
    an <img> smuggled into a customer's name: SSRF), other files (file:///etc/passwd),
    and every other scheme. Refused URLs are kept in `.refused` and logged; WeasyPrint
    renders without them. (WeasyPrint is imported here, only where a PDF is made.)"""
    from urllib.parse import urlsplit
    from urllib.request import url2pathname

    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class StaticOnlyFetcher(URLFetcher):
        def __init__(self) -> None:
            super().__init__(allowed_protocols={"file"}, allow_redirects=False, timeout=1)
            self.roots = static_roots()
            self.refused: list[str] = []

        def fetch(self, url, headers=None):
            path = self._static_path(url)
            if path is None:
                self.refused.append(url)
                logger.warning("PDF rendering refused to fetch %s", url[:200])
                raise ValueError(f"Only our own static files may be fetched, not {url[:200]}")
            content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return URLFetcherResponse(
                path.as_uri(), body=path.read_bytes(), headers={"Content-Type": content_type}
            )

        def _static_path(self, url: str) -> Path | None:
            parts = urlsplit(url)
            if parts.scheme.lower() != "file" or parts.netloc not in ("", "localhost"):
                return None
            path = Path(url2pathname(parts.path)).resolve()  # resolves "..", symlinks
            inside = any(path.is_relative_to(root) for root in self.roots)
            return path if inside and path.is_file() else None

    return StaticOnlyFetcher()


def html_to_pdf(html: str, *, pdf_variant: str | None = None) -> bytes:
    """Render our HTML with the invoice stylesheet, fetching only our static files."""
    from weasyprint import CSS, HTML  # heavy: only where a PDF is rendered

    path = finders.find(STYLESHEET)
    if not path:
        raise FileNotFoundError(STYLESHEET)
    fetcher = static_only_fetcher()
    base_url = Path(settings.BASE_DIR).as_uri() + "/"
    document = HTML(string=html, base_url=base_url, url_fetcher=fetcher)
    return document.write_pdf(
        stylesheets=[CSS(filename=path, url_fetcher=fetcher)], pdf_variant=pdf_variant
    )


def render_invoice_pdf(invoice: Invoice) -> bytes:
    """The invoice (or credit note) as an A4 PDF in the invoice's language. The invoice
    must be issued (it prints the number and dates). Takes ~50 ms once WeasyPrint is warm:
    call it from a task, not a request, except as the download's fallback."""
    if invoice.status == Invoice.Status.DRAFT or not invoice.number:
        raise ValueError("Only an issued invoice has a PDF.")
    lines = list(invoice.lines.order_by("position"))
    with translation.override(_language(invoice)):
        html = render_to_string(TEMPLATE, invoice_pdf_context(invoice, lines))
    from billing.einvoice import facturx_pdf

    # PDF/A-3 is the archival format that may carry attachments: the e-invoice XML.
    pdf = html_to_pdf(html, pdf_variant=PDF_VARIANT)
    return facturx_pdf(invoice=invoice, lines=lines, pdf=pdf)


# --- storing ---------------------------------------------------------------------------


def invoice_pdf_store(*, invoice_id: int) -> None:
    """Render an issued invoice's PDF and store it, once. Skips drafts, invoices that
    have one, and ids that do not exist (the task is safe to run twice).

    Concurrent calls may both render; the conditional update (`pdf` still empty) lets
    exactly one name into the row, and the loser deletes its file. The database trigger
    would refuse changing a stored `pdf` anyway."""
    invoice = (
        Invoice.objects.select_related("credited_invoice", "subscription__payment_method")
        .exclude(status=Invoice.Status.DRAFT)
        .filter(pk=invoice_id)
        .first()
    )
    if invoice is None or invoice.pdf:
        return
    pdf_save_once(invoice=invoice, content=render_invoice_pdf(invoice))


def pdf_save_once(*, invoice: Invoice, content: bytes) -> bool:
    """Write the file, then point the row at it unless a PDF was stored meanwhile (the
    conditional update's row count says which); the loser deletes its file. True when
    this call's file is the stored one."""
    invoice.pdf.save(f"{invoice.number}.pdf", ContentFile(content), save=False)
    name = invoice.pdf.name
    stored = (
        Invoice.objects.filter(pk=invoice.pk)
        .filter(Q(pdf="") | Q(pdf__isnull=True))
        .update(pdf=name)
    )
    if not stored:  # another worker stored its copy first: keep that one
        invoice.pdf.storage.delete(name)
    return bool(stored)


def invoice_pdf_bytes(*, invoice: Invoice) -> bytes:
    """The stored PDF's bytes; renders and stores it first when it is missing (the task
    has not run yet), so every download is the same document."""
    if not invoice.pdf:
        invoice_pdf_store(invoice_id=invoice.pk)
        invoice.refresh_from_db(fields=["pdf"])
    storage, name = invoice.pdf.storage, invoice.pdf.name
    if not storage.exists(name):
        # The file was lost from the storage (a restored database without its media).
        # The row cannot point elsewhere: write a new rendering under the same name.
        logger.error(
            "Stored PDF %s of invoice %s is missing; rendering it again.", name, invoice.pk
        )
        storage.save(name, ContentFile(render_invoice_pdf(invoice)))
    with storage.open(name, "rb") as file:
        return file.read()
