"""Time travel (issue 10, point 4): each kind of subscription through month ends, leap
years, both daylight-saving switches in Europe/Berlin, renewal and cancellation.

The clock really moves (time-machine) and, at each instant, the scheduler's own jobs run
in the order of a quiet cluster: `subscriptions_advance` (renewals and ends, every 5
minutes), `user_subscriptions_end_due` (seats, every 5 minutes) and the daily billing run
`billing_run_for_date` (its chunk tasks run after commit, as a Django-Q2 worker would run
them). Purchases, corporate deals, seats, coupons and cancellations go through the real
services at their own instants. Nothing is invoiced by hand.

The clock ticks at 00:30 and 23:30 local time on every day from the day before to the
day after each period boundary, action and daylight-saving switch (on the switch days
also at 02:30 on both sides of the switch), and at noon every 14 days in between. A run
at 23:30 on the day before a boundary must not bill the next period; the run at 00:30 —
still the previous day in UTC — must.

Every invoice (number, local issue day, kind, period in local time, each line's net, tax
and gross, the totals) and every domain event of the outbox, in order, is compared with a
table written out by hand below. The amounts are worked out in the comments from the
price rules (half up to the cent per line, tax per line, totals = sums of lines), never
by calling the product's pricing or period functions.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from billing.models import Invoice
from billing.services.runs import billing_run_for_date
from catalog.models import CorporateContract, PeriodUnit, Term
from notifications.models import Event
from seats.models import UserSubscription
from seats.services.seats import (
    seat_account_for_subscription,
    user_add_existing,
    user_subscription_cancel,
    user_subscriptions_end_due,
)
from subscriptions.models import Subscription
from subscriptions.services.corporate import corporate_subscription_create
from subscriptions.services.lifecycle import (
    subscription_cancel,
    subscription_undo_cancellation,
    subscriptions_advance,
)
from subscriptions.services.purchase import INVOICE, subscription_purchase
from tests.coupons.factories import make_campaign
from tests.factories import (
    BundleFactory,
    CorporateContractFactory,
    CorporateOfferFactory,
    OfferFactory,
    ProductFactory,
    TermFactory,
)
from tests.seats.factories import UserFactory
from tests.subscriptions.factories import CustomerFactory

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")
DST_DAYS = {date(2027, 3, 28), date(2027, 10, 31), date(2028, 3, 26), date(2028, 10, 29)}
IDLE_STEP = 14  # days between ticks away from anything interesting


def local(text: str) -> datetime:
    """Wall-clock text in Berlin ("2028-01-31 10:00") as an aware datetime; an offset
    picks one of the repeated autumn hour ("2027-10-31 02:10+01:00", the second)."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is not None:
        return moment.astimezone(BERLIN)
    return moment.replace(tzinfo=BERLIN)


def show(moment: datetime | str | None) -> str | None:
    """A moment (or an ISO string from a payload) as Berlin wall-clock text."""
    if moment is None:
        return None
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.astimezone(BERLIN).strftime("%Y-%m-%d %H:%M")


# --- the clock ------------------------------------------------------------------------


class Clock:
    """Moves time and runs the scheduler's jobs, as the Django-Q2 cluster would.

    The billing run queues one task per chunk after commit; those run here. What they
    queue in turn (delivering the outbox's events, rendering PDFs at about a second
    each) is left out: it changes neither an invoice nor the outbox."""

    def __init__(self, capture):
        self.capture = capture  # django_capture_on_commit_callbacks

    def act(self, at: datetime, action: Callable[[], object]) -> None:
        with time_machine.travel(at, tick=False):
            action()

    def tick(self, at: datetime) -> None:
        with time_machine.travel(at, tick=False):
            subscriptions_advance()
            user_subscriptions_end_due()
            with self.capture() as queued:
                billing_run_for_date()  # the daily schedule's entry point
            for task in queued:  # the run's chunks (billing.tasks.bill_chunk)
                with self.capture():  # their follow-up tasks: not run
                    task()

    @staticmethod
    def instants(day: date, first: date, near: set[date]) -> list[datetime]:
        """00:30 and 23:30 near anything interesting, plus 02:30 on both sides of a
        daylight-saving switch (in March it does not exist: both folds, one hour apart
        in UTC, land either side of the gap; in October it happens twice), in UTC order;
        noon every IDLE_STEP days otherwise."""
        if day in DST_DAYS:
            times = [time(0, 30), time(2, 30), time(2, 30, fold=1), time(23, 30)]
        elif day in near:
            times = [time(0, 30), time(23, 30)]
        elif (day - first).days % IDLE_STEP == 0:
            times = [time(12)]
        else:
            return []
        moments = {datetime.combine(day, at, tzinfo=BERLIN).astimezone(UTC) for at in times}
        return sorted(moments)

    def walk(self, first: date, last: date, busy: set[date], actions: dict[str, Callable]):
        """Tick through [first, last]; `actions` (local time text → callable) happen at
        their instants between the ticks."""
        # By instant: aware datetimes of one zone compare by wall clock in Python.
        pending = sorted(
            ((local(text), a) for text, a in actions.items()), key=lambda p: p[0].astimezone(UTC)
        )
        near = {day + timedelta(days=d) for day in busy | DST_DAYS | {first} for d in (-1, 0, 1)}
        near |= {local(text).date() + timedelta(days=d) for text in actions for d in (-1, 0, 1)}
        day = first
        while day <= last:
            for moment in self.instants(day, first, near):
                while pending and pending[0][0] <= moment:
                    self.act(*pending.pop(0))
                self.tick(moment)
            day += timedelta(days=1)
        for at, action in pending:
            self.act(at, action)


@pytest.fixture
def clock(django_capture_on_commit_callbacks):
    return Clock(django_capture_on_commit_callbacks)


# --- what happened, as text -------------------------------------------------------------


