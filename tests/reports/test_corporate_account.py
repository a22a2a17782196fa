"""The corporate account page for customer support: users per period from the
subscription log, invoices with the tier each period landed in, and the what-if
priced by the engine (tests/reports/data.py has the subscription K)."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from billing.pricing import price
from billing.selectors import price_schedule_for_contract
from reports.selectors import corporate
from subscriptions.roles import CATALOG_MANAGER, CUSTOMER_SUPPORT
from tests.billing.factories import STAFF_PASSWORD, staff_member
from tests.factories import ContractTierFactory
from tests.reports.data import NOW, ReportData

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def data() -> ReportData:
    return ReportData()


@pytest.fixture
def tiered(data) -> ReportData:
    """K's contract in volume tiers: up to 3 users at 2.50, then 2.00 each."""
    data.contract.tiers.all().delete()
    ContractTierFactory(contract=data.contract, up_to=3, unit_amount=Decimal("2.50"))
    ContractTierFactory(contract=data.contract, up_to=None, unit_amount=Decimal("2.00"))
    return data


@pytest.fixture
def support(client):
    user = staff_member(CUSTOMER_SUPPORT, "support@kontor.example")
    client.login(email=user.email, password=STAFF_PASSWORD)
    return client


def page_url(subscription) -> str:
    return reverse("admin:reports_corporate_account", args=[subscription.public_id])


def test_users_per_period_count_the_reactivated_user_once(data):
    contracts = corporate.contracts_of(data.k)

    table = corporate.users_per_period(subscription=data.k, contracts=contracts, now=NOW)

    # January: u1, u2. February: u1, u2 (ended 10th, back on the 20th: one user), u3.
    # March: u1, u2, u3 (until the 20th). April so far: u1, u2.
    assert table.rows == [
        (date(2027, 1, 1), 2),
        (date(2027, 2, 1), 3),
        (date(2027, 3, 1), 3),
        (date(2027, 4, 1), 2),
    ]


def test_invoices_show_users_and_the_tier_each_period_landed_in(tiered):
    contracts = corporate.contracts_of(tiered.k)

    rows = corporate.invoices_per_period(subscription=tiered.k, contracts=contracts)

    summary = [(r.invoice.number, r.invoice.kind, r.users, r.tiers) for r in rows]
    assert summary == [
        (tiered.january.number, "invoice", [3], ["Tier 1 (1\N{EN DASH}3)"]),
        (tiered.february.number, "invoice", [4], ["Tier 2 (4+)"]),
        (tiered.credit_note.number, "credit_note", [None], [""]),  # negates February
        (tiered.march.number, "invoice", [2], ["Tier 1 (1\N{EN DASH}3)"]),
    ]


def test_what_if_prices_more_users_with_the_engine(tiered):
    report = corporate.corporate_report(subscription=tiered.k, now=NOW)

    result = corporate.what_if(report=report, more_users=3, now=NOW)

    schedule = price_schedule_for_contract(report.contracts[0])
    assert result.start.date() == date(2027, 4, 1)
    assert result.total_now == price(schedule, 2) == Decimal("25.00")  # 20 + 2 x 2.50
    assert result.total == price(schedule, 5) == Decimal("30.00")  # 20 + 5 x 2.00 (volume)
    assert result.lines[0].tier == "Tier 2 (4+)"


def test_the_page_shows_charts_invoices_and_the_what_if(support, tiered):
    response = support.get(page_url(tiered.k), {"more_users": "3"})

    html = response.content.decode()
    assert response.status_code == 200
    assert 'aria-labelledby="chart-users-title"' in html
    assert 'aria-labelledby="chart-invoices-title"' in html
    assert tiered.credit_note.number in html
    assert "With 3 more users the next invoice would be €30.00" in html
    assert "style=" not in html


def test_the_corporate_subscription_admin_links_to_the_page(support, data):
    response = support.get(reverse("admin:subscriptions_subscription_change", args=[data.k.pk]))

    assert page_url(data.k) in response.content.decode()


def test_bad_what_if_input_gets_a_message(support, data):
    response = support.get(page_url(data.k), {"more_users": "-4"})

    html = response.content.decode()
    assert "Ensure this value is greater than or equal to 0" in html
    assert "With 10 more users" in html  # the default stands in


def test_csv_of_the_users_per_period(support, data):
    response = support.get(page_url(data.k), {"csv": "users"})

    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[1:] == [
        ["2027-01-01", "2"],
        ["2027-02-01", "3"],
        ["2027-03-01", "3"],
        ["2027-04-01", "2"],
    ]


def test_a_regular_subscription_or_unknown_id_is_404(support, data):
    assert support.get(page_url(data.a)).status_code == 404


def test_staff_who_may_not_read_invoices_are_refused(client, data):
    user = staff_member(CATALOG_MANAGER, "catalog@kontor.example")
    client.login(email=user.email, password=STAFF_PASSWORD)

    assert client.get(page_url(data.k)).status_code == 403


@pytest.mark.parametrize("grown", [False, True])
def test_the_page_runs_a_fixed_number_of_queries(support, data, grown, django_assert_num_queries):
    if grown:
        for _n in range(2):  # K's two free seats
            ReportData.more_users(data)
    support.get(reverse("admin:apps"))

    # session, user, permissions x2; the subscription; contracts and their tiers; the
    # seat account; the user count; the invoices and their usage lines; whether staff
    # without a second factor need one now (security.otp).
    with django_assert_num_queries(12):
        support.get(page_url(data.k))
