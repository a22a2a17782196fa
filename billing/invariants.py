"""Invariants of the billing data, checked by SQL (issue 10).

The services and the database constraints keep these rules; this module finds rows that
break them anyway (a hand edit in the database, a bug, a restored backup), so that the
account is held before it is billed again (billing.services.holds). Each invariant is
**one SQL query returning the violating rows**, in one shape:
`(customer_id, subject, *details)`, where `subject` names the offending row
("invoice:17") and the details fill the invariant's message.

1. `invoice_once_per_period` — no two invoices of a subscription cover overlapping
   periods (the unique constraint guards equal starts only).
2. `invoice_totals` — an issued invoice's net, tax and gross are the sums of its lines,
   and each line's tax is its net x rate rounded half up to the cent (PostgreSQL's
   `round(numeric)` rounds ties away from zero, as ROUND_HALF_UP does), gross net + tax.
3. `user_subscription_in_parent` — a user subscription starts within its subscription's
   life (not before it started, not after it ended) and is not running after it ended.
4. `seats_within_maximum` — the users with running access to a seat account (the main
   user takes no seat) are no more than its maximum.
5. `coupon_redemptions_within_limit` — no code has more redemptions than its limit (the
   redemptions after the limit are reported, by when they were made).
6. `elapsed_periods_billed` — every period of an active subscription that had ended when
   the last finished billing run started (and by that run's date) has its invoice.
   Measured against the last finished run, not the clock: after downtime nothing is
   reported until a run has had the chance to catch up. Accounts on hold (or released
   since that run) are left out: the run skipped them on purpose.

PostgreSQL only (tstzrange, window functions, `AT TIME ZONE`); the SQLite demo skips the
check (see `supported`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy


@dataclass(frozen=True)
class Invariant:
    code: str
    title: str  # lazy
    sql: str
    describe: Callable[[tuple], str]  # the details of one row → the message for staff


@dataclass(frozen=True)
class Violation:
    invariant: str
    customer_id: int
    subject: str
    detail: str


INVOICE_ONCE_PER_PERIOD = """
SELECT DISTINCT ON (a.id) a.customer_id, 'invoice:' || a.id, a.number, b.number
FROM billing_invoice a
JOIN billing_invoice b
  ON b.subscription_id = a.subscription_id AND b.id < a.id
 AND b.kind = 'invoice' AND b.period_start IS NOT NULL
 AND tstzrange(b.period_start, b.period_end) && tstzrange(a.period_start, a.period_end)
WHERE a.kind = 'invoice' AND a.subscription_id IS NOT NULL AND a.period_start IS NOT NULL
ORDER BY a.id, b.id
"""

INVOICE_TOTALS = """
SELECT i.customer_id, 'invoice:' || i.id, i.number,
       i.net_amount, i.tax_amount, i.gross_amount,
       COALESCE(SUM(l.net_amount), 0), COALESCE(SUM(l.tax_amount), 0),
       COALESCE(SUM(l.gross_amount), 0),
       COUNT(l.id) FILTER (
         WHERE l.tax_amount <> ROUND(l.net_amount * l.tax_rate / 100, 2)
            OR l.gross_amount <> l.net_amount + l.tax_amount)
FROM billing_invoice i
LEFT JOIN billing_invoiceline l ON l.invoice_id = i.id
WHERE i.status <> 'draft'
GROUP BY i.id
HAVING i.net_amount <> COALESCE(SUM(l.net_amount), 0)
    OR i.tax_amount <> COALESCE(SUM(l.tax_amount), 0)
    OR i.gross_amount <> COALESCE(SUM(l.gross_amount), 0)
    OR COUNT(l.id) FILTER (
         WHERE l.tax_amount <> ROUND(l.net_amount * l.tax_rate / 100, 2)
            OR l.gross_amount <> l.net_amount + l.tax_amount) > 0