def invoices() -> list[tuple]:
    rows = []
    for invoice in Invoice.objects.order_by("pk").prefetch_related("lines"):
        lines = [
            (line.kind, str(line.net_amount), str(line.tax_amount), str(line.gross_amount))
            for line in sorted(invoice.lines.all(), key=lambda line: line.position)
        ]
        rows.append(
            (
                invoice.number,
                invoice.issued_at.astimezone(BERLIN).date().isoformat(),
                invoice.billing,
                show(invoice.period_start),
                show(invoice.period_end),
                lines,
                (str(invoice.net_amount), str(invoice.tax_amount), str(invoice.gross_amount)),
            )
        )
    return rows


def events() -> list[tuple]:
    """The outbox in order, each event with the payload fields that matter for it."""
    rows = []
    for event in Event.objects.order_by("pk"):
        payload, kind = event.payload, event.type
        if kind == "invoice.issued":
            rows.append((kind, payload["number"], payload["gross"]))
        elif kind == "subscription.created":
            coupon = payload["coupon"]
            rows.append((kind, payload["price"], coupon and coupon["discount"]))
        elif kind == "subscription.renewed":
            rows.append((kind, show(payload["period_start"]), show(payload["period_end"])))
        elif kind.startswith("subscription."):
            penalty = payload.get("penalty")
            rows.append(
                (kind, payload["status"], show(payload["ends_at"]), penalty and penalty["amount"])
            )
        elif kind.startswith("user_subscription."):
            rows.append((kind, payload["user"], payload["via"], show(payload["ends_at"])))
        else:
            rows.append((kind,))
    return rows


def user(email: str, customer=None):
    return UserFactory(email=email, customer=customer)


def access_of(email: str) -> UserSubscription:
    return UserSubscription.objects.get(user__email=email, state__in=["active", "cancelled"])


def add_user(person, staff) -> Callable[[], object]:
    """Staff add `person` to the (only) subscription's seat account."""

    def action():
        account = seat_account_for_subscription(subscription=Subscription.objects.get())
        return user_add_existing(account=account, user=person, actor=staff)

    return action


def cancel_access(email: str, mode: str) -> Callable[[], object]:
    return lambda: user_subscription_cancel(user_subscription=access_of(email), mode=mode)


def corporate_customer():
    customer = CustomerFactory(company=True)
    customer.main_user = user("admin@firma.example", customer)
    customer.save(update_fields=["main_user"])
    return customer


def corporate_start(customer, offer, text: str) -> Callable[[], object]:
    return lambda: corporate_subscription_create(
        customer=customer, corporate_offer=offer, starts_at=local(text)
    )


def buy(customer, offer, **purchase) -> Callable[[], object]:
    purchase.setdefault("payment_method", INVOICE)
    return lambda: subscription_purchase(customer=customer, offer=offer, **purchase)


def cancel(mode: str) -> Callable[[], object]:
    def action():
        return subscription_cancel(subscription=Subscription.objects.get(), mode=mode)

    return action


# === 1. single user: month ends, leap year, notice period ===============================
#
# 9.99 EUR a month, 19 % VAT: tax 9.99 x 0.19 = 1.8981 → 1.90, gross 11.89.
# Bought on 31 January at 10:00; the anchor day 31 is clamped to the month's end and comes
# back (Stripe's rule): 31 Jan → 29 Feb (28 Feb in 2027) → 31 Mar → 30 Apr.
# Term: 1 month, cancellable, notice 14 days before the period end.

SUB = [("subscription", "9.99", "1.90", "11.89")]
SUB_TOTAL = ("9.99", "1.90", "11.89")

SINGLE_USER = {
    # 2028 (leap): cancelled on 17 Mar at 10:01, one minute after the deadline for the
    # period ending 31 Mar 10:00 (31 Mar - 14 days = 17 Mar 10:00): ends 30 Apr 10:00.
    "leap-2028-late-notice": {
        "start": "2028-01-31 10:00",
        "cancel_at": "2028-03-17 10:01",
        "until": date(2028, 5, 3),
        "busy": {date(2028, 2, 29), date(2028, 3, 31), date(2028, 4, 30)},
        "invoices": [
            (
                "2028-000001",
                "2028-01-31",
                "in_advance",
                "2028-01-31 10:00",
                "2028-02-29 10:00",
                SUB,
                SUB_TOTAL,
            ),
            (
                "2028-000002",
                "2028-02-29",
                "in_advance",
                "2028-02-29 10:00",
                "2028-03-31 10:00",
                SUB,
                SUB_TOTAL,
            ),
            (
                "2028-000003",
                "2028-03-31",
                "in_advance",
                "2028-03-31 10:00",
                "2028-04-30 10:00",
                SUB,
                SUB_TOTAL,
            ),
        ],
        "events": [
            ("subscription.created", "9.99", None),
            ("invoice.issued", "2028-000001", "11.89"),  # 31 Jan 23:30
            ("invoice.issued", "2028-000002", "11.89"),  # 29 Feb 00:30, in advance that day
            ("subscription.renewed", "2028-02-29 10:00", "2028-03-31 10:00"),  # 29 Feb 23:30
            ("subscription.cancelled", "cancelled", "2028-04-30 10:00", None),
            ("invoice.issued", "2028-000003", "11.89"),
            ("subscription.renewed", "2028-03-31 10:00", "2028-04-30 10:00"),
            ("subscription.ended", "ended", "2028-04-30 10:00", None),  # 30 Apr 23:30
        ],
    },
    # 2028, cancelled on 10 Feb in time for 29 Feb 10:00, withdrawn on 20 Feb: goes on.
    "leap-2028-cancellation-undone": {
        "start": "2028-01-31 10:00",
        "cancel_at": "2028-02-10 12:00",
        "undo_at": "2028-02-20 12:00",
        "until": date(2028, 4, 2),
        "busy": {date(2028, 2, 29), date(2028, 3, 31)},
        "invoices": [
            (
                "2028-000001",
                "2028-01-31",
                "in_advance",
                "2028-01-31 10:00",
                "2028-02-29 10:00",
                SUB,
                SUB_TOTAL,
            ),
            (
                "2028-000002",
                "2028-02-29",
                "in_advance",
                "2028-02-29 10:00",
                "2028-03-31 10:00",
                SUB,
                SUB_TOTAL,
            ),
            (
                "2028-000003",
                "2028-03-31",
                "in_advance",
                "2028-03-31 10:00",
                "2028-04-30 10:00",
                SUB,
                SUB_TOTAL,
            ),
        ],
        "events": [
            ("subscription.created", "9.99", None),
            ("invoice.issued", "2028-000001", "11.89"),
            ("subscription.cancelled", "cancelled", "2028-02-29 10:00", None),
            ("subscription.cancellation_undone", "active", None, None),
            ("invoice.issued", "2028-000002", "11.89"),
            ("subscription.renewed", "2028-02-29 10:00", "2028-03-31 10:00"),
            ("invoice.issued", "2028-000003", "11.89"),
            ("subscription.renewed", "2028-03-31 10:00", "2028-04-30 10:00"),
        ],
    },
    # 2027: cancelled on 17 Mar at 09:59, in time (deadline 17 Mar 10:00 CET for the
    # period ending 31 Mar 10:00 CEST): ends 31 Mar 10:00.
    "non-leap-2027-in-time": {
        "start": "2027-01-31 10:00",
        "cancel_at": "2027-03-17 09:59",
        "until": date(2027, 4, 3),
        "busy": {date(2027, 2, 28), date(2027, 3, 31)},
        "invoices": [
            (
                "2027-000001",
                "2027-01-31",
                "in_advance",
                "2027-01-31 10:00",
                "2027-02-28 10:00",
                SUB,
                SUB_TOTAL,
            ),
            (
                "2027-000002",
                "2027-02-28",
                "in_advance",
                "2027-02-28 10:00",
                "2027-03-31 10:00",
                SUB,
                SUB_TOTAL,
            ),
        ],
        "events": [
            ("subscription.created", "9.99", None),
            ("invoice.issued", "2027-000001", "11.89"),
            ("invoice.issued", "2027-000002", "11.89"),
            ("subscription.renewed", "2027-02-28 10:00", "2027-03-31 10:00"),
            ("subscription.cancelled", "cancelled", "2027-03-31 10:00", None),
            ("subscription.ended", "ended", "2027-03-31 10:00", None),
        ],
    },
}


