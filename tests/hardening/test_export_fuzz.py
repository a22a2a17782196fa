"""Every CSV and XLSX export, fuzzed with formula-looking text (issue 10, point 10).

Hypothesis writes hostile text (a formula prefix, `=`, `+`, `-`, `@`, tab or CR,
then anything, control characters included) into every text field an export carries:
customer and product names, line descriptions, ledger accounts, reporting tags, user
names, campaign names, credit-note reasons. Then every export is downloaded the way
staff or a customer would, through the admin, the Finance exports page, the queued
large-export task, the portal and the reports, and every cell is read back:

- no text cell begins with a formula prefix (in CSV a cell may begin with `-` only
  when it is a number, such as a credit note's `-12.50`; in XLSX only numbers are
  numbers, and text never begins with a prefix);
- each export that carries a planted field contains it (so the check saw it);
- XLSX never fails on control characters a spreadsheet cannot hold (they are
  replaced), where the export used to answer with an error.

The inventory test fails when product code gains an export this harness does not
download: a new CSV writer, import-export resource, XLSX writer or chart.

NUL is neutralised too (`catalog.spreadsheets`), but PostgreSQL cannot store it in a
text column, so it reaches no export from the database; `tests/catalog/test_spreadsheets.py`
covers it at the function every export uses.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

import openpyxl
import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from billing.admin.invoices import InvoiceAdmin, InvoiceLineAdmin
from billing.exports import FINANCE_EXPORTS, RESOURCES
from billing.models import InvoiceLine
from billing.services.invoices import credit_note_issue
from billing.services.payments import invoice_mark_paid
from catalog.spreadsheets import FORMULA_PREFIXES
from coupons.models import Code
from reports.dashboard import CHARTS
from seats.services.seats import user_subscription_start
from subscriptions.models import User
from subscriptions.services.corporate import corporate_subscription_create
from tests.billing.factories import line, make_invoice, make_redemption
from tests.coupons.factories import make_campaign
from tests.factories import (
    CorporateContractFactory,
    CorporateOfferFactory,
    ProductFactory,
    ReportingTagFactory,
)
from tests.seats.factories import SeatAccountFactory, UserFactory
from tests.subscriptions.factories import CustomerFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
# What PostgreSQL can store: every prefix but NUL (see the module docstring).
STORABLE_PREFIXES = tuple(p for p in FORMULA_PREFIXES if p != "\0")
NUMBER = re.compile(r"-?\d+(\.\d+)?")
_worlds = itertools.count(1)


# --- the hostile data ------------------------------------------------------------------


def hostile_text() -> st.SearchStrategy[str]:
    """A formula prefix, then up to 20 characters of anything PostgreSQL can store
    (control characters, quotes, separators and line breaks included)."""
    body = st.text(
        alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="\0"),
        max_size=20,
    )
    return st.builds(lambda prefix, rest: prefix + rest, st.sampled_from(STORABLE_PREFIXES), body)


SLOTS = 8  # text fields planted per world


@dataclass
class World:
    """One payload per text field, each ending in a token that is unique to this world,
    so an export's cells show which planted values reached it."""

    token: str
    corporate_id: object
    account_id: object
    account_admin: User


