"""Issued invoices for the PDF and portal tests, made through billing.services.invoices.

`issue_invoice()` makes the worked example: 10 users x 100.00 at 19 % plus a 41.59 base
fee at 7 %, i.e. net 1,041.59, VAT 192.91, gross 1,234.50, for the first quarter of
2027 (period_end exclusive: the PDF prints 31 March as the last day).
"""

from __future__ import annotations

import subprocess
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from billing.models import Invoice
from billing.services.invoices import InvoiceDraft, LineDraft, invoice_create, invoice_issue
from subscriptions.models import Customer
from tests.subscriptions.factories import CustomerFactory

BERLIN = ZoneInfo("Europe/Berlin")
PERIOD_START = datetime(2027, 1, 1, tzinfo=BERLIN)
PERIOD_END = datetime(2027, 4, 1, tzinfo=BERLIN)
ISSUED_AT = datetime(2027, 4, 1, 6, 0, tzinfo=BERLIN)
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "invoices"


def make_customer(*, language: str = "en", country: str = "DE", **fields) -> Customer:
    defaults = {
        "name": "Universität Musterstadt",
        "address_line1": "Hochschulring 12",
        "address_line2": "Zentrale Beschaffung",
        "postal_code": "12345",
        "city": "Musterstadt",
        "vat_id": "DE987654321" if country == "DE" else "ATU12345678",
    }
    return CustomerFactory(
        company=True, language=language, country=country, **{**defaults, **fields}
    )


def example_lines() -> list[LineDraft]:
    return [
        LineDraft(
            kind="usage",
            description="Digital edition: users",
            quantity=Decimal(10),
            unit_price=Decimal("100.00"),
            tax_rate=Decimal("19.00"),
            counting="any_time",
        ),
        LineDraft(
            kind="base_fee",
            description="Base fee (e-paper archive)",
            quantity=Decimal(1),
            unit_price=Decimal("41.59"),
            tax_rate=Decimal("7.00"),
        ),
    ]


def issue_invoice(
    customer: Customer, *, lines: list[LineDraft] | None = None, now: datetime = ISSUED_AT, **kw
) -> Invoice:
    draft = InvoiceDraft(
        customer=customer,
        currency="EUR",
        lines=lines or example_lines(),
        billing=Invoice.Billing.IN_ARREARS,
        period_start=kw.pop("period_start", PERIOD_START),
        period_end=kw.pop("period_end", PERIOD_END),
        **kw,
    )
    return invoice_issue(invoice=invoice_create(draft=draft), now=now)


def pdf_text(content: bytes) -> str:
    """The PDF's text (poppler's pdftotext), no-break spaces as plain spaces."""
    result = subprocess.run(
        ["pdftotext", "-layout", "-", "-"],  # noqa: S607 (poppler-utils, see scripts/)
        input=content,
        capture_output=True,
        check=True,
    )
    return result.stdout.decode().replace("\xa0", " ").replace("\u202f", " ")


def save_for_review(name: str, content: bytes) -> Path:
    """test-artifacts/invoices/<name>.pdf and its first page as <name>-1.png (pdftoppm),
    to look at."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pdf = ARTIFACTS / f"{name}.pdf"
    pdf.write_bytes(content)
    command = [
        "pdftoppm",
        "-png",
        "-r",
        "80",
        "-f",
        "1",
        "-l",
        "1",
        str(pdf),
        str(ARTIFACTS / name),
    ]
    subprocess.run(command, check=True)  # noqa: S603 (our own arguments)
    return pdf