@pytest.mark.parametrize("case", SINGLE_USER.values(), ids=SINGLE_USER.keys())
def test_single_user_subscription_through_month_ends_and_a_notice_period(clock, case):
    term = TermFactory(
        commitment_count=1, notice_period_count=14, notice_period_unit=PeriodUnit.DAY
    )
    offer = OfferFactory(
        price_amount=Decimal("9.99"), term=term, product=ProductFactory(tax_rate=Decimal(19))
    )
    customer = CustomerFactory()
    actions = {
        case["start"]: buy(customer, offer),
        case["cancel_at"]: cancel("period_end"),
    }
    if "undo_at" in case:
        actions[case["undo_at"]] = lambda: subscription_undo_cancellation(
            subscription=Subscription.objects.get()
        )
    clock.walk(local(case["start"]).date(), case["until"], case["busy"], actions)

    assert invoices() == case["invoices"]
    assert events() == case["events"]


# The repeated hour: 31 Oct 2027 runs 02:00-03:00 CEST, then 02:00-03:00 CET again. A
# subscription bought at 02:50 renews at 02:50 CEST (00:50 UTC). A cancellation at 02:10
# CET (01:10 UTC) comes after that renewal: it takes effect at the end of the period that
# has just begun, 30 Nov 02:50. (Found here: periods were compared by wall clock, so
# 02:10 CET counted as before 02:50 CEST; the cancellation took effect at 31 Oct 02:50,
# already past, and the 02:30 CET run of the renewal job renewed the old period again.)


def test_a_cancellation_in_the_repeated_autumn_hour_takes_effect_at_the_coming_period_end(
    clock,
):
    offer = OfferFactory(price_amount=Decimal("9.99"), product=ProductFactory(tax_rate=Decimal(19)))
    customer = CustomerFactory()
    actions = {
        "2027-08-31 02:50": buy(customer, offer),
        "2027-10-31 02:10+01:00": cancel("period_end"),
    }
    busy = {date(2027, 9, 30), date(2027, 10, 31), date(2027, 11, 30)}
    clock.walk(date(2027, 8, 31), date(2027, 12, 2), busy, actions)

    assert invoices() == [
        ("2027-000001", "2027-08-31", "in_advance", "2027-08-31 02:50", "2027-09-30 02:50",
         SUB, SUB_TOTAL),
        ("2027-000002", "2027-09-30", "in_advance", "2027-09-30 02:50", "2027-10-31 02:50",
         SUB, SUB_TOTAL),
        ("2027-000003", "2027-10-31", "in_advance", "2027-10-31 02:50", "2027-11-30 02:50",
         SUB, SUB_TOTAL),
    ]  # fmt: skip
    assert events() == [
        ("subscription.created", "9.99", None),
        ("invoice.issued", "2027-000001", "11.89"),  # 31 Aug 23:30
        ("invoice.issued", "2027-000002", "11.89"),  # 30 Sep 00:30
        ("subscription.renewed", "2027-09-30 02:50", "2027-10-31 02:50"),  # 30 Sep 23:30
        ("invoice.issued", "2027-000003", "11.89"),  # 31 Oct 00:30 CEST
        ("subscription.cancelled", "cancelled", "2027-11-30 02:50", None),  # 02:10 CET
        ("subscription.renewed", "2027-10-31 02:50", "2027-11-30 02:50"),  # 02:30 CET
        ("subscription.ended", "ended", "2027-11-30 02:50", None),  # 30 Nov 23:30
    ]