def plant(payloads: list[str]) -> World:
    n = next(_worlds)
    token = f"Zq{n}Zq"
    texts = [f"{payload}{token}" for payload in payloads]
    customer_name, product_name, description, tag, first_name, campaign, reason, ledger = texts

    product = ProductFactory(code=f"fuzz-{n}", name=product_name[:200])
    contract = CorporateContractFactory(
        product=product, reporting_tags=[ReportingTagFactory(name=tag[:64])]
    )
    corporate = CustomerFactory(company=True, name=customer_name, email=f"corp{n}@fuzz.example")
    admin = User.objects.create_user(
        email=f"admin{n}@fuzz.example", password="pw-fuzz-1", customer=corporate
    )
    corporate.main_user = admin
    corporate.save(update_fields=["main_user"])
    subscription = corporate_subscription_create(
        customer=corporate,
        corporate_offer=CorporateOfferFactory(contracts=[contract]),
        now=datetime(2027, 1, 1, tzinfo=UTC),
    )
    make_invoice(
        customer=corporate,
        subscription=subscription,
        period_start=datetime(2027, 1, 1, tzinfo=UTC),
        period_end=datetime(2027, 2, 1, tzinfo=UTC),
        lines=[
            line(
                description,
                "3",
                "2.50",
                kind=InvoiceLine.Kind.USAGE,
                product_id=product.pk,
                ledger_account=ledger[:20],
            )
        ],
        now=datetime(2027, 2, 1, 9, 0, tzinfo=UTC),
    )
    consumer = CustomerFactory(name=customer_name, email=f"reader{n}@fuzz.example")
    paid = make_invoice(customer=consumer, lines=[line(description, "1", "1.00")])
    invoice_mark_paid(invoice=paid, now=datetime(2027, 2, 3, 10, 0, tzinfo=UTC))
    credited = make_invoice(customer=consumer, lines=[line(description, "1", "12.50")])
    credit_note_issue(invoice=credited, reason=reason, now=datetime(2027, 3, 2, 9, 0, tzinfo=UTC))

    account = SeatAccountFactory(
        maximum_users=5,
        subscription__customer=corporate,
        subscription__main_user=admin,
        subscription__offer__product=product,
        subscription__products=1,
    )
    seat_user = UserFactory(email=f"user{n}@fuzz.example", first_name=first_name[:150])
    user_subscription_start(
        account=account, user=seat_user, via="staff", now=datetime(2027, 1, 10, 8, 0, tzinfo=UTC)
    )
    hostile_campaign = make_campaign(name=campaign[:200])
    make_redemption(
        code=hostile_campaign.codes.order_by("id").first(),
        customer=consumer,
        subscription=SubscriptionFactory(customer=consumer),
    )
    return World(
        token=token,
        corporate_id=subscription.public_id,
        account_id=account.public_id,
        account_admin=admin,
    )


# --- every export ------------------------------------------------------------------------


@dataclass(frozen=True)
class Download:
    """One export as someone downloads it: `fetch(client, world)` returns the response
    (after following a queued job to its file); `planted` is False for exports whose
    columns carry none of the planted fields (their cells are still checked)."""

    name: str
    fmt: str
    fetch: object
    planted: bool = True
    who: str = "staff"  # or "customer": the world's corporate admin in the portal


def _admin_export(admin_class, index: int, fmt: str):
    def fetch(client, world):
        resource = admin_class.resource_classes[index]
        data = {"format": "0" if fmt == "csv" else "1", "resource": str(index)}
        for name in resource().get_export_order():
            data[f"{resource.__name__.lower()}_{name}"] = "on"
        model = admin_class.resource_classes[0]._meta.model._meta.model_name
        return client.post(reverse(f"admin:billing_{model}_export"), data)

    return fetch


def _finance_page(key: str, fmt: str):
    def fetch(client, world):
        return client.post(reverse("admin:billing_finance_exports"), {"export": key, "format": fmt})

    return fetch


def _queued(fetch_small):
    """The same export above the synchronous limit: queued as a task (run inline in
    tests) and downloaded from the job page."""

    def fetch(client, world):
        from django.conf import settings as django_settings

        django_settings.KONTOR_EXPORT_SYNC_ROWS = 0
        try:
            queued = fetch_small(client, world)
        finally:
            del django_settings.KONTOR_EXPORT_SYNC_ROWS
        assert queued.status_code == 302, queued.content[:300]
        return client.get(queued["Location"] + "download/")

    return fetch


def _get(url_of):
    def fetch(client, world):
        return client.get(url_of(world))

    return fetch


def _admin_action(model: str, action: str, queryset):
    def fetch(client, world):
        ids = [str(pk) for pk in queryset().values_list("pk", flat=True)]
        return client.post(
            reverse(f"admin:{model}_changelist"), {"action": action, "_selected_action": ids}
        )

    return fetch