ORDER BY i.id
"""

USER_SUBSCRIPTION_IN_PARENT = """
SELECT s.customer_id, 'user_subscription:' || us.id, us.id, s.id, us.state, s.status
FROM seats_usersubscription us
JOIN seats_seataccount a ON a.id = us.seat_account_id
JOIN subscriptions_subscription s ON s.id = a.subscription_id
WHERE us.started_at < s.started_at
   OR (s.status = 'ended' AND (us.state <> 'ended' OR us.started_at >= s.ended_at))
ORDER BY us.id
"""

SEATS_WITHIN_MAXIMUM = """
SELECT s.customer_id, 'seat_account:' || a.id, s.id,
       COUNT(DISTINCT us.user_id), a.maximum_users
FROM seats_seataccount a
JOIN subscriptions_subscription s ON s.id = a.subscription_id
JOIN subscriptions_customer c ON c.id = s.customer_id
JOIN seats_usersubscription us
  ON us.seat_account_id = a.id AND us.state IN ('active', 'cancelled')
 AND us.user_id IS DISTINCT FROM c.main_user_id
WHERE a.maximum_users IS NOT NULL
GROUP BY a.id, s.id, s.customer_id, a.maximum_users
HAVING COUNT(DISTINCT us.user_id) > a.maximum_users
ORDER BY a.id
"""

COUPON_REDEMPTIONS_WITHIN_LIMIT = """
SELECT customer_id, 'coupon_redemption:' || id, code, nth, redemption_limit
FROM (
  SELECT r.id, r.customer_id, c.code, c.redemption_limit,
         ROW_NUMBER() OVER (PARTITION BY r.code_id ORDER BY r.redeemed_at, r.id) AS nth
  FROM subscriptions_couponredemption r
  JOIN coupons_code c ON c.id = r.code_id
) ranked
WHERE nth > redemption_limit
ORDER BY id
"""

# Periods as catalog.periods computes them: from the anchor (the start on the
# merchant's wall clock) plus index x count units, month ends clamped (PostgreSQL's
# timestamp + interval clamps the day the same way), back to UTC.
ELAPSED_PERIODS_BILLED = """
WITH cutoff AS (
  SELECT MAX(LEAST(r.started_at, (r.run_date + 1)::timestamp AT TIME ZONE %(tz)s)) AS at
  FROM billing_billingrun r WHERE r.status IN ('done', 'failed')
), subs AS (
  SELECT s.id, s.customer_id, s.started_at AT TIME ZONE %(tz)s AS anchor,
         s.billing_interval_count AS n,
         CASE s.billing_interval_unit WHEN 'day' THEN interval '1 day'
              WHEN 'week' THEN interval '7 days' WHEN 'month' THEN interval '1 month'
              ELSE interval '12 months' END AS unit,
         CASE s.billing_interval_unit WHEN 'day' THEN 1 WHEN 'week' THEN 7
              WHEN 'month' THEN 28 ELSE 365 END AS shortest_days
  FROM subscriptions_subscription s, cutoff
  WHERE s.status = 'active' AND s.billing_interval_count > 0 AND s.started_at < cutoff.at
    AND NOT EXISTS (
      SELECT 1 FROM billing_billinghold h
      WHERE h.customer_id = s.customer_id
        AND (h.released_at IS NULL OR h.released_at > cutoff.at))
), periods AS (
  SELECT subs.id, subs.customer_id,
         (subs.anchor + subs.unit * (k * subs.n)) AT TIME ZONE %(tz)s AS starts,
         (subs.anchor + subs.unit * ((k + 1) * subs.n)) AT TIME ZONE %(tz)s AS ends
  FROM subs, cutoff,
       generate_series(0, (EXTRACT(EPOCH FROM cutoff.at - (subs.anchor AT TIME ZONE %(tz)s))
                           / 86400 / (subs.shortest_days * subs.n))::int + 1) AS k
)
SELECT p.customer_id, 'subscription:' || p.id, p.id, COUNT(*), MIN(p.starts)
FROM periods p, cutoff
WHERE p.ends <= cutoff.at
  AND NOT EXISTS (
    SELECT 1 FROM billing_invoice i
    WHERE i.subscription_id = p.id AND i.kind = 'invoice' AND i.period_start = p.starts)