# === 2. multi-user: a period boundary on the spring daylight-saving day =================
#
# 24.90 EUR a month for the main user and up to 4 users, 19 % VAT: tax 4.731 → 4.73,
# gross 29.63. Bought at midnight on 28 Feb 2027: periods 28 Feb 00:00 CET → 28 Mar
# 00:00 CET (the clocks jump at 02:00 that day) → 28 Apr 00:00 CEST.

MULTI = [("subscription", "24.90", "4.73", "29.63")]
MULTI_TOTAL = ("24.90", "4.73", "29.63")


def test_multi_user_subscription_across_the_spring_switch_with_users_coming_and_going(clock):
    offer = OfferFactory(
        multi_user=True, price_amount=Decimal("24.90"), product=ProductFactory(code="daily")
    )
    customer = CustomerFactory()
    main = user("main@example.com", customer)
    customer.main_user = main
    customer.save(update_fields=["main_user"])
    staff = UserFactory(email="staff@kontor.example", is_staff=True)
    ada, ben = user("ada@example.com"), user("ben@example.com")

    def account():
        return seat_account_for_subscription(subscription=Subscription.objects.get())

    actions = {
        "2027-02-28 00:00": buy(customer, offer),
        "2027-03-01 09:00": lambda: user_add_existing(account=account(), user=ada, actor=staff),
        "2027-03-20 09:00": lambda: user_add_existing(account=account(), user=ben, actor=staff),
        # At the period end: 28 Mar 00:00 CET (27 Mar 23:00 UTC).
        "2027-03-27 12:00": lambda: user_subscription_cancel(
            user_subscription=access_of("ada@example.com"), mode="period_end"
        ),
        # No term: ends at the end of the current period, 28 Apr 00:00 CEST.
        "2027-04-10 12:00": cancel("period_end"),
    }
    busy = {date(2027, 3, 28), date(2027, 4, 28)}
    clock.walk(date(2027, 2, 28), date(2027, 5, 1), busy, actions)

    assert invoices() == [
        ("2027-000001", "2027-02-28", "in_advance", "2027-02-28 00:00", "2027-03-28 00:00",
         MULTI, MULTI_TOTAL),
        # 00:30 CET on 28 Mar is still 27 Mar in UTC: the run's day is the local one.
        ("2027-000002", "2027-03-28", "in_advance", "2027-03-28 00:00", "2027-04-28 00:00",
         MULTI, MULTI_TOTAL),
    ]  # fmt: skip
    assert events() == [
        ("subscription.created", "24.90", None),
        ("invoice.issued", "2027-000001", "29.63"),  # 28 Feb 00:30
        ("user_subscription.created", "ada@example.com", "staff", None),
        ("user_subscription.created", "ben@example.com", "staff", None),
        ("user_subscription.cancelled", "ada@example.com", "cancelled", "2027-03-28 00:00"),
        # 28 Mar 00:30: renewal, Ada's access ends, then the run bills the new period.
        ("subscription.renewed", "2027-03-28 00:00", "2027-04-28 00:00"),
        ("user_subscription.ended", "ada@example.com", "cancelled", "2027-03-28 00:00"),
        ("invoice.issued", "2027-000002", "29.63"),
        ("subscription.cancelled", "cancelled", "2027-04-28 00:00", None),
        # 28 Apr 00:30: the subscription ends, and with it Ben's access.
        ("subscription.ended", "ended", "2027-04-28 00:00", None),
        ("user_subscription.ended", "ben@example.com", "subscription_ended", "2027-04-28 00:00"),
    ]


# === 3. corporate: post-billing with graduated tiers, autumn switch, leap February =====
#
# One contract, per user, graduated: users 1-2 at 9.95, each further user at 7.45; base
# fee 4.99; 7 % VAT; users counted who were active at any time in the accounting period
# (monthly); subscription interval 3 months, cancellable up to 1 month before its end.
#
#   users  usage line: net / tax / gross                 base fee line: net / tax / gross
#   1      9.95 / 0.6965 → 0.70 / 10.65                  4.99 / 0.3493 → 0.35 / 5.34
#   2      19.90 / 1.393 → 1.39 / 21.29                  4.99 / 0.35 / 5.34
#   3      19.90 + 7.45 = 27.35 / 1.9145 → 1.91 / 29.26  4.99 / 0.35 / 5.34
#   4      19.90 + 14.90 = 34.80 / 2.436 → 2.44 / 37.24  4.99 / 0.35 / 5.34
#   totals (net / tax / gross): 1 user 14.94 / 1.05 / 15.99; 2 users 24.89 / 1.74 / 26.63;
#   3 users 32.34 / 2.26 / 34.60; 4 users 39.79 / 2.79 / 42.58.
#
# Started 31 Aug 2027 00:00: accounting periods end 30 Sep, 31 Oct 00:00 CEST (the clocks
# go back at 03:00 that night), 30 Nov, 31 Dec, 31 Jan 2028, 29 Feb 2028; intervals end
# 30 Nov and 29 Feb. Cancelled on 15 Nov, after the 30 Oct deadline: ends 29 Feb 2028.

BASE = ("base_fee", "4.99", "0.35", "5.34")
CORPORATE_LINES = {
    1: ([("usage", "9.95", "0.70", "10.65"), BASE], ("14.94", "1.05", "15.99")),
    2: ([("usage", "19.90", "1.39", "21.29"), BASE], ("24.89", "1.74", "26.63")),
    3: ([("usage", "27.35", "1.91", "29.26"), BASE], ("32.34", "2.26", "34.60")),
    4: ([("usage", "34.80", "2.44", "37.24"), BASE], ("39.79", "2.79", "42.58")),
}


def corporate_invoice(number, issued, start, end, users):
    lines, totals = CORPORATE_LINES[users]
    return (number, issued, "in_arrears", start, end, lines, totals)


