"""Finance exports (billing.exports): columns and values, CSV and XLSX, formula
neutralisation, filters, the Finance exports page and the large-export task path."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import openpyxl
import pytest
from django.urls import reverse

from billing.admin.invoices import InvoiceAdmin, InvoiceLineAdmin
from subscriptions.roles import CATALOG_MANAGER, CUSTOMER_SUPPORT, FINANCE
from tests.billing.factories import EVIL_DESCRIPTIONS, EVIL_NAME, FinanceData, staff_member

pytestmark = pytest.mark.django_db

CSV, XLSX = "0", "1"  # the export form's format choices (billing.exports.EXPORT_FORMATS)
INVOICE_COLUMNS = [
    "number",
    "kind",
    "status",
    "billing",
    "customer",
    "customer_email",
    "customer_country",
    "customer_vat_id",
    "reverse_charge",
    "subscription",
    "credited_invoice",
    "period_start",
    "period_end",
    "currency",
    "net",
    "tax",
    "gross",
    "amount_paid",
    "issued_at",
    "due_at",
    "paid_at",
]


@pytest.fixture
def data() -> FinanceData:
    return FinanceData()


@pytest.fixture
def finance(client):
    client.force_login(staff_member(FINANCE, "finance@kontor.example"))
    return client


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def export_post_data(admin_class, resource_index: int, fmt: str) -> dict:
    """The import-export form as the browser posts it: a format, a resource and every
    field of that resource ticked."""
    resource = admin_class.resource_classes[resource_index]
    data = {"format": fmt, "resource": str(resource_index)}
    for name in resource().get_export_order():
        data[f"{resource.__name__.lower()}_{name}"] = "on"
    return data


def admin_export(client, admin_class, *, resource: int = 0, fmt: str = CSV, query: str = ""):
    model = admin_class.resource_classes[0]._meta.model._meta.model_name
    url = reverse(f"admin:billing_{model}_export") + query
    return client.post(url, export_post_data(admin_class, resource, fmt))


def csv_rows(response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"].startswith("text/csv")
    content = b"".join(response.streaming_content) if response.streaming else response.content
    assert content.startswith(b"\xef\xbb\xbf")  # the BOM: Excel reads it as UTF-8
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"), newline="")))


def xlsx_sheet(response):
    assert response.status_code == 200, response.content[:500]
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return openpyxl.load_workbook(io.BytesIO(content)).active


def xlsx_rows(response) -> list[dict]:
    rows = list(xlsx_sheet(response).iter_rows(values_only=True))
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def by(rows, column="number") -> dict:
    return {row[column]: row for row in rows}


# --- invoices ------------------------------------------------------------------------


def test_invoice_csv_has_the_columns_and_values_of_each_invoice(finance, data):
    rows = csv_rows(admin_export(finance, InvoiceAdmin))

    assert list(rows[0]) == INVOICE_COLUMNS
    assert len(rows) == 4
    corporate = by(rows)[data.corporate.number]
    assert corporate == {
        "number": data.corporate.number,
        "kind": "invoice",
        "status": "open",
        "billing": "in_arrears",
        "customer": "Uni Musterstadt",
        "customer_email": "billing@uni.example",
        "customer_country": "DE",
        "customer_vat_id": "DE123456789",
        "reverse_charge": "0",  # a German company: no reverse charge
        "subscription": str(data.subscription.public_id),
        "credited_invoice": "",
        "period_start": "2027-01-01 01:00",
        "period_end": "2027-02-01 01:00",
        "currency": "EUR",
        "net": "27.50",
        "tax": "5.23",
        "gross": "32.73",
        "amount_paid": "0.00",
        "issued_at": "2027-02-01 10:00",
        "due_at": "2027-02-15 10:00",
        "paid_at": "",
    }
    note = by(rows)[data.credit_note.number]
    assert (note["kind"], note["credited_invoice"]) == ("credit_note", data.credited.number)
    assert by(rows)[data.credited.number]["status"] == "void"


def test_credit_note_amounts_stay_parseable_numbers_in_csv(finance, data):
    note = by(csv_rows(admin_export(finance, InvoiceAdmin)))[data.credit_note.number]

    # Negative amounts are numbers, not formulas: never prefixed, they parse as is.
    assert (note["net"], note["tax"], note["gross"]) == ("-12.50", "-2.38", "-14.88")
    assert Decimal(note["gross"]) == Decimal("-14.88")


def test_invoice_xlsx_writes_amounts_as_numbers_and_dates_as_dates(finance, data):
    sheet = xlsx_sheet(admin_export(finance, InvoiceAdmin, fmt=XLSX))
    rows = list(sheet.iter_rows(values_only=True))
    header = list(rows[0])
    note = next(row for row in rows if row[0] == data.credit_note.number)

    assert header == INVOICE_COLUMNS
    assert note[header.index("gross")] == pytest.approx(-14.88)
    assert isinstance(note[header.index("gross")], float)
    assert note[header.index("issued_at")].isoformat() == "2027-03-02T10:00:00"


def test_formulas_are_neutralised_in_csv(finance, data):
    invoices = by(csv_rows(admin_export(finance, InvoiceAdmin)))
    lines = csv_rows(admin_export(finance, InvoiceLineAdmin))

    assert invoices[data.evil.number]["customer"] == "'" + EVIL_NAME
    evil_lines = [row for row in lines if row["invoice"] == data.evil.number]
    assert [row["description"] for row in evil_lines] == ["'" + text for text in EVIL_DESCRIPTIONS]
    assert {row["customer"] for row in evil_lines} == {"'" + EVIL_NAME}


def test_formulas_are_neutralised_in_xlsx_and_stored_as_text(finance, data):
    sheet = xlsx_sheet(admin_export(finance, InvoiceLineAdmin, fmt=XLSX))
    header = [cell.value for cell in sheet[1]]
    column = header.index("description") + 1
    cells = [
        row[column - 1] for row in sheet.iter_rows(min_row=2) if row[0].value == data.evil.number
    ]

    # Python's XML parser reads a stored CR back as LF, lxml (installed with the
    # e-invoice libraries, and then used by openpyxl) keeps it; the prefix is what matters.
    assert [cell.value.replace("\r", "\n") for cell in cells] == [
        "'" + text.replace("\r", "\n") for text in EVIL_DESCRIPTIONS
    ]
    assert {cell.data_type for cell in cells} == {"s"}  # strings, not formulas ("f")


def test_export_follows_the_list_filters_and_search(finance, data):
    credit_notes = csv_rows(admin_export(finance, InvoiceAdmin, query="?kind__exact=credit_note"))
    paid = csv_rows(admin_export(finance, InvoiceAdmin, query="?status__exact=paid"))
    searched = csv_rows(admin_export(finance, InvoiceAdmin, query="?q=uni.example"))

    assert [row["number"] for row in credit_notes] == [data.credit_note.number]
    assert [row["number"] for row in paid] == [data.evil.number]
    assert [row["number"] for row in searched] == [data.corporate.number]


def test_credit_notes_export_is_the_invoice_export_preset_to_credit_notes(finance, data):
    rows = csv_rows(admin_export(finance, InvoiceAdmin, resource=1))

    assert list(rows[0]) == INVOICE_COLUMNS
    assert [row["number"] for row in rows] == [data.credit_note.number]


def test_payments_export_is_the_payment_state_of_issued_invoices(finance, data):
    rows = csv_rows(admin_export(finance, InvoiceAdmin, resource=2))

    assert list(rows[0]) == [
        "number",
        "customer",
        "currency",
        "gross",
        "amount_paid",
        "amount_due",
        "paid_at",
        "status",
        "due_at",
    ]
    assert sorted(by(rows)) == sorted(
        [data.corporate.number, data.evil.number, data.credited.number]
    )
    assert by(rows)[data.evil.number] == {
        "number": data.evil.number,
        "customer": "'" + EVIL_NAME,
        "currency": "EUR",
        "gross": "5.95",
        "amount_paid": "5.95",
        "amount_due": "0.00",
        "paid_at": "2027-02-03 11:00",
        "status": "paid",
        "due_at": "2027-02-16 10:00",
    }


# --- invoice lines -------------------------------------------------------------------


def test_invoice_lines_carry_the_reporting_tags_of_their_contract(finance, data):
    rows = csv_rows(admin_export(finance, InvoiceLineAdmin))
    corporate = [row for row in rows if row["invoice"] == data.corporate.number]

    assert list(rows[0]) == [
        "invoice",
        "invoice_kind",
        "invoice_status",
        "issued_at",
        "customer",
        "position",
        "kind",
        "description",
        "product",
        "product_name",
        "users_counted",
        "quantity",
        "unit_price",
        "net",
        "tax_rate",
        "tax",
        "gross",
        "currency",
        "ledger_account",
        "reporting_tags",
    ]
    assert corporate[0] == {
        "invoice": data.corporate.number,
        "invoice_kind": "invoice",
        "invoice_status": "open",
        "issued_at": "2027-02-01 10:00",
        "customer": "Uni Musterstadt",
        "position": "1",
        "kind": "usage",
        "description": "Users (active at any time)",
        "product": "digital",
        "product_name": "Digital edition",
        "users_counted": "",
        "quantity": "3.000",
        "unit_price": "2.5000",
        "net": "7.50",
        "tax_rate": "19.00",
        "tax": "1.43",
        "gross": "8.93",
        "currency": "EUR",
        "ledger_account": "8400",
        "reporting_tags": "campus; library",
    }
    assert (corporate[1]["kind"], corporate[1]["reporting_tags"]) == ("base_fee", "")
    assert len(rows) == 2 + 5 + 1 + 1


def test_invoice_line_export_follows_its_list_filters(finance, data):
    rows = csv_rows(
        admin_export(finance, InvoiceLineAdmin, query="?invoice__kind__exact=credit_note")
    )

    assert [(row["invoice"], row["net"]) for row in rows] == [(data.credit_note.number, "-12.50")]


# --- the Finance exports page --------------------------------------------------------


def finance_export(client, export: str, fmt: str = "csv", **filters):
    url = reverse("admin:billing_finance_exports")
    return client.post(url, {"export": export, "format": fmt, **filters})


def test_finance_exports_page_lists_the_six_exports(finance):
    response = finance.get(reverse("admin:billing_finance_exports"))

    assert response.status_code == 200
    assert [key for key, _ in response.context["form"].fields["export"].choices] == [
        "invoices",
        "invoice_lines",
        "credit_notes",
        "payments",
        "subscription_log",
        "coupon_redemptions",
    ]


def test_subscription_log_export(finance, data):
    rows = csv_rows(finance_export(finance, "subscription_log"))

    assert len(rows) == 1
    (row,) = rows
    assert list(row) == [
        "at",
        "account",
        "subscription",
        "customer",
        "user_email",
        "product",
        "action",
        "via",
        "actor",
    ]
    entry = data.seat_user_log_entry()
    assert row == {
        "at": "2027-01-10 09:00",
        "account": str(entry.seat_account.public_id),
        "subscription": str(entry.seat_account.subscription.public_id),
        "customer": entry.seat_account.subscription.customer.name,
        "user_email": "reader@uni.example",
        "product": entry.product.code,
        "action": "started",
        "via": "staff",
        "actor": "",
    }


def test_coupon_redemption_export_in_xlsx(finance, data):
    (row,) = xlsx_rows(finance_export(finance, "coupon_redemptions", "xlsx"))

    assert row == {
        "redeemed_at": row["redeemed_at"],
        "code": data.redemption.code.code,
        "campaign": data.redemption.campaign.name,
        "kind": "coupon",
        "customer": "'" + EVIL_NAME,
        "customer_email": "evil@example.com",
        "subscription": str(data.redemption.subscription.public_id),
        "list_price": 9.9,
        "discount_per_period": 1.98,
        "currency": "EUR",
        "periods": 3,
        "redeemed_by": None,
    }
    assert row["redeemed_at"].isoformat() == "2027-01-20T13:00:00"


def test_finance_export_date_range_and_status(finance, data):
    february = csv_rows(
        finance_export(finance, "invoices", date_from="2027-02-01", date_until="2027-02-28")
    )
    open_ = csv_rows(finance_export(finance, "invoices", status="open"))
    march_lines = csv_rows(finance_export(finance, "invoice_lines", date_from="2027-03-01"))

    assert sorted(row["number"] for row in february) == sorted(
        [data.corporate.number, data.evil.number]
    )
    # An issued credit note is open too (the invoices export includes credit notes).
    assert sorted(row["number"] for row in open_) == sorted(
        [data.corporate.number, data.credit_note.number]
    )
    assert sorted(row["invoice"] for row in march_lines) == sorted(
        [data.credited.number, data.credit_note.number]
    )


def test_finance_export_refuses_a_range_that_ends_before_it_starts(finance, data):
    response = finance_export(finance, "invoices", date_from="2027-03-01", date_until="2027-02-01")

    assert response.status_code == 200
    assert response.context["form"].errors == {"date_until": ["The end is before the start."]}


def test_staff_see_only_the_exports_they_may_read(client, data):
    client.force_login(staff_member(CATALOG_MANAGER, "catalog@kontor.example"))

    page = client.get(reverse("admin:billing_finance_exports"))
    refused = finance_export(client, "invoices")

    assert [key for key, _ in page.context["form"].fields["export"].choices] == [
        "subscription_log",
        "coupon_redemptions",
    ]
    assert refused.status_code == 200  # the form again, with the choice refused
    assert "export" in refused.context["form"].errors


def test_customer_support_may_export_what_they_may_read(client, data):
    client.force_login(staff_member(CUSTOMER_SUPPORT, "support@kontor.example"))

    rows = csv_rows(admin_export(client, InvoiceAdmin))

    assert len(rows) == 4


# --- large exports run as a task -----------------------------------------------------


def test_a_large_export_runs_as_a_task_with_the_same_rows(finance, data, settings, media):
    small = csv_rows(admin_export(finance, InvoiceAdmin, query="?kind__exact=invoice"))
    settings.KONTOR_EXPORT_SYNC_ROWS = 2

    queued = admin_export(finance, InvoiceAdmin, query="?kind__exact=invoice")

    assert queued.status_code == 302
    job_url = queued["Location"]
    page = finance.get(job_url)
    assert page.status_code == 200
    assert page.context["ready"] is True
    assert "3 rows" in page.content.decode()
    download = finance.get(job_url + "download/")
    assert download["Content-Disposition"].startswith('attachment; filename="invoice-')
    assert csv_rows(download) == small


def test_a_large_xlsx_export_from_the_finance_page_runs_as_a_task(finance, data, settings, media):
    small = xlsx_rows(finance_export(finance, "invoice_lines", "xlsx"))
    settings.KONTOR_EXPORT_SYNC_ROWS = 2

    queued = finance_export(finance, "invoice_lines", "xlsx")
    download = finance.get(queued["Location"] + "download/")

    assert queued.status_code == 302
    assert xlsx_rows(download) == small
    assert len(small) == 9


def test_only_the_requesting_user_sees_an_export_job(finance, client, data, settings, media):
    settings.KONTOR_EXPORT_SYNC_ROWS = 0
    job_url = admin_export(finance, InvoiceAdmin)["Location"]
    other = staff_member(FINANCE, "other.finance@kontor.example")
    client.force_login(other)

    assert client.get(job_url).status_code == 404
    assert client.get(job_url + "download/").status_code == 404