def downloads() -> list[Download]:
    found: list[Download] = []
    for fmt in ("csv", "xlsx"):
        for admin_class in (InvoiceAdmin, InvoiceLineAdmin):
            for index, resource in enumerate(admin_class.resource_classes):
                fetch = _admin_export(admin_class, index, fmt)
                found.append(Download(f"admin {resource.__name__}", fmt, fetch))
        for key in FINANCE_EXPORTS:
            found.append(Download(f"finance page {key}", fmt, _finance_page(key, fmt)))
            found.append(Download(f"queued {key}", fmt, _queued(_finance_page(key, fmt))))
    found += [
        Download(
            "admin subscription log",
            "csv",
            _get(lambda world: reverse("admin:seats_logentry_export")),
        ),
        Download(
            "admin subscription log action",
            "csv",
            _admin_action("seats_logentry", "export_csv", lambda: _seat_log_entries()),
        ),
        Download(
            "portal subscription log",
            "csv",
            _get(lambda world: reverse("seats:log_csv", args=[world.account_id])),
            who="customer",
        ),
        # Codes and campaign codes are generated or slugs: nothing planted reaches them.
        Download(
            "admin coupon codes",
            "csv",
            _get(lambda world: reverse("admin:coupons_code_export")),
            planted=False,
        ),
        Download(
            "admin coupon codes action",
            "csv",
            _admin_action("coupons_code", "export_selected", lambda: Code.objects.all()),
            planted=False,
        ),
    ]
    for kind in ("users", "invoices"):
        found.append(
            Download(
                f"corporate account {kind}",
                "csv",
                _get(
                    lambda world, kind=kind: (
                        reverse("admin:reports_corporate_account", args=[world.corporate_id])
                        + f"?csv={kind}"
                    )
                ),
                planted=kind == "users",
            )
        )
    for chart in CHARTS:
        found.append(
            Download(
                f"chart {chart.key}",
                "csv",
                _get(
                    lambda world, key=chart.key: (
                        reverse("admin:reports_chart_csv", args=[key])
                        + "?first_month=2027-01&last_month=2027-03"
                    )
                ),
                planted=False,  # aggregates: currencies, months, kinds, amounts
            )
        )
    return found


def _seat_log_entries():
    from seats.models import LogEntry

    return LogEntry.objects.all()


DOWNLOADS = downloads()


# --- reading the files back ------------------------------------------------------------


CONTENT_TYPES = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def body(response, fmt: str) -> bytes:
    assert response.status_code == 200, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith(CONTENT_TYPES[fmt]), response["Content-Type"]
    return b"".join(response.streaming_content) if response.streaming else response.content


def csv_cells(content: bytes) -> list[str]:
    text = content.decode("utf-8-sig")
    return [cell for row in csv.reader(io.StringIO(text, newline="")) for cell in row]


def xlsx_cells(content: bytes) -> list[object]:
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    return [value for row in sheet.iter_rows(values_only=True) for value in row]


def is_number(text: str) -> bool:
    if not NUMBER.fullmatch(text):
        return False
    try:
        Decimal(text)
    except InvalidOperation:
        return False
    return True


def formula_cells(cells: list[object]) -> list[object]:
    """Text cells a spreadsheet would run: they begin with a formula prefix and are not
    numbers written as text (CSV has no types: `-12.50` there is a number)."""
    return [
        cell
        for cell in cells
        if isinstance(cell, str) and cell.startswith(FORMULA_PREFIXES) and not is_number(cell)
    ]


# --- the tests ---------------------------------------------------------------------------


@pytest.fixture
def clients(client, django_user_model):
    staff = django_user_model.objects.create_superuser(
        email="fuzz.admin@kontor.example", password="pw-fuzz-admin"
    )
    client.force_login(staff)
    return {"staff": client, "customer": Client()}


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path  # queued exports write their files to default storage