def test_corporate_post_billing_with_tiers_across_the_autumn_switch_into_a_leap_february(
    clock,
):
    contract = CorporateContractFactory(
        product=ProductFactory(code="epaper", tax_rate=Decimal(7)),
        tiers=[(2, "9.95"), (None, "7.45")],
        tier_mode=CorporateContract.TierMode.GRADUATED,
        base_fee_amount=Decimal("4.99"),
        subscription_interval_count=3,
        subscription_interval_unit=PeriodUnit.MONTH,
    )
    offer = CorporateOfferFactory(contracts=[contract])
    customer = corporate_customer()
    staff = UserFactory(email="staff@kontor.example", is_staff=True)
    people = {name: user(f"{name}@firma.example") for name in ("u1", "u2", "u3", "u4", "u5", "u6")}

    def add(name):
        return add_user(people[name], staff)

    def cancel_user(name, mode):
        return cancel_access(f"{name}@firma.example", mode)

    actions = {
        "2027-08-31 00:00": corporate_start(customer, offer, "2027-08-31 00:00"),
        "2027-08-31 09:00": add("u1"),
        "2027-10-01 09:00": add("u2"),
        # 23:59 CEST on 30 Oct: still the period ending 31 Oct 00:00.
        "2027-10-30 23:59": cancel_user("u2", "now"),
        # 01:15 CEST on 31 Oct is 23:15 UTC on 30 Oct, yet in the next period.
        "2027-10-31 01:15": add("u3"),
        "2027-11-05 09:00": add("u6"),
        "2027-11-15 12:00": cancel("period_end"),
        "2027-12-20 09:00": add("u4"),
        # Ends with the period, 31 Jan 2028 00:00: not a user of the next one. (It used to
        # end with the cancelled subscription, 29 Feb, and was billed for February.)
        "2028-01-10 09:00": cancel_user("u4", "period_end"),
        "2028-02-10 09:00": add("u5"),
    }
    busy = {
        date(2027, 9, 30), date(2027, 10, 31), date(2027, 11, 30), date(2027, 12, 31),
        date(2028, 1, 31), date(2028, 2, 29),
    }  # fmt: skip
    clock.walk(date(2027, 8, 31), date(2028, 3, 3), busy, actions)

    assert invoices() == [
        corporate_invoice("2027-000001", "2027-09-30", "2027-08-31 00:00", "2027-09-30 00:00", 1),
        corporate_invoice("2027-000002", "2027-10-31", "2027-09-30 00:00", "2027-10-31 00:00", 2),
        corporate_invoice("2027-000003", "2027-11-30", "2027-10-31 00:00", "2027-11-30 00:00", 3),
        corporate_invoice("2027-000004", "2027-12-31", "2027-11-30 00:00", "2027-12-31 00:00", 4),
        corporate_invoice("2028-000001", "2028-01-31", "2027-12-31 00:00", "2028-01-31 00:00", 4),
        corporate_invoice("2028-000002", "2028-02-29", "2028-01-31 00:00", "2028-02-29 00:00", 4),
    ]
    u = "{}@firma.example".format
    assert events() == [
        ("subscription.created", "0.00", None),
        ("user_subscription.created", u("u1"), "staff", None),
        ("subscription.renewed", "2027-09-30 00:00", "2027-10-31 00:00"),  # 30 Sep 00:30
        ("invoice.issued", "2027-000001", "15.99"),
        ("user_subscription.created", u("u2"), "staff", None),
        ("user_subscription.ended", u("u2"), "cancelled_now", "2027-10-30 23:59"),
        ("subscription.renewed", "2027-10-31 00:00", "2027-11-30 00:00"),  # 31 Oct 00:30
        ("invoice.issued", "2027-000002", "26.63"),
        ("user_subscription.created", u("u3"), "staff", None),
        ("user_subscription.created", u("u6"), "staff", None),
        ("subscription.cancelled", "cancelled", "2028-02-29 00:00", None),
        ("subscription.renewed", "2027-11-30 00:00", "2027-12-31 00:00"),
        ("invoice.issued", "2027-000003", "34.60"),
        ("user_subscription.created", u("u4"), "staff", None),
        ("subscription.renewed", "2027-12-31 00:00", "2028-01-31 00:00"),
        ("invoice.issued", "2027-000004", "42.58"),
        ("user_subscription.cancelled", u("u4"), "cancelled", "2028-01-31 00:00"),
        ("subscription.renewed", "2028-01-31 00:00", "2028-02-29 00:00"),
        ("user_subscription.ended", u("u4"), "cancelled", "2028-01-31 00:00"),
        ("invoice.issued", "2028-000001", "42.58"),
        ("user_subscription.created", u("u5"), "staff", None),
        # 29 Feb 00:30: the subscription ends, every access with it, the last period is billed.
        ("subscription.ended", "ended", "2028-02-29 00:00", None),
        ("user_subscription.ended", u("u1"), "subscription_ended", "2028-02-29 00:00"),
        ("user_subscription.ended", u("u3"), "subscription_ended", "2028-02-29 00:00"),
        ("user_subscription.ended", u("u6"), "subscription_ended", "2028-02-29 00:00"),
        ("user_subscription.ended", u("u5"), "subscription_ended", "2028-02-29 00:00"),
        ("invoice.issued", "2028-000002", "42.58"),
    ]


# === 3b. corporate, daily average: wall-clock days in the daylight-saving months ========
#
# Per user, volume: 12.00 each up to 2 users, 10.00 each from 3; 19 % VAT; users counted
# as the average over the accounting period's days on the Berlin wall clock, rounded up.
#   3 users: 30.00 / 5.70 / 35.70 (2 users would be 24.00 / 4.56 / 28.56)
# March 2027 has 31 wall-clock days of which one is 23 hours; October 2027 31 days, one
# of 25 hours. A is there all month (31 days), B from the 2nd at 00:00 (30 days), C for
# two local days around a midnight: (31 + 30 + 2) / 31 = 2.03 → 3 users.
# Counting C's days in UTC (spring: both instants fall on 27 Mar UTC) gives 62 / 31 = 2;
# counting October as 745 h / 24 h = 32 days gives 63 / 32 = 1.97 → 2.

