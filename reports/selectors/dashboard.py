"""The dashboard's figures (issue 12). Each function takes `Filters` and answers a
`Table` from exactly one query; none loops over invoices, lines or subscriptions.

Series over months use events: a subscription (or a corporate invoice's value) is an
interval [from, until); its value is summed per month of its start and, negated, per
month of its end (GROUPING SETS: one pass over the rows, two sums), and the running
sum over the months is the value at each month's end — so a year of history costs one
pass over the rows, not one per month.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from django.db import connection
from django.utils.translation import gettext as _

from catalog.money import round_money
from reports.table import ZERO, Column, Table, months_between, previous_month

from .filters import Filters, invoice_filter, subscription_filter

# The end of a coupon's discount: `periods` billing periods after the start, on the
# merchant's wall clock (as catalog.periods counts them).
DISCOUNT_END = """((subs.s0 AT TIME ZONE %(tz)s) + CASE subs.unit
    WHEN 'day' THEN make_interval(days => r.periods * subs.n)
    WHEN 'week' THEN make_interval(weeks => r.periods * subs.n)
    WHEN 'year' THEN make_interval(years => r.periods * subs.n)
    ELSE make_interval(months => r.periods * subs.n) END) AT TIME ZONE %(tz)s"""
SUBSCRIPTION_TYPE = """CASE WHEN s.corporate_offer_id IS NOT NULL THEN 'corporate'
    WHEN s.user_count > 0 THEN 'multi' ELSE 'single' END"""
TYPES = ("single", "multi", "corporate")
# The month of an instant: its bucket among the months' first instants (0 before the
# first month), which spares a time zone conversion per row.
MONTH = "width_bucket({at}, %(bounds)s::timestamptz[])"


def _fetch(sql: str, params: dict) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _running(months: list[date], deltas: dict[date, list], width: int) -> list[list]:
    """The running sums per month; `deltas` before the first month start it."""
    total = list(deltas.get(previous_month(months[0]), [0] * width))
    sums = [list(total)]
    for month in months:
        total = [a + b for a, b in zip(total, deltas.get(month, [0] * width), strict=True)]
        sums.append(list(total))
    return sums  # one more than months: the value before the first month comes first


# --- MRR ----------------------------------------------------------------------------

MRR_SQL = """
WITH subs AS MATERIALIZED (
    SELECT s.id, s.started_at AS s0, coalesce(s.ended_at, s.ends_at) AS s1,
           s.corporate_offer_id IS NOT NULL AS corporate, s.price_amount,
           s.billing_interval_unit AS unit, s.billing_interval_count AS n
    FROM subscriptions_subscription s
    WHERE s.billing_interval_count IS NOT NULL AND s.currency = %(currency)s
      AND s.started_at < %(end)s
      AND (coalesce(s.ended_at, s.ends_at) IS NULL OR coalesce(s.ended_at, s.ends_at) >= %(start)s)
      {filter}
),
iv AS (
    SELECT s0, s1, false AS corporate, unit, n, price_amount AS v FROM subs WHERE NOT corporate
    UNION ALL
    SELECT subs.s0, CASE WHEN r.periods IS NULL THEN subs.s1
                         ELSE least(subs.s1, {discount_end}) END,
           false, subs.unit, subs.n, -r.discount_amount
    FROM subs JOIN subscriptions_couponredemption r ON r.subscription_id = subs.id
    WHERE NOT subs.corporate AND r.discount_amount > 0
    UNION ALL
    SELECT i.issued_at,
           least(subs.s1, lead(i.issued_at) OVER (PARTITION BY i.subscription_id
                                                  ORDER BY i.period_start, i.id)),
           true, subs.unit, subs.n, i.net_amount
    FROM subs JOIN billing_invoice i ON i.subscription_id = subs.id
    WHERE subs.corporate AND i.kind = 'invoice' AND i.billing = 'in_arrears'
      AND i.status IN ('open', 'paid', 'overdue') AND i.issued_at < %(end)s
),
edges AS (
    SELECT {start_month} AS b0, CASE WHEN s1 < %(end)s THEN {end_month} END AS b1,
           corporate, unit, n, v
    FROM iv WHERE s1 IS NULL OR s1 > s0
)
SELECT grouping(b1), coalesce(b0, b1), corporate, unit, n, sum(v) FROM edges
GROUP BY GROUPING SETS ((b0, corporate, unit, n), (b1, corporate, unit, n))"""
# Stripe's normalisation of a price to a month: a year / 12, a week x 52 / 12, a day x
# 365 / 12, n units / n. Applied to the sums per month and interval, not per row.
PER_YEAR = {"day": 365, "week": 52, "month": 12, "year": 1}


def per_month(amount: Decimal, unit: str, count: int) -> Decimal:
    """An amount per `count` `unit`s as an amount per month (not rounded)."""
    return Decimal(amount) * PER_YEAR[unit] / (12 * count)


def mrr_by_month(filters: Filters) -> Table:
    """Monthly recurring revenue at the end of each month, net of tax and of coupon
    discounts while they apply: regular subscriptions' price per month; corporate
    (post-billed) subscriptions at the net of their last invoiced period (not credited)
    per month of their accounting period; one-time purchases are not recurring.

    The query sums the raw amounts per month and billing interval; the few sums are
    normalised to a month here (one division per interval, not per subscription)."""
    sql = MRR_SQL.format(
        discount_end=DISCOUNT_END,
        filter=subscription_filter(filters),
        start_month=MONTH.format(at="s0"),
        end_month=MONTH.format(at="s1"),
    )
    deltas: dict[date, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for starts, bucket, corporate, unit, count, amount in _fetch(sql, filters.params()):
        if bucket is None:  # still running: the value has no end in the period
            continue
        sign = 1 if starts else -1  # grouping(b1) is 1 in the rows grouped by the start
        deltas[filters.month_of(bucket)][int(corporate)] += sign * per_month(amount, unit, count)
    months = months_between(filters.first_month, filters.last_month)
    sums = _running(months, deltas, 2)
    rows, previous = [], _money(sum(sums[0]), filters.currency)
    for month, (regular, corporate) in zip(months, sums[1:], strict=True):
        regular, corporate = _money(regular, filters.currency), _money(corporate, filters.currency)
        total = regular + corporate
        rows.append((month, regular, corporate, total, total - previous))
        previous = total
    columns = (
        Column("month", _("Month"), "month"),
        Column("regular", _("Regular subscriptions"), "money"),
        Column("corporate", _("Corporate subscriptions"), "money"),
        Column("mrr", _("MRR"), "money"),
        Column("change", _("Change"), "money"),
    )
    return Table(columns, rows, filters.currency)


def _money(amount, currency: str) -> Decimal:
    return round_money(Decimal(amount), currency)


# --- invoiced and paid ---------------------------------------------------------------

REVENUE_SQL = """
SELECT 'invoiced', {issued} AS m, sum(i.net_amount), sum(i.gross_amount)
FROM billing_invoice i
WHERE i.status <> 'draft' AND i.issued_at >= %(start)s AND i.issued_at < %(end)s {filter}
GROUP BY 2
UNION ALL
SELECT 'paid', {paid}, sum(i.amount_paid), 0
FROM billing_invoice i
WHERE i.paid_at >= %(start)s AND i.paid_at < %(end)s {filter}
GROUP BY 2"""


def revenue_by_month(filters: Filters) -> Table:
    """Invoiced (net and gross, credit notes subtracted in the month they were issued)
    and paid (gross, in the month an invoice was paid in full) per month."""
    sql = REVENUE_SQL.format(
        issued=MONTH.format(at="i.issued_at"),
        paid=MONTH.format(at="i.paid_at"),
        filter=invoice_filter(filters),
    )
    found: dict[tuple[str, date], tuple] = {}
    for what, bucket, first, second in _fetch(sql, filters.params()):
        found[(what, filters.month_of(bucket))] = (first, second)
    rows = []
    for month in months_between(filters.first_month, filters.last_month):
        net, gross = found.get(("invoiced", month), (ZERO, ZERO))
        paid, _unused = found.get(("paid", month), (ZERO, ZERO))
        rows.append((month, net, gross, paid))
    columns = (
        Column("month", _("Month"), "month"),
        Column("invoiced_net", _("Invoiced (net)"), "money"),
        Column("invoiced_gross", _("Invoiced (gross)"), "money"),
        Column("paid", _("Paid (gross)"), "money"),
    )
    return Table(columns, rows, filters.currency)


# --- open and overdue ----------------------------------------------------------------

RECEIVABLES_SQL = """
SELECT CASE WHEN i.due_at IS NULL OR i.due_at >= %(now)s THEN 0
            WHEN i.due_at >= %(now)s - interval '30 days' THEN 1
            WHEN i.due_at >= %(now)s - interval '60 days' THEN 2
            WHEN i.due_at >= %(now)s - interval '90 days' THEN 3
            ELSE 4 END AS bucket,
       count(*), sum(i.gross_amount - i.amount_paid)
