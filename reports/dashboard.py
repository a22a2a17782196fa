"""The dashboard's charts, as data: one `Chart` per figure.

Adding a figure is a selector (`Filters -> Table`, one query) plus one entry in
`CHARTS`; the page, its accessible table, the CSV download, the permission check and
the tests' query-count loop all follow from the entry (the failed payments in retry
were added that way).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.translation import gettext_lazy

from .selectors import dashboard
from .selectors.filters import Filters
from .table import Table

REVENUE = "billing.view_invoice"  # revenue figures: staff who may read invoices


@dataclass(frozen=True)
class Chart:
    key: str  # in URLs and CSV file names
    title: str
    help: str
    permission: str  # the Django permission a staff user needs to see it
    selector: Callable[[Filters], Table]
    kind: str  # "bars", "lines" or "hbars" (reports.charts.render)
    series: tuple[str, ...]  # the table's columns drawn


CHARTS: list[Chart] = [
    Chart(
        key="mrr",
        title=gettext_lazy("Monthly recurring revenue"),
        help=gettext_lazy(
            "MRR at the end of each month: the monthly value of running recurring "
            "subscriptions, after coupon discounts while they apply, without tax. Prices "
            "of other intervals are normalised to a month (a yearly price divided by 12, "
            "a weekly one times 52 divided by 12). "
            "Corporate subscriptions count at the net of their last invoiced (not credited) "
            "accounting period, normalised to a month. One-time purchases are not recurring."
        ),
        permission=REVENUE,
        selector=dashboard.mrr_by_month,
        kind="lines",
        series=("mrr", "regular", "corporate"),
    ),
    Chart(
        key="revenue",
        title=gettext_lazy("Invoiced and paid per month"),
        help=gettext_lazy(
            "Invoices by the month they were issued, less credit notes in the month they "
            "were issued; payments by the month an invoice was paid in full. Gross amounts."
        ),
        permission=REVENUE,
        selector=dashboard.revenue_by_month,
        kind="bars",
        series=("invoiced_gross", "paid"),
    ),
    Chart(
        key="receivables",
        title=gettext_lazy("Open and overdue amounts"),
        help=gettext_lazy(
            "What customers owe now on open and overdue invoices (gross less paid), by how "
            "long ago the due date passed. Today's state: the period does not apply."
        ),
        permission=REVENUE,
        selector=dashboard.receivables,
        kind="bars",
        series=("amount",),
    ),
    Chart(
        key="subscriptions",
        title=gettext_lazy("Active subscriptions by type"),
        help=gettext_lazy(
            "Subscriptions running at the end of each month (a cancelled one until it "
            "ends). One-time purchases are not counted."
        ),
        permission="subscriptions.view_subscription",
        selector=dashboard.active_subscriptions_by_month,
        kind="lines",
        series=("single", "multi", "corporate"),
    ),
    Chart(
        key="churn",
        title=gettext_lazy("Churned subscriptions"),
        help=gettext_lazy("Subscriptions that ended in each month, by type."),
        permission="subscriptions.view_subscription",
        selector=dashboard.churn_by_month,
        kind="bars",
        series=("single", "multi", "corporate"),
    ),
    Chart(
        key="seats",
        title=gettext_lazy("Seats used and available (corporate)"),
        help=gettext_lazy(
            "Now, for running corporate subscriptions: users with access plus pending "
            "invitations (what takes a seat) against the account's maximum users, for the "
            "ten fullest accounts; the total covers all accounts."
        ),
        permission="seats.view_seataccount",
        selector=dashboard.seats_by_account,
        kind="hbars",
        series=("taken", "maximum"),
    ),
    Chart(
        key="coupons",
        title=gettext_lazy("Coupon redemptions per campaign"),
        help=gettext_lazy(
            "Codes redeemed in the period, for the ten campaigns redeemed most, and the "
            "discount per billing period they grant in the chosen currency."
        ),
        permission="subscriptions.view_couponredemption",
        selector=dashboard.coupon_redemptions_by_campaign,
        kind="hbars",
        series=("redemptions",),
    ),
    Chart(
        key="payment-retries",
        title=gettext_lazy("Failed payments in retry"),
        help=gettext_lazy(
            "Unpaid invoices whose card or direct debit charge failed, by where their "
            "dunning stands now (Billing → Dunning lists them). Today's state: the period "
            "does not apply."
        ),
        permission=REVENUE,
        selector=dashboard.failed_payments_in_retry,
        kind="hbars",
        series=("amount",),
    ),
]
CHARTS_BY_KEY = {chart.key: chart for chart in CHARTS}


def charts_for(user) -> list[Chart]:
    """The charts this staff user may see."""
    return [chart for chart in CHARTS if user.has_perm(chart.permission)]