DAILY = {
    "spring": {
        "start": "2027-03-01 00:00",
        "a": "2027-03-01 09:00",
        "b": "2027-03-02 00:00",
        "c": ("2027-03-27 23:30", "2027-03-28 00:30"),
        "end": "2027-04-01 00:00",
        "next_end": "2027-05-01 00:00",
        "until": date(2027, 4, 2),
    },
    "autumn": {
        "start": "2027-10-01 00:00",
        "a": "2027-10-01 09:00",
        "b": "2027-10-02 00:00",
        "c": ("2027-10-30 23:30", "2027-10-31 02:30"),  # 02:30 CEST, before the clocks go back
        "end": "2027-11-01 00:00",
        "next_end": "2027-12-01 00:00",
        "until": date(2027, 11, 2),
    },
}


@pytest.mark.parametrize("case", DAILY.values(), ids=DAILY.keys())
def test_corporate_daily_average_counts_wall_clock_days_in_daylight_saving_months(clock, case):
    contract = CorporateContractFactory(
        product=ProductFactory(tax_rate=Decimal(19)),
        tiers=[(2, "12.00"), (None, "10.00")],
        user_counting=CorporateContract.UserCounting.DAILY_AVERAGE,
    )
    offer = CorporateOfferFactory(contracts=[contract])
    customer = corporate_customer()
    staff = UserFactory(email="staff@kontor.example", is_staff=True)
    a, b, c = (user(f"{name}@firma.example") for name in "abc")
    c_from, c_to = case["c"]
    actions = {
        case["start"]: corporate_start(customer, offer, case["start"]),
        case["a"]: add_user(a, staff),
        case["b"]: add_user(b, staff),
        c_from: add_user(c, staff),
        c_to: cancel_access("c@firma.example", "now"),
    }
    start = local(case["start"]).date()
    clock.walk(start, case["until"], {local(case["end"]).date()}, actions)

    usage = [("usage", "30.00", "5.70", "35.70")]
    assert invoices() == [
        ("2027-000001", case["end"][:10], "in_arrears", case["start"], case["end"], usage,
         ("30.00", "5.70", "35.70")),
    ]  # fmt: skip
    assert events() == [
        ("subscription.created", "0.00", None),
        ("user_subscription.created", "a@firma.example", "staff", None),
        ("user_subscription.created", "b@firma.example", "staff", None),
        ("user_subscription.created", "c@firma.example", "staff", None),
        ("user_subscription.ended", "c@firma.example", "cancelled_now", c_to),
        ("subscription.renewed", case["end"], case["next_end"]),
        ("invoice.issued", "2027-000001", "35.70"),
    ]


# === 4. coupon: a yearly subscription bought on a leap day ==============================
#
# 199.00 EUR a year, 19 % VAT, a 25 % coupon: 199.00 x 0.25 = 49.75 off.
#   subscription 199.00 / 37.81 / 236.81
#   coupon       -49.75 / -9.4525 → -9.45 / -59.20
#   totals       149.25 / 28.36 / 177.61
# Bought 29 Feb 2028 18:00: the anchor day is clamped to 28 Feb in 2029-2031 and comes
# back to 29 Feb in 2032.

COUPON_LINES = [
    ("subscription", "199.00", "37.81", "236.81"),
    ("discount", "-49.75", "-9.45", "-59.20"),
]
COUPON_TOTAL = ("149.25", "28.36", "177.61")


def test_coupon_on_a_yearly_subscription_bought_on_a_leap_day(clock):
    product = ProductFactory(tax_rate=Decimal(19))
    offer = OfferFactory(
        product=product,
        price_amount=Decimal("199.00"),
        billing_interval_unit=PeriodUnit.YEAR,
    )
    campaign = make_campaign(
        bundle=BundleFactory(products=[product]), discount_percent=Decimal(25), quantity=1
    )
    code = campaign.codes.get().code
    customer = CustomerFactory()
    busy = {date(2029, 2, 28), date(2030, 2, 28), date(2031, 2, 28), date(2032, 2, 29)}
    actions = {"2028-02-29 18:00": buy(customer, offer, coupon_code=code)}
    clock.walk(date(2028, 2, 29), date(2032, 3, 2), busy, actions)

    assert invoices() == [
        ("2028-000001", "2028-02-29", "in_advance", "2028-02-29 18:00", "2029-02-28 18:00",
         COUPON_LINES, COUPON_TOTAL),
        ("2029-000001", "2029-02-28", "in_advance", "2029-02-28 18:00", "2030-02-28 18:00",
         COUPON_LINES, COUPON_TOTAL),
        ("2030-000001", "2030-02-28", "in_advance", "2030-02-28 18:00", "2031-02-28 18:00",
         COUPON_LINES, COUPON_TOTAL),
        ("2031-000001", "2031-02-28", "in_advance", "2031-02-28 18:00", "2032-02-29 18:00",
         COUPON_LINES, COUPON_TOTAL),
        ("2032-000001", "2032-02-29", "in_advance", "2032-02-29 18:00", "2033-02-28 18:00",
         COUPON_LINES, COUPON_TOTAL),
    ]  # fmt: skip
    assert events() == [
        ("subscription.created", "199.00", "49.75"),
        ("invoice.issued", "2028-000001", "177.61"),
        ("invoice.issued", "2029-000001", "177.61"),
        ("subscription.renewed", "2029-02-28 18:00", "2030-02-28 18:00"),
        ("invoice.issued", "2030-000001", "177.61"),
        ("subscription.renewed", "2030-02-28 18:00", "2031-02-28 18:00"),
        ("invoice.issued", "2031-000001", "177.61"),
        ("subscription.renewed", "2031-02-28 18:00", "2032-02-29 18:00"),
        ("invoice.issued", "2032-000001", "177.61"),
        ("subscription.renewed", "2032-02-29 18:00", "2033-02-28 18:00"),
    ]


