"""Billable users of corporate subscriptions (SPEC §4, issue 7 item 2).

The source is the **subscription log** (seats.LogEntry), as the SPEC says: every user
subscription has one STARTED row and, once it has ended, one ENDED row, so each user
subscription is the half-open interval [started, ended) (open while there is no ENDED
row). `UserSubscription.started_at/ended_at` hold the same instants when everything goes
through the seats services, but the log is append-only and is what finance audits, so
the invoice is counted from it; the (seat_account, at) index makes it as cheap.

A user cancelled "at period end" keeps access until then: the ENDED row is written (at
`ends_at`) by the seats sweep. A reactivated user gets a new user subscription, so a
user may have several intervals per product; they never overlap (one running access per
user and product is a database constraint).

How users of a period [start, end) are counted is the contract's `user_counting`:

* ``any_time`` — distinct users with an interval that overlaps the period.
* ``peak`` — the most users active at the same instant; an access that ends at the
  moment another starts does not overlap it (half-open intervals).
* ``period_end`` — users still active at the end of the period: started before `end`
  and not ended before it. A user cancelled to the period end had access until the last
  moment and counts; one starting exactly at `end` belongs to the next period.
* ``daily_average`` — the period is cut into days on the merchant's wall clock from the
  period's start (local midnight to midnight for periods anchored at midnight; 24-hour
  slices from the anchor's time of day otherwise); each user counts once on every day
  on which they were active at any moment; the sum over the days divided by the number
  of days, rounded **up** to a whole user.

`billable_users` counts many (account, product, period, mode) windows in **one** query
(the billing run passes a whole chunk of subscriptions): the windows go in as arrays
(`unnest`); "any time" is an anti-join of STARTED rows against ENDED ones; the other
modes build the intervals from the log rows of those accounts by one GROUP BY and
aggregate them — window functions for the peak, gaps-and-islands over day numbers for
the daily average (no `generate_series`, so 100 users x 31 days cost 100 rows, not
3,100). Only the parts the windows' modes need are in the query. `count_users` is the
plain-Python reference the tests compare it with.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection

from catalog.models import CorporateContract

Counting = CorporateContract.UserCounting
ANY_TIME, PEAK, PERIOD_END, DAILY_AVERAGE = (
    Counting.ANY_TIME.value,
    Counting.PEAK.value,
    Counting.PERIOD_END.value,
    Counting.DAILY_AVERAGE.value,
)
DAY = 86400  # seconds of a wall-clock day


@dataclass(frozen=True)
class Window:
    """Count the users of `product_id` in seat account `account_id` over [start, end)."""

    account_id: int
    product_id: int
    start: datetime
    end: datetime
    counting: str = ANY_TIME


# --- the pure reference ------------------------------------------------------------


@dataclass(frozen=True)
class Interval:
    """One user subscription's access: [started, ended), `ended` None while it runs."""

    user_id: int
    started: datetime
    ended: datetime | None = None


def period_days(start: datetime, end: datetime, zone: ZoneInfo | None = None) -> int:
    """Days of [start, end) on the merchant's wall clock (a started day counts)."""
    zone = zone or ZoneInfo(settings.TIME_ZONE)
    seconds = (_wall(end, zone) - _wall(start, zone)).total_seconds()
    return max(1, math.ceil(seconds / DAY))


def _wall(moment: datetime, zone: ZoneInfo) -> datetime:
    """The naive wall-clock time in `zone` (differences of these ignore DST shifts)."""
    return moment.astimezone(zone).replace(tzinfo=None)


def _day(moment: datetime, start: datetime, zone: ZoneInfo) -> int:
    return math.floor((_wall(moment, zone) - _wall(start, zone)).total_seconds() / DAY)


