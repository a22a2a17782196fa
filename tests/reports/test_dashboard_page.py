"""The dashboard page (the admin's index), its CSV downloads and who sees what."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
import time_machine
from django.urls import reverse

from reports.dashboard import CHARTS
from subscriptions.roles import CATALOG_MANAGER, CUSTOMER_SUPPORT, FINANCE
from tests.billing.factories import STAFF_PASSWORD, line, make_invoice, staff_member
from tests.reports.data import NOW, ReportData, at, filters, regular
from tests.subscriptions.factories import CustomerFactory

pytestmark = pytest.mark.django_db

QUERY = {"first_month": "2027-01", "last_month": "2027-04", "currency": "EUR"}


@pytest.fixture(autouse=True)
def _now():
    """The data set's "now" for the whole test (sessions are made then too)."""
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def data() -> ReportData:
    return ReportData()


def client_for(client, role: str, email: str):
    user = staff_member(role, email)
    client.login(email=user.email, password=STAFF_PASSWORD)
    return client


@pytest.fixture
def finance_client(client):
    return client_for(client, FINANCE, "finance@kontor.example")


def test_finance_sees_every_chart_with_its_table_and_csv_link(finance_client, data):
    response = finance_client.get(reverse("admin:index"), QUERY)

    html = response.content.decode()
    assert response.status_code == 200
    for chart in CHARTS:
        assert f'id="{chart.key}-heading"' in html
        assert f'aria-labelledby="chart-{chart.key}-title"' in html  # the inline SVG
        assert reverse("admin:reports_chart_csv", args=[chart.key]) + "?" in html
    assert "<script" not in html.split('id="content-main"')[1].split("</main>")[0]
    assert "style=" not in html
    assert "€83.23" in html  # April's MRR, in the MRR table
    assert reverse("admin:apps") in html


def test_the_app_list_moved_to_its_own_page(finance_client):
    response = finance_client.get(reverse("admin:apps"))

    assert response.status_code == 200
    assert reverse("admin:billing_invoice_changelist") in response.content.decode()


def test_staff_without_billing_permissions_see_no_revenue(client, data):
    catalog = client_for(client, CATALOG_MANAGER, "catalog@kontor.example")

    html = catalog.get(reverse("admin:index"), QUERY).content.decode()
    csv_response = catalog.get(reverse("admin:reports_chart_csv", args=["mrr"]), QUERY)

    for key in ("mrr", "revenue", "receivables"):
        assert f'id="{key}-heading"' not in html
    assert "€83.23" not in html
    assert 'id="subscriptions-heading"' in html  # catalog managers read subscriptions
    assert csv_response.status_code == 403


def test_customer_support_may_read_invoices_so_sees_revenue_too(client, data):
    support = client_for(client, CUSTOMER_SUPPORT, "support@kontor.example")

    html = support.get(reverse("admin:index"), QUERY).content.decode()

    assert 'id="mrr-heading"' in html


def test_a_chart_downloads_as_csv_with_numbers_as_numbers(finance_client, data):
    response = finance_client.get(reverse("admin:reports_chart_csv", args=["mrr"]), QUERY)

    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="mrr-2027-01-2027-04.csv"' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["Month", "Regular subscriptions", "Corporate subscriptions", "MRR", "Change"]
    assert rows[1:] == [
        ["2027-01", "53.00", "0.00", "53.00", "38.00"],
        ["2027-02", "48.00", "27.50", "75.50", "22.50"],
        ["2027-03", "48.33", "27.50", "75.83", "0.33"],
        ["2027-04", "58.23", "25.00", "83.23", "7.40"],
    ]


def test_a_formula_in_a_name_is_neutralised_in_the_csv(finance_client, data):
    evil = '=HYPERLINK("http://evil.example","click")'
    data.l_subscription.customer.name = evil
    data.l_subscription.customer.save(update_fields=["name"])

    response = finance_client.get(reverse("admin:reports_chart_csv", args=["seats"]), QUERY)

    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert ["'" + evil, "1", "1", ""] in rows
    assert rows[-1] == ["All 2 corporate accounts (1 unlimited)", "3", "4", "5"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"first_month": "2027-13"}, "Enter a month as YYYY-MM"),
        ({"first_month": "2027-04", "last_month": "2027-01"}, "The last month is before the first"),
        ({"first_month": "2024-01", "last_month": "2027-04"}, "Choose at most 36 months"),
        ({"currency": "XXX"}, "Select a valid choice"),
    ],
)
def test_bad_filters_get_a_message_and_no_figures(finance_client, data, query, message):
    response = finance_client.get(reverse("admin:index"), query)
    csv_response = finance_client.get(reverse("admin:reports_chart_csv", args=["mrr"]), query)

    html = response.content.decode()
    assert message in html
    assert 'id="mrr-heading"' not in html
    assert csv_response.status_code == 400
    assert message in csv_response.content.decode()


def test_an_unknown_chart_is_404(finance_client):
    response = finance_client.get(reverse("admin:reports_chart_csv", args=["nope"]))

    assert response.status_code == 404


def test_the_default_period_is_the_last_twelve_months(finance_client, data):
    response = finance_client.get(reverse("admin:reports_chart_csv", args=["churn"]))

    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [row[0] for row in rows[1:]] == [f"{m:%Y-%m}" for m in months_back(date(2027, 4, 1))]


def months_back(last: date) -> list[date]:
    return [date(last.year - (last.month <= n), (last.month - n - 1) % 12 + 1, 1)
            for n in range(11, -1, -1)]  # fmt: skip


def grow(data: ReportData) -> None:
    """Twenty more subscriptions with invoices and coupons: nothing per row may query."""
    for n in range(20):
        subscription = regular("12.00", start=at(2027, 1, 1 + n))
        make_invoice(customer=subscription.customer, lines=[line("Plan", "1", "12.00")],
                     now=at(2027, 2, 1 + n, 10))  # fmt: skip
        make_invoice(customer=CustomerFactory(), now=at(2027, 3, 1 + n, 10))


@pytest.mark.parametrize("size", ["small", "grown"])
@pytest.mark.parametrize("chart", CHARTS, ids=[c.key for c in CHARTS])
def test_each_selector_runs_one_query_whatever_the_data(
    data, chart, size, django_assert_num_queries
):
    if size == "grown":
        grow(data)

    with django_assert_num_queries(1):
        chart.selector(filters(tag_id=data.tag.pk))
    with django_assert_num_queries(1):
        chart.selector(filters())


@pytest.mark.parametrize("size", ["small", "grown"])
def test_the_dashboard_page_runs_a_fixed_number_of_queries(
    finance_client, data, size, django_assert_num_queries
):
    if size == "grown":
        grow(data)
    finance_client.get(reverse("admin:apps"))

    # session, user, the user's permissions and groups' permissions; the form's product
    # and tag choices; one query per chart; whether the second factor is needed now.
    with django_assert_num_queries(4 + 2 + len(CHARTS) + 1):
        finance_client.get(reverse("admin:index"), QUERY)


def test_on_sqlite_the_dashboard_explains_instead_of_failing(finance_client, monkeypatch):
    """The figures are PostgreSQL SQL; the SQLite demo used to answer 500 here."""
    from django.db import connection

    monkeypatch.setattr(connection, "vendor", "sqlite")

    page = finance_client.get(reverse("admin:index"))
    csv_download = finance_client.get(reverse("admin:reports_chart_csv", args=["mrr"]))

    assert page.status_code == 200
    assert "The reports need PostgreSQL" in page.content.decode()
    assert page.context["sections"] == []
    assert csv_download.status_code == 404