# A voucher for 2 free months on the same 9.99 offer, redeemed on 31 Jan 2028 10:00: two
# invoices of 0.00 (the voucher line takes the whole price, its tax the whole tax:
# -9.99 / -1.90 / -11.89), then the subscription ends on 31 Mar 10:00 by itself.

VOUCHER_LINES = [SUB[0], ("discount", "-9.99", "-1.90", "-11.89")]
FREE = ("0.00", "0.00", "0.00")


def test_voucher_months_are_free_and_the_subscription_ends_after_them(clock):
    product = ProductFactory(tax_rate=Decimal(19))
    offer = OfferFactory(product=product, price_amount=Decimal("9.99"))
    campaign = make_campaign(
        kind="voucher", bundle=BundleFactory(products=[product]), free_periods=2, quantity=1
    )
    voucher = buy(
        CustomerFactory(),
        offer,
        coupon_code=campaign.codes.get().code,
        coupon_kind="voucher",
        payment_method=None,
    )
    busy = {date(2028, 2, 29), date(2028, 3, 31)}
    clock.walk(date(2028, 1, 31), date(2028, 4, 2), busy, {"2028-01-31 10:00": voucher})

    assert invoices() == [
        ("2028-000001", "2028-01-31", "in_advance", "2028-01-31 10:00", "2028-02-29 10:00",
         VOUCHER_LINES, FREE),
        ("2028-000002", "2028-02-29", "in_advance", "2028-02-29 10:00", "2028-03-31 10:00",
         VOUCHER_LINES, FREE),
    ]  # fmt: skip
    assert set(Invoice.objects.values_list("status", flat=True)) == {Invoice.Status.PAID}
    assert events() == [
        ("subscription.created", "9.99", "9.99"),
        ("invoice.issued", "2028-000001", "0.00"),
        ("invoice.issued", "2028-000002", "0.00"),
        ("subscription.renewed", "2028-02-29 10:00", "2028-03-31 10:00"),
        ("subscription.ended", "ended", "2028-03-31 10:00", None),
    ]


# === 5. penalty term: early cancellation, pro rata by the second, across DST =============
#
# 29.90 EUR a month, 19 % VAT: tax 5.681 → 5.68, gross 35.58. Term: 12 calendar months,
# early cancellation with a penalty of 120.00 EUR pro rata (19 % VAT), 14 days' grace.
# Bought 31 Jan 2027 00:00 CET (30 Jan 23:00 UTC); the commitment ends 31 Jan 2028 00:00
# CET (30 Jan 23:00 UTC): 365 days = 31,536,000 s.
#
# "now" on 30 Oct 2027 12:00 CEST (10:00 UTC): 92 days 13 hours left = 7,995,600 s;
#   120 x 7,995,600 / 31,536,000 = 30.4246… → 30.42 (by wall clock, 92 days 12 hours,
#   it would be 30.4109… → 30.41); tax 5.7798 → 5.78, gross 36.20.
# "period end" on 10 Jun 2027: ends 30 Jun 00:00 CEST (29 Jun 22:00 UTC); 215 days
#   1 hour left = 18,579,600 s; 120 x 18,579,600 / 31,536,000 = 70.6986… → 70.70 (by wall
#   clock 215 days: 70.68); tax 13.433 → 13.43, gross 84.13.

MONTH = [("subscription", "29.90", "5.68", "35.58")]
MONTH_TOTAL = ("29.90", "5.68", "35.58")
MONTHS_2027 = [
    ("2027-01-31 00:00", "2027-02-28 00:00"),
    ("2027-02-28 00:00", "2027-03-31 00:00"),
    ("2027-03-31 00:00", "2027-04-30 00:00"),
    ("2027-04-30 00:00", "2027-05-31 00:00"),
    ("2027-05-31 00:00", "2027-06-30 00:00"),
    ("2027-06-30 00:00", "2027-07-31 00:00"),
    ("2027-07-31 00:00", "2027-08-31 00:00"),
    ("2027-08-31 00:00", "2027-09-30 00:00"),
    ("2027-09-30 00:00", "2027-10-31 00:00"),
]


def monthly(count: int) -> list[tuple]:
    return [
        (f"2027-{n:06d}", start[:10], "in_advance", start, end, MONTH, MONTH_TOTAL)
        for n, (start, end) in enumerate(MONTHS_2027[:count], start=1)
    ]


def renewals(count: int) -> list[tuple]:
    """The renewal into each period after the first, then that period's invoice."""
    rows = []
    for n, (start, end) in enumerate(MONTHS_2027[1:count], start=2):
        rows += [("subscription.renewed", start, end), ("invoice.issued", f"2027-{n:06d}", "35.58")]
    return rows


PENALTY = {
    "now-after-the-autumn-switch-ahead": {
        "cancel_at": "2027-10-30 12:00",
        "mode": "now",
        "until": date(2027, 11, 2),
        "invoices": [
            *monthly(9),
            (
                "2027-000010",
                "2027-10-30",
                "one_off",
                None,
                None,
                [("penalty", "30.42", "5.78", "36.20")],
                ("30.42", "5.78", "36.20"),
            ),
        ],
        "events": [
            ("subscription.created", "29.90", None),
            ("invoice.issued", "2027-000001", "35.58"),
            *renewals(9),
            ("subscription.cancelled", "ended", "2027-10-30 12:00", "30.42"),
            ("subscription.ended", "ended", "2027-10-30 12:00", "30.42"),
            ("invoice.issued", "2027-000010", "36.20"),  # 30 Oct 23:30
        ],
    },
    "period-end-in-summer-time": {
        "cancel_at": "2027-06-10 12:00",
        "mode": "period_end",
        "until": date(2027, 7, 2),
        "invoices": [
            *monthly(5),
            (
                "2027-000006",
                "2027-06-10",
                "one_off",
                None,
                None,
                [("penalty", "70.70", "13.43", "84.13")],
                ("70.70", "13.43", "84.13"),
            ),
        ],
        "events": [
            ("subscription.created", "29.90", None),
            ("invoice.issued", "2027-000001", "35.58"),
            *renewals(5),
            ("subscription.cancelled", "cancelled", "2027-06-30 00:00", "70.70"),
            ("invoice.issued", "2027-000006", "84.13"),  # 10 Jun 23:30
            ("subscription.ended", "ended", "2027-06-30 00:00", None),  # 30 Jun 00:30
        ],
    },
}