def count_users(
    intervals: Iterable[Interval],
    start: datetime,
    end: datetime,
    counting: str,
    zone: ZoneInfo | None = None,
) -> int:
    """Billable users of [start, end) by `counting` (see the module docstring)."""
    zone = zone or ZoneInfo(settings.TIME_ZONE)
    inside = [
        (i.user_id, max(i.started, start), min(i.ended or end, end))
        for i in intervals
        if i.started < end and (i.ended is None or i.ended > start)
    ]
    if counting == ANY_TIME:
        return len({user for user, _s, _e in inside})
    if counting == PERIOD_END:
        return len({user for user, _s, e in inside if e == end})
    if counting == PEAK:
        events = sorted([(s, 1) for _u, s, _e in inside] + [(e, -1) for _u, _s, e in inside])
        peak = running = 0
        for index, (moment, delta) in enumerate(events):
            running += delta
            if index + 1 == len(events) or events[index + 1][0] != moment:
                peak = max(peak, running)
        return peak
    if counting == DAILY_AVERAGE:
        days: set[tuple[int, int]] = set()
        for user, s, e in inside:
            first, last = _day(s, start, zone), _day(e - timedelta(microseconds=1), start, zone)
            days.update((user, day) for day in range(first, last + 1))
        return -(-len(days) // period_days(start, end, zone))
    raise ValueError(f"Unknown way of counting users {counting!r}.")


# --- SQL: many windows at once -------------------------------------------------------

# The query is put together from the parts the windows' modes need (most contracts
# count "any time", which needs neither the intervals' CTE nor the window functions).
WINDOWS_CTE = """
w AS (
    SELECT * FROM unnest(%(k)s::int[], %(account)s::bigint[], %(product)s::bigint[],
                         %(start)s::timestamptz[], %(end)s::timestamptz[], %(mode)s::text[])
        AS w(k, account_id, product_id, p_start, p_end, mode)
)"""
# A user counts when one of their user subscriptions started before the end and did not
# end by the start: an anti-join, no grouping of log rows needed.
ANY_TIME_SQL = """
SELECT w.k, count(DISTINCT l.user_id)
FROM w JOIN seats_logentry l
  ON l.seat_account_id = w.account_id AND l.product_id = w.product_id
 AND l.action = 'started' AND l.at < w.p_end
WHERE w.mode = 'any_time' AND NOT EXISTS (
    SELECT 1 FROM seats_logentry ended
    WHERE ended.user_subscription_id = l.user_subscription_id
      AND ended.action = 'ended' AND ended.at <= w.p_start)
GROUP BY w.k"""
# One interval per user subscription, clipped to each window it overlaps.
INTERVALS_CTE = """
iv AS (
    SELECT l.seat_account_id AS account_id, l.product_id, l.user_id,
           min(l.at) FILTER (WHERE l.action = 'started') AS s,
           max(l.at) FILTER (WHERE l.action = 'ended') AS e
    FROM seats_logentry l
    WHERE l.seat_account_id = ANY(%(accounts)s::bigint[]) AND l.at < %(last_end)s
    GROUP BY l.user_subscription_id, l.seat_account_id, l.product_id, l.user_id
),
x AS (
    SELECT w.k, w.mode, w.p_start, w.p_end, iv.user_id,
           greatest(iv.s, w.p_start) AS s,
           least(coalesce(iv.e, 'infinity'::timestamptz), w.p_end) AS e
    FROM w JOIN iv ON iv.account_id = w.account_id AND iv.product_id = w.product_id
    WHERE w.mode <> 'any_time' AND iv.s IS NOT NULL AND iv.s < w.p_end
      AND (iv.e IS NULL OR iv.e > w.p_start)
)"""
PERIOD_END_SQL = """
SELECT k, count(DISTINCT user_id) FROM x WHERE mode = 'period_end' AND e = p_end GROUP BY k"""
PEAK_CTE = """
edges AS (
    SELECT k, s AS t, 1 AS delta FROM x WHERE mode = 'peak'
    UNION ALL
    SELECT k, e, -1 FROM x WHERE mode = 'peak'
),
running AS (
    SELECT k, sum(delta) OVER (PARTITION BY k ORDER BY t) AS active FROM edges
)"""
PEAK_SQL = """
SELECT k, max(active) FROM running GROUP BY k"""
# Day numbers on the wall clock from the period start; a user's days merged with
# gaps-and-islands (a new island where a range starts after all earlier ones ended).
DAYS_CTE = """
days AS (
    SELECT k, user_id,
           floor(extract(epoch FROM (s AT TIME ZONE %(tz)s) - (p_start AT TIME ZONE %(tz)s))
                 / 86400)::int AS d0,
           floor(extract(epoch FROM ((e - interval '1 microsecond') AT TIME ZONE %(tz)s)
                 - (p_start AT TIME ZONE %(tz)s)) / 86400)::int AS d1
    FROM x WHERE mode = 'daily_average'
),
runs AS (
    SELECT k, user_id, d0, d1,
           max(d1) OVER (PARTITION BY k, user_id ORDER BY d0, d1
                         ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS before
    FROM days
),
islands AS (
    SELECT k, user_id, d0, d1,
           count(*) FILTER (WHERE before IS NULL OR d0 > before)
               OVER (PARTITION BY k, user_id ORDER BY d0, d1) AS island
    FROM runs
)"""
DAYS_SQL = """
SELECT k, sum(days) FROM (
    SELECT k, max(d1) - min(d0) + 1 AS days FROM islands GROUP BY k, user_id, island
) AS user_days GROUP BY k"""


def usage_sql(modes: set[str]) -> str:
    """The counting query for windows in these modes (each window answers one row)."""
    ctes, selects = [WINDOWS_CTE], []
    if ANY_TIME in modes:
        selects.append(ANY_TIME_SQL)
    if modes - {ANY_TIME}:
        ctes.append(INTERVALS_CTE)
    if PERIOD_END in modes:
        selects.append(PERIOD_END_SQL)
    if PEAK in modes:
        ctes.append(PEAK_CTE)
        selects.append(PEAK_SQL)
    if DAILY_AVERAGE in modes:
        ctes.append(DAYS_CTE)
        selects.append(DAYS_SQL)
    return "WITH " + ",".join(ctes) + "\nUNION ALL".join(selects)


def billable_users(windows: Sequence[Window]) -> list[int]:
    """The billable users of each window, in order, from one query (none for no
    windows). Modes other than the four raise ValueError before anything runs."""
    if not windows:
        return []
    for window in windows:
        if window.counting not in Counting.values:
            raise ValueError(f"Unknown way of counting users {window.counting!r}.")
    zone = ZoneInfo(settings.TIME_ZONE)
    if connection.vendor != "postgresql":
        return _billable_users_in_python(windows, zone)
    params = {
        "k": list(range(len(windows))),
        "account": [w.account_id for w in windows],
        "product": [w.product_id for w in windows],
        "start": [w.start for w in windows],
        "end": [w.end for w in windows],
        "mode": [w.counting for w in windows],
        "accounts": sorted({w.account_id for w in windows}),
        "last_end": max(w.end for w in windows),
        "tz": settings.TIME_ZONE,
    }
    counts = [0] * len(windows)
    with connection.cursor() as cursor:
        cursor.execute(usage_sql({w.counting for w in windows}), params)
        raw = dict(cursor.fetchall())
    for k, window in enumerate(windows):
        value = int(raw.get(k) or 0)
        if window.counting == DAILY_AVERAGE and value:
            value = -(-value // period_days(window.start, window.end, zone))
        counts[k] = value
    return counts


def _billable_users_in_python(windows: Sequence[Window], zone: ZoneInfo) -> list[int]:
    """The same counts through the reference, for databases other than PostgreSQL (the
    SQLite demo): the log rows of the windows' accounts, read in one query."""
    from seats.models import LogEntry

    rows = LogEntry.objects.filter(seat_account_id__in={w.account_id for w in windows}).values_list(
        "seat_account_id", "product_id", "user_id", "user_subscription_id", "action", "at"
    )
    spans: dict[int, dict] = {}
    for account_id, product_id, user_id, user_subscription_id, action, at in rows:
        span = spans.setdefault(user_subscription_id, {"key": (account_id, product_id),
                                                        "user": user_id})  # fmt: skip
        span[action] = at
    intervals: dict[tuple[int, int], list[Interval]] = {}
    for span in spans.values():
        if "started" in span:
            interval = Interval(span["user"], span["started"], span.get("ended"))
            intervals.setdefault(span["key"], []).append(interval)
    return [
        count_users(
            intervals.get((w.account_id, w.product_id), []), w.start, w.end, w.counting, zone
        )
        for w in windows
    ]


def counting_label(counting: str) -> str:
    """What an invoice line and the usage page say about the count."""
    return str(Counting(counting).label)


def average_unit_price(amount: Decimal, quantity: int) -> Decimal:
    """The unit price shown on a usage line: the priced amount per billable user, to
    four places (the line's net is the engine's amount, never re-multiplied)."""
    if not quantity:
        return Decimal("0.0000")
    return (amount / quantity).quantize(Decimal("0.0001"))


# --- one subscription, for the portal ------------------------------------------------


@dataclass(frozen=True)
class ProductUsage:
    """One product of a corporate subscription over a period: its billable users, how
    they were counted, and what the contract charges for them (`amount`: base fee
    included, as `billing.pricing.price` gives it; `base_fee` the part of it that is
    the base fee). `amount` is None when the contract's tiers are not a valid schedule."""

    product: object
    contract: CorporateContract
    users: int
    counting: str
    amount: Decimal | None
    base_fee: Decimal

    @property
    def counting_label(self) -> str:
        return counting_label(self.counting)


def contracts_for_subscription(subscription) -> list[CorporateContract]:
    """The contracts of a corporate subscription's offer with their products and tiers,
    in product-name order (the order of the invoice's lines)."""
    return list(
        subscription.corporate_offer.contracts.select_related("product")
        .prefetch_related("tiers")
        .order_by("product__name", "pk")
    )


def usage_for_subscription(*, subscription, start: datetime, end: datetime) -> list[ProductUsage]:
    """Users per product of a corporate subscription over [start, end), counted as each
    contract says and priced by the engine (one counting query for all products)."""
    from billing.pricing import price
    from billing.selectors import price_schedule_for_contract

    contracts = contracts_for_subscription(subscription)
    account_id = _seat_account_id(subscription)
    windows = [
        Window(account_id or 0, c.product_id, start, end, c.user_counting) for c in contracts
    ]
    counts = billable_users(windows) if account_id else [0] * len(windows)
    usage = []
    for contract, users in zip(contracts, counts, strict=True):
        try:
            amount = price(price_schedule_for_contract(contract), users)
        except ValueError:
            amount = None
        usage.append(
            ProductUsage(
                contract.product,
                contract,
                users,
                contract.user_counting,
                amount,
                contract.base_fee_amount,
            )
        )
    return usage


def _seat_account_id(subscription) -> int | None:
    from seats.models import SeatAccount

    return (
        SeatAccount.objects.filter(subscription=subscription).values_list("pk", flat=True).first()
    )