@settings(
    max_examples=5,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(payloads=st.lists(hostile_text(), min_size=SLOTS, max_size=SLOTS))
@example(payloads=[p + "1+1" for p in (*STORABLE_PREFIXES, *STORABLE_PREFIXES)][:SLOTS])
@example(payloads=['=HYPERLINK("http://evil.example";"x")', "\x01=1", "-\x0b\x1f", *"@\t\r+="])
def test_no_export_writes_a_cell_a_spreadsheet_would_run(clients, payloads):
    world = plant(payloads)
    clients["customer"].force_login(world.account_admin)

    for download in DOWNLOADS:
        content = body(download.fetch(clients[download.who], world), download.fmt)
        cells = csv_cells(content) if download.fmt == "csv" else xlsx_cells(content)

        assert formula_cells(cells) == [], download.name
        if download.planted:
            reached = [c for c in cells if isinstance(c, str) and world.token in c]
            assert reached, f"{download.name} ({download.fmt}) shows none of the planted values"
            assert all(c.startswith("'") or c[:1] not in STORABLE_PREFIXES for c in reached)


# --- the inventory: a new export must be added above -------------------------------------

# Where product code writes CSV or XLSX, and which downloads above cover each place.
EXPORT_WRITERS = {
    "billing/exports.py": "admin, finance page and queued downloads of every resource",
    "billing/admin/exports.py": "admin, finance page and queued downloads",
    "billing/admin/invoices.py": "admin downloads of invoices, credit notes, payments, lines",
    "seats/views/portal.py": "portal and admin subscription log",
    "seats/admin/accounts.py": "admin subscription log (view and action)",
    "coupons/admin.py": "admin coupon codes (view and action)",
    "reports/csv.py": "every chart and the corporate account tables",
}
# Not exports: the subscription import reads CSV/XLSX, the bank statement import reads CSV,
# the upload gate inspects files before they are parsed, the seat import reads CSV.
READERS = {
    "subscriptions/resources.py",
    "subscriptions/admin/subscriptions.py",
    "billing/services/bank_statements.py",
    "billing/admin/bank_statements.py",
    "catalog/uploads.py",
    "seats/services/csv_import.py",
    "seats/views/activation.py",
}
WRITER_MARKERS = re.compile(
    r"text/csv|csv\.writer|csv\.DictWriter|ExportMixin|ModelResource|openpyxl|tablib|xlsxwriter"
)
APPS = ("api", "billing", "catalog", "config", "coupons", "notifications", "reports", "seats")


def test_every_export_in_the_code_is_fuzzed():
    """A file that writes CSV/XLSX and is neither listed as a writer (and downloaded
    above) nor as a reader fails this test: add its download to `downloads()`."""
    writers = set()
    for app in (*APPS, "subscriptions"):
        for path in (ROOT / app).rglob("*.py"):
            relative = path.relative_to(ROOT).as_posix()
            if "/migrations/" in relative or relative in READERS:
                continue
            if WRITER_MARKERS.search(path.read_text(encoding="utf-8")):
                writers.add(relative)

    assert writers == set(EXPORT_WRITERS)


def test_every_resource_finance_export_and_chart_is_downloaded():
    names = {download.name for download in DOWNLOADS}

    for resource in RESOURCES.values():
        if resource in (*InvoiceAdmin.resource_classes, *InvoiceLineAdmin.resource_classes):
            assert f"admin {resource.__name__}" in names
    assert {f"finance page {key}" for key in FINANCE_EXPORTS} <= names
    assert {f"queued {key}" for key in FINANCE_EXPORTS} <= names
    assert {f"chart {chart.key}" for chart in CHARTS} <= names
    assert {download.fmt for download in DOWNLOADS if download.name.startswith("finance")} == {
        "csv",
        "xlsx",
    }


def test_the_harness_sees_a_formula_it_is_shown():
    """The checks themselves: a raw formula is caught, a number and a neutralised
    formula are not."""
    assert formula_cells(["=1+1", "-12.50", "'=1+1", "12", "-x", "\tx", 3]) == [
        "=1+1",
        "-x",
        "\tx",
    ]
    assert get_user_model().objects.count() == 0