@pytest.mark.parametrize("case", PENALTY.values(), ids=PENALTY.keys())
def test_penalty_term_early_cancellation_pro_rata_across_daylight_saving(clock, case):
    term = TermFactory(with_penalty=True, penalty_fee_amount=Decimal("120.00"))
    assert term.commitment_basis == Term.Basis.CALENDAR
    offer = OfferFactory(
        price_amount=Decimal("29.90"), term=term, product=ProductFactory(tax_rate=Decimal(19))
    )
    customer = CustomerFactory()
    busy = {local(start).date() for start, _end in MONTHS_2027}
    actions = {"2027-01-31 00:00": buy(customer, offer), case["cancel_at"]: cancel(case["mode"])}
    clock.walk(date(2027, 1, 31), case["until"], busy, actions)

    assert invoices() == case["invoices"]
    assert events() == case["events"]


# === 6. commitment renewal: 3 billing cycles with a flat penalty, then month by month ===
#
# 14.90 EUR a month, 19 % VAT: tax 2.831 → 2.83, gross 17.73. Term "three-cycles": three
# billing cycles, early cancellation with a flat 30.00 EUR penalty (19 %: 5.70, gross
# 35.70), a grace period of 0 days; it renews onto "monthly" (1 calendar month,
# cancellable, no notice).
# Bought 31 Aug 2027 00:00: periods start 31 Aug, 30 Sep, 31 Oct 00:00 CEST (the clocks go
# back that night), 30 Nov, 31 Dec; the commitment ends 30 Nov 00:00, then runs month by
# month on "monthly".

RENEWAL_MONTH = [("subscription", "14.90", "2.83", "17.73")]
RENEWAL_TOTAL = ("14.90", "2.83", "17.73")
AUTUMN_2027 = ["2027-08-31 00:00", "2027-09-30 00:00", "2027-10-31 00:00", "2027-11-30 00:00",
               "2027-12-31 00:00"]  # fmt: skip


def renewal_invoices(count: int) -> list[tuple]:
    return [
        (f"2027-{n:06d}", start[:10], "in_advance", start, AUTUMN_2027[n], RENEWAL_MONTH,
         RENEWAL_TOTAL)
        for n, start in enumerate(AUTUMN_2027[:count], start=1)
    ]  # fmt: skip


RENEWAL = {
    # Within the commitment: ends 31 Oct (the next period end), the full 30.00 applies.
    "cancelled-in-the-commitment": {
        "cancel_at": "2027-10-15 12:00",
        "until": date(2027, 11, 2),
        "invoices": [
            *renewal_invoices(2),
            (
                "2027-000003",
                "2027-10-15",
                "one_off",
                None,
                None,
                [("penalty", "30.00", "5.70", "35.70")],
                ("30.00", "5.70", "35.70"),
            ),
        ],
        "events": [
            ("subscription.created", "14.90", None),
            ("invoice.issued", "2027-000001", "17.73"),
            ("subscription.renewed", "2027-09-30 00:00", "2027-10-31 00:00"),
            ("invoice.issued", "2027-000002", "17.73"),
            ("subscription.cancelled", "cancelled", "2027-10-31 00:00", "30.00"),
            ("invoice.issued", "2027-000003", "35.70"),
            ("subscription.ended", "ended", "2027-10-31 00:00", None),
        ],
        "terms": ["three-cycles"],
    },
    # On the renewal term: ends 31 Dec, no penalty.
    "cancelled-after-the-renewal": {
        "cancel_at": "2027-12-05 12:00",
        "until": date(2028, 1, 2),
        "invoices": renewal_invoices(4),
        "events": [
            ("subscription.created", "14.90", None),
            ("invoice.issued", "2027-000001", "17.73"),
            ("subscription.renewed", "2027-09-30 00:00", "2027-10-31 00:00"),
            ("invoice.issued", "2027-000002", "17.73"),
            ("subscription.renewed", "2027-10-31 00:00", "2027-11-30 00:00"),
            ("invoice.issued", "2027-000003", "17.73"),
            ("subscription.renewed", "2027-11-30 00:00", "2027-12-31 00:00"),
            ("invoice.issued", "2027-000004", "17.73"),
            ("subscription.cancelled", "cancelled", "2027-12-31 00:00", None),
            ("subscription.ended", "ended", "2027-12-31 00:00", None),
        ],
        "terms": ["three-cycles", "three-cycles", "monthly"],
    },
}


@pytest.mark.parametrize("case", RENEWAL.values(), ids=RENEWAL.keys())
def test_commitment_renews_onto_the_renewal_term_and_the_penalty_stops_with_it(clock, case):
    monthly_term = TermFactory(code="monthly", commitment_count=1)
    term = TermFactory(
        code="three-cycles",
        billing_cycles=True,
        commitment_count=3,
        with_penalty=True,
        penalty_fee_amount=Decimal("30.00"),
        pro_rata_penalty=False,
        grace_period_count=0,
        renewal_term=monthly_term,
    )
    offer = OfferFactory(
        price_amount=Decimal("14.90"), term=term, product=ProductFactory(tax_rate=Decimal(19))
    )
    customer = CustomerFactory()
    actions = {"2027-08-31 00:00": buy(customer, offer), case["cancel_at"]: cancel("period_end")}
    busy = {local(start).date() for start in AUTUMN_2027}
    clock.walk(date(2027, 8, 31), case["until"], busy, actions)

    assert invoices() == case["invoices"]
    assert events() == case["events"]
    renewed = Event.objects.filter(type="subscription.renewed").order_by("pk")
    assert [event.payload["term"] for event in renewed] == case["terms"]
