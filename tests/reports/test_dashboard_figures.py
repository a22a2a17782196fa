"""Every dashboard figure against values worked out by hand on tests/reports/data.py
(a credited period, a cancelled-then-reactivated user, coupons, several intervals)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from reports.selectors import dashboard
from tests.reports.data import ReportData, filters

pytestmark = pytest.mark.django_db

JAN, FEB, MAR, APR = (date(2027, m, 1) for m in (1, 2, 3, 4))


@pytest.fixture
def data() -> ReportData:
    return ReportData()


def D(text: str) -> Decimal:
    return Decimal(text)


def test_mrr_counts_discounts_intervals_and_the_last_uncredited_corporate_period(data):
    table = dashboard.mrr_by_month(filters())

    # month, regular, corporate, MRR, change (December's MRR was A 10.00 + H 5.00)
    assert table.rows == [
        (JAN, D("53.00"), D("0.00"), D("53.00"), D("38.00")),
        (FEB, D("48.00"), D("27.50"), D("75.50"), D("22.50")),
        (MAR, D("48.33"), D("27.50"), D("75.83"), D("0.33")),
        (APR, D("58.23"), D("25.00"), D("83.23"), D("7.40")),
    ]


def test_mrr_in_another_currency_holds_only_that_currencys_subscriptions(data):
    table = dashboard.mrr_by_month(filters(currency="USD"))

    # G: 50.00 less 5.00 for every period; the 1.00 one from December.
    assert table.values("mrr") == [D("46.00")] * 4


def test_revenue_subtracts_the_credit_note_in_its_month_and_counts_payments_when_paid(data):
    table = dashboard.revenue_by_month(filters())

    # month, invoiced net, invoiced gross, paid (gross)
    assert table.rows == [
        (JAN, D("150.00"), D("178.50"), D("0.00")),
        (FEB, D("27.50"), D("32.73"), D("119.00")),
        (MAR, D("0.00"), D("0.00"), D("32.73")),
        (APR, D("25.00"), D("29.75"), D("0.00")),
    ]


def test_receivables_bucket_what_is_owed_by_days_past_due(data):
    table = dashboard.receivables(filters())

    assert [row[1:] for row in table.rows] == [
        (1, D("29.75")),  # K's March invoice, due 15 April
        (0, D("0.00")),
        (0, D("0.00")),
        (1, D("50.00")),  # Y: 59.50 less 9.50 paid, due 19 January
        (0, D("0.00")),
    ]
    assert table.totals[0][1:] == (2, D("79.75"))


def test_active_subscriptions_by_type_at_each_months_end(data):
    table = dashboard.active_subscriptions_by_month(filters())

    # single: A, B, G, the 1.00 USD one and H (until January's end); D from February;
    # E from March. Multi-user: C until it ended in March. Corporate: K and L.
    assert table.rows == [
        (JAN, 5, 1, 2),
        (FEB, 5, 1, 2),
        (MAR, 6, 0, 2),
        (APR, 6, 0, 2),
    ]


def test_churn_counts_subscriptions_ended_in_each_month(data):
    table = dashboard.churn_by_month(filters())

    assert table.rows == [(JAN, 0, 0, 0), (FEB, 1, 0, 0), (MAR, 0, 1, 0), (APR, 0, 0, 0)]


def test_seats_count_each_user_once_plus_pending_invitations(data):
    table = dashboard.seats_by_account(filters())

    # K: u1 and u2 (reactivated: one user, one seat) + one invitation, of 5.
    assert table.rows == [("Uni Musterstadt", 2, 3, 5), ("Company Beispiel", 1, 1, None)]
    assert table.totals == [("All 2 corporate accounts (1 unlimited)", 3, 4, 5)]


def test_coupon_redemptions_per_campaign_in_the_period(data):
    table = dashboard.coupon_redemptions_by_campaign(filters())

    # Spring: B (24.00 EUR) and G (USD, counted, no EUR discount); Welcome: D.
    assert table.rows == [("Spring", 2, D("24.00")), ("Welcome", 1, D("9.90"))]
    assert table.totals == [("All campaigns", 3, D("33.90"))]


def test_the_tag_filter_keeps_only_the_tagged_corporate_subscription(data):
    tagged = filters(tag_id=data.tag.pk)

    assert dashboard.mrr_by_month(tagged).values("mrr") == [
        D("0.00"), D("27.50"), D("27.50"), D("25.00")
    ]  # fmt: skip
    assert dashboard.revenue_by_month(tagged).values("invoiced_net") == [
        D("0.00"), D("27.50"), D("0.00"), D("25.00")
    ]  # fmt: skip
    assert dashboard.seats_by_account(tagged).rows == [("Uni Musterstadt", 2, 3, 5)]
    assert dashboard.coupon_redemptions_by_campaign(tagged).rows == []


def test_the_product_filter_keeps_subscriptions_that_include_the_product(data):
    product = data.b.offer.product
    only_b = filters(product_id=product.pk)

    assert dashboard.mrr_by_month(only_b).values("mrr") == [D("8.00")] * 4
    assert dashboard.active_subscriptions_by_month(only_b).rows[0] == (JAN, 1, 0, 0)
    assert dashboard.coupon_redemptions_by_campaign(only_b).rows == [("Spring", 1, D("24.00"))]