GROUP BY p.customer_id, p.id
ORDER BY p.id
"""


def _duplicate(row) -> str:
    number, earlier = row
    return _("Invoice %(number)s covers a period invoice %(earlier)s covers already.") % {
        "number": number,
        "earlier": earlier,
    }


def _totals(row) -> str:
    number, net, tax, gross, lines_net, lines_tax, lines_gross, bad_lines = row
    return _(
        "Invoice %(number)s says net %(net)s, tax %(tax)s, gross %(gross)s; its lines add "
        "up to %(lines_net)s, %(lines_tax)s, %(lines_gross)s; %(bad)d line(s) not rounded "
        "half up."
    ) % {"number": number, "net": net, "tax": tax, "gross": gross, "lines_net": lines_net,
         "lines_tax": lines_tax, "lines_gross": lines_gross, "bad": bad_lines}  # fmt: skip


def _outside(row) -> str:
    user_subscription, subscription, state, status = row
    return _(
        "User subscription %(user_subscription)s (%(state)s) lies outside the life of "
        "subscription %(subscription)s (%(status)s)."
    ) % {"user_subscription": user_subscription, "state": state,
         "subscription": subscription, "status": status}  # fmt: skip


def _seats(row) -> str:
    subscription, users, maximum = row
    return _(
        "Subscription %(subscription)s: %(users)d users hold a seat, the maximum is %(maximum)d."
    ) % {"subscription": subscription, "users": users, "maximum": maximum}


def _coupon(row) -> str:
    code, nth, limit = row
    return _("Redemption %(nth)d of code %(code)s, whose limit is %(limit)d.") % {
        "nth": nth,
        "code": code,
        "limit": limit,
    }


def _unbilled(row) -> str:
    subscription, count, first = row
    return _(
        "Subscription %(subscription)s: %(count)d elapsed period(s) without an invoice, "
        "the first from %(first)s."
    ) % {"subscription": subscription, "count": count, "first": first.isoformat()}


INVARIANTS: tuple[Invariant, ...] = (
    Invariant("invoice_once_per_period", gettext_lazy("One invoice per subscription and period"),
              INVOICE_ONCE_PER_PERIOD, _duplicate),
    Invariant("invoice_totals", gettext_lazy("Invoice totals equal their rounded lines"),
              INVOICE_TOTALS, _totals),
    Invariant("user_subscription_in_parent",
              gettext_lazy("No user subscription outside its subscription's life"),
              USER_SUBSCRIPTION_IN_PARENT, _outside),
    Invariant("seats_within_maximum", gettext_lazy("Seats never above the maximum"),
              SEATS_WITHIN_MAXIMUM, _seats),
    Invariant("coupon_redemptions_within_limit",
              gettext_lazy("Coupon redemptions never above their limit"),
              COUPON_REDEMPTIONS_WITHIN_LIMIT, _coupon),
    Invariant("elapsed_periods_billed",
              gettext_lazy("Every elapsed period of an active subscription invoiced"),
              ELAPSED_PERIODS_BILLED, _unbilled),
)  # fmt: skip

TITLES = {invariant.code: invariant.title for invariant in INVARIANTS}


def supported() -> bool:
    return connection.vendor == "postgresql"


def find_violations(*, only: str | None = None) -> list[Violation]:
    """Every row that breaks an invariant (one query each), in invariant order.
    `only` limits the check to one invariant (by code)."""
    params = {"tz": settings.TIME_ZONE}
    violations = []
    with connection.cursor() as cursor:
        for invariant in INVARIANTS:
            if only is not None and invariant.code != only:
                continue
            cursor.execute(invariant.sql, params if "%(tz)s" in invariant.sql else None)
            for customer_id, subject, *details in cursor.fetchall():
                violations.append(
                    Violation(invariant.code, customer_id, subject, invariant.describe(details))
                )
    return violations