FROM billing_invoice i
WHERE i.kind = 'invoice' AND i.status IN ('open', 'overdue') {filter}
GROUP BY 1"""


def receivables(filters: Filters) -> Table:
    """What customers owe now (gross less paid) on open and overdue invoices, by how
    long ago the due date passed. A snapshot: the period filter does not apply."""
    found = {
        bucket: (count, amount)
        for bucket, count, amount in _fetch(
            RECEIVABLES_SQL.format(filter=invoice_filter(filters)), filters.params()
        )
    }
    labels = [
        _("Not yet due"),
        _("Overdue 1-30 days"),
        _("Overdue 31-60 days"),
        _("Overdue 61-90 days"),
        _("Overdue over 90 days"),
    ]
    rows = [(label, *found.get(bucket, (0, ZERO))) for bucket, label in enumerate(labels)]
    totals = [(_("Total"), sum(r[1] for r in rows), sum((r[2] for r in rows), ZERO))]
    columns = (
        Column("bucket", _("Due"), "text"),
        Column("invoices", _("Invoices")),
        Column("amount", _("Amount due"), "money"),
    )
    return Table(columns, rows, filters.currency, totals)


# --- failed payments in retry ---------------------------------------------------------

RETRIES_SQL = """
SELECT CASE WHEN d.status = 'exhausted' THEN 9 ELSE LEAST(d.retries_done + 1, 3) END,
       count(*), sum(i.gross_amount - i.amount_paid)
FROM billing_dunning d JOIN billing_invoice i ON i.id = d.invoice_id
WHERE d.status IN ('retrying', 'exhausted') AND i.status IN ('open', 'overdue') {filter}
GROUP BY 1"""


def failed_payments_in_retry(filters: Filters) -> Table:
    """Unpaid invoices whose charge failed, by where their dunning stands now: waiting
    for the first, the second, a later retry, or past the last retry (corporate ones
    then pay by transfer). A snapshot: the period filter does not apply."""
    found = {
        bucket: (count, amount)
        for bucket, count, amount in _fetch(
            RETRIES_SQL.format(filter=invoice_filter(filters)), filters.params()
        )
    }
    labels = {
        1: _("Waiting for the first retry"),
        2: _("Waiting for the second retry"),
        3: _("Waiting for a later retry"),
        9: _("Retries exhausted, unpaid"),
    }
    rows = [(label, *found.get(bucket, (0, ZERO))) for bucket, label in labels.items()]
    totals = [(_("Total"), sum(r[1] for r in rows), sum((r[2] for r in rows), ZERO))]
    columns = (
        Column("stage", _("Dunning"), "text"),
        Column("invoices", _("Invoices")),
        Column("amount", _("Amount due"), "money"),
    )
    return Table(columns, rows, filters.currency, totals)


# --- subscriptions -------------------------------------------------------------------

ACTIVE_SQL = """
WITH iv AS (
    SELECT s.started_at AS s0, coalesce(s.ended_at, s.ends_at) AS s1, {type} AS t
    FROM subscriptions_subscription s
    WHERE s.billing_interval_count IS NOT NULL AND s.started_at < %(end)s
      AND (coalesce(s.ended_at, s.ends_at) IS NULL OR coalesce(s.ended_at, s.ends_at) >= %(start)s)
      {filter}
),
ev AS (
    SELECT s0 AS at, t, 1 AS d FROM iv WHERE s1 IS NULL OR s1 > s0
    UNION ALL SELECT s1, t, -1 FROM iv WHERE s1 > s0
)
SELECT {month} AS m,
       sum(d) FILTER (WHERE t = 'single'), sum(d) FILTER (WHERE t = 'multi'),
       sum(d) FILTER (WHERE t = 'corporate')
FROM ev WHERE at < %(end)s GROUP BY 1"""


def _type_columns() -> tuple[Column, ...]:
    return (
        Column("single", _("Single-user")),
        Column("multi", _("Multi-user")),
        Column("corporate", _("Corporate")),
    )


def active_subscriptions_by_month(filters: Filters) -> Table:
    """Subscriptions running at the end of each month, by type (single-user,
    multi-user, corporate); one-time purchases are not subscriptions here."""
    sql = ACTIVE_SQL.format(
        type=SUBSCRIPTION_TYPE, filter=subscription_filter(filters), month=MONTH.format(at="at")
    )
    found = _fetch(sql, filters.params())
    deltas = {filters.month_of(m): [a or 0, b or 0, c or 0] for m, a, b, c in found}
    months = months_between(filters.first_month, filters.last_month)
    sums = _running(months, deltas, 3)[1:]
    rows = [(month, *counts) for month, counts in zip(months, sums, strict=True)]
    return Table((Column("month", _("Month"), "month"), *_type_columns()), rows)


CHURN_SQL = """
SELECT {month} AS m, {type} AS t, count(*)
FROM subscriptions_subscription s
WHERE s.billing_interval_count IS NOT NULL
  AND coalesce(s.ended_at, s.ends_at) >= %(start)s
  AND coalesce(s.ended_at, s.ends_at) < least(%(end)s, %(now)s) {filter}
GROUP BY 1, 2"""


def churn_by_month(filters: Filters) -> Table:
    """Subscriptions that ended in each month (up to now), by type."""
    sql = CHURN_SQL.format(
        month=MONTH.format(at="coalesce(s.ended_at, s.ends_at)"),
        type=SUBSCRIPTION_TYPE,
        filter=subscription_filter(filters),
    )
    counts: dict[date, dict[str, int]] = defaultdict(dict)
    for bucket, kind, count in _fetch(sql, filters.params()):
        counts[filters.month_of(bucket)][kind] = count
    rows = [
        (month, *(counts[month].get(kind, 0) for kind in TYPES))
        for month in months_between(filters.first_month, filters.last_month)
    ]
    return Table((Column("month", _("Month"), "month"), *_type_columns()), rows)


# --- seats ---------------------------------------------------------------------------

SEATS_SQL = """
WITH used AS (
    SELECT seat_account_id AS a, count(*) AS n
    FROM (SELECT seat_account_id, user_id FROM seats_usersubscription
          WHERE state <> 'ended' GROUP BY 1, 2) AS u
    GROUP BY 1
),
pending AS (
    SELECT seat_account_id AS a, count(*) AS n FROM seats_invitation
    WHERE status = 'pending' AND expires_at > %(now)s GROUP BY 1
),
acc AS (
    SELECT c.name, sa.id, sa.maximum_users, coalesce(used.n, 0) AS users,
           coalesce(used.n, 0) + coalesce(pending.n, 0) AS taken
    FROM seats_seataccount sa
    JOIN subscriptions_subscription s ON s.id = sa.subscription_id
    JOIN subscriptions_customer c ON c.id = s.customer_id
    LEFT JOIN used ON used.a = sa.id LEFT JOIN pending ON pending.a = sa.id
    WHERE s.corporate_offer_id IS NOT NULL AND s.status <> 'ended' {filter}
)
SELECT name, users, taken, maximum_users,
       count(*) OVER (), sum(users) OVER (), sum(taken) OVER (),
       sum(maximum_users) OVER (), count(*) FILTER (WHERE maximum_users IS NULL) OVER ()
FROM acc ORDER BY taken DESC, name, id LIMIT %(top)s"""
TOP = 10


def seats_by_account(filters: Filters) -> Table:
    """Seats of running corporate subscriptions now: users with access plus pending
    invitations (what takes a seat), against each account's maximum, for the `TOP`
    fullest accounts; the totals cover every account (unlimited ones have no maximum)."""
    sql = SEATS_SQL.format(filter=subscription_filter(filters))
    found = _fetch(sql, {**filters.params(), "top": TOP})
    rows = [(name, users, taken, maximum) for name, users, taken, maximum, *_totals in found]
    totals = []
    if found:
        accounts, users, taken, maximum, unlimited = found[0][4:]
        label = _("All %(count)s corporate accounts (%(unlimited)s unlimited)") % {
            "count": accounts,
            "unlimited": unlimited,
        }
        totals.append((label, users, taken, maximum))
    columns = (
        Column("account", _("Account"), "text"),
        Column("users", _("Users")),
        Column("taken", _("Seats used")),
        Column("maximum", _("Seats available")),
    )
    return Table(columns, rows, filters.currency, totals)


# --- coupons -------------------------------------------------------------------------

COUPONS_SQL = """
SELECT c.name, count(*), {discount}, sum(count(*)) OVER (), sum({discount}) OVER ()
FROM subscriptions_couponredemption r JOIN coupons_campaign c ON c.id = r.campaign_id
JOIN subscriptions_subscription s ON s.id = r.subscription_id
WHERE r.redeemed_at >= %(start)s AND r.redeemed_at < %(end)s {filter}
GROUP BY c.id, c.name ORDER BY 2 DESC, c.name LIMIT %(top)s"""


def coupon_redemptions_by_campaign(filters: Filters) -> Table:
    """Redemptions in the period per campaign (the `TOP` campaigns most redeemed) and
    the discount per billing period they grant, in the chosen currency."""
    discount = "coalesce(sum(r.discount_amount) FILTER (WHERE r.currency = %(currency)s), 0)"
    sql = COUPONS_SQL.format(discount=discount, filter=subscription_filter(filters))
    found = _fetch(sql, {**filters.params(), "top": TOP})
    rows = [(name, count, discount) for name, count, discount, *_totals in found]
    totals = [(_("All campaigns"), int(found[0][3]), found[0][4])] if found else []
    columns = (
        Column("campaign", _("Campaign"), "text"),
        Column("redemptions", _("Redemptions")),
        Column("discount", _("Discount per period"), "money"),
    )
    return Table(columns, rows, filters.currency, totals)
