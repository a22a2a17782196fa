"""Reads for the corporate account page (customer support): a corporate subscription's
users per accounting period (from the subscription log, counted as its contracts say),
its invoices with the tier each period landed in, and a what-if priced by the engine."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.models import Invoice, InvoiceLine
from billing.pricing import PriceSchedule, price
from billing.selectors import price_schedule_for_contract
from billing.usage import Window, billable_users, contracts_for_subscription
from catalog.models import CorporateContract
from catalog.periods import period_bounds, period_containing
from seats.models import SeatAccount
from subscriptions.models import Subscription

from ..table import Column, Table

PERIODS = 12  # accounting periods shown, the current one included


def corporate_subscription_for_staff(*, public_id: UUID) -> Subscription:
    """A corporate subscription with its customer and offer (staff see every one).
    Raises `Subscription.DoesNotExist` for an unknown id or a regular subscription."""
    return Subscription.objects.select_related("customer", "corporate_offer").get(
        public_id=public_id, corporate_offer__isnull=False
    )


def contracts_of(subscription: Subscription) -> list[CorporateContract]:
    """The offer's contracts with products and tiers, in invoice-line order."""
    return contracts_for_subscription(subscription)


def schedule_or_none(contract: CorporateContract) -> PriceSchedule | None:
    try:
        return price_schedule_for_contract(contract)
    except ValueError:  # tiers saved incomplete: the contract cannot price
        return None


def recent_periods(subscription: Subscription, now: datetime) -> list[tuple[datetime, datetime]]:
    """The last `PERIODS` accounting periods up to the one containing `now` (or the
    subscription's end), oldest first, never before the start; [start, end)."""
    count, unit = subscription.billing_interval_count, subscription.billing_interval_unit
    anchor = timezone.localtime(subscription.started_at)
    last = min(filter(None, [now, subscription.ended_at]))
    if not count or last < subscription.started_at:
        return []
    index, _start, _end = period_containing(anchor, timezone.localtime(last), count, unit)
    return [
        period_bounds(anchor, i, count, unit) for i in range(max(0, index - PERIODS + 1), index + 1)
    ]


def users_per_period(
    *, subscription: Subscription, contracts: list[CorporateContract], now: datetime
) -> Table:
    """Billable users per product in each recent period (the current one so far), as
    each contract counts them — what the period's invoice counts. One query."""
    periods = recent_periods(subscription, now)
    account_id = (
        SeatAccount.objects.filter(subscription=subscription).values_list("pk", flat=True).first()
    )
    windows = [
        Window(account_id or 0, c.product_id, start, min(end, now), c.user_counting)
        for start, end in periods
        for c in contracts
    ]
    counts = billable_users(windows) if account_id and windows else [0] * len(windows)
    width = len(contracts)
    rows = [
        (timezone.localtime(start).date(), *counts[i * width : (i + 1) * width])
        for i, (start, _end) in enumerate(periods)
    ]
    columns = (
        Column("period", _("Period from"), "date"),
        *(Column(f"product-{c.product_id}", c.product.name) for c in contracts),
    )
    return Table(columns, rows, subscription.currency)


@dataclass(frozen=True)
class PeriodInvoice:
    invoice: Invoice
    users: list[int | None]  # per contract, the usage line's quantity
    tiers: list[str]  # per contract, the tier the quantity landed in


def invoices_per_period(
    *, subscription: Subscription, contracts: list[CorporateContract]
) -> list[PeriodInvoice]:
    """The subscription's issued invoices and credit notes, oldest period first, each
    with its users per product and the tier (of today's contract) they landed in."""
    usage = Prefetch(
        "lines", queryset=InvoiceLine.objects.filter(kind=InvoiceLine.Kind.USAGE), to_attr="usage"
    )
    invoices = (
        Invoice.objects.filter(subscription=subscription)
        .exclude(status=Invoice.Status.DRAFT)
        .prefetch_related(usage)
        .order_by("period_start", "issued_at", "id")
    )
    schedules = [schedule_or_none(c) for c in contracts]
    result = []
    for invoice in invoices:
        quantities = {line.product_id: int(abs(line.quantity)) for line in invoice.usage}
        users = [quantities.get(c.product_id) for c in contracts]
        tiers = [tier_label(s, n) for s, n in zip(schedules, users, strict=True)]
        result.append(PeriodInvoice(invoice, users, tiers))
    return result


def invoices_table(rows: list[PeriodInvoice], contracts, currency: str) -> Table:
    """The invoices as a table (the chart draws the net per period)."""
    table_rows = [
        (
            timezone.localtime(r.invoice.period_start).date() if r.invoice.period_start else None,
            r.invoice.number,
            r.invoice.get_status_display(),
            *r.users,
            *r.tiers,
            r.invoice.net_amount,
            r.invoice.gross_amount,
        )
        for r in rows
    ]
    columns = (
        Column("period", _("Period from"), "date"),
        Column("number", _("Number"), "text"),
        Column("status", _("Status"), "text"),
        *(
            Column(f"users-{c.product_id}", _("Users: %(product)s") % {"product": c.product.name})
            for c in contracts
        ),
        *(
            Column(
                f"tier-{c.product_id}", _("Tier: %(product)s") % {"product": c.product.name}, "text"
            )
            for c in contracts
        ),
        Column("net", _("Net"), "money"),
        Column("gross", _("Gross"), "money"),
    )
    return Table(columns, table_rows, currency)


def tier_label(schedule: PriceSchedule | None, users: int | None) -> str:
    """The tier label, e.g. "Tier 2 (11-50)": where `users` fall (packages count whole)."""
    if schedule is None or users is None:
        return ""
    units = schedule.units(users)
    if units == 0:
        return _("no users")
    tier = schedule.tier_for(units)
    index = schedule.tiers.index(tier)
    low = schedule.tiers[index - 1].up_to + 1 if index else 1
    span = f"{low}\N{EN DASH}{tier.up_to}" if tier.up_to is not None else f"{low}+"
    if schedule.strategy == "per_package":
        span = _("%(span)s packages") % {"span": span}
    return _("Tier %(number)s (%(span)s)") % {"number": index + 1, "span": span}


@dataclass(frozen=True)
class CorporateReport:
    subscription: Subscription
    contracts: list[CorporateContract]
    users: Table  # users per product and period
    invoices: Table  # invoices per period, users and tiers


def corporate_report(*, subscription: Subscription, now: datetime) -> CorporateReport:
    """Everything the account page shows but the what-if: contracts, users per period,
    invoices with their tiers (a fixed number of queries)."""
    contracts = contracts_of(subscription)
    users = users_per_period(subscription=subscription, contracts=contracts, now=now)
    rows = invoices_per_period(subscription=subscription, contracts=contracts)
    invoices = invoices_table(rows, contracts, subscription.currency)
    return CorporateReport(subscription, contracts, users, invoices)


@dataclass(frozen=True)
class WhatIfLine:
    contract: CorporateContract
    users: int  # counted so far in the current period
    more: int  # users with the extra ones
    amount_now: Decimal | None
    amount: Decimal | None  # None: the contract's tiers cannot price
    tier: str


@dataclass(frozen=True)
class WhatIf:
    start: datetime
    end: datetime
    lines: list[WhatIfLine]
    total_now: Decimal
    total: Decimal


def what_if(*, report: CorporateReport, more_users: int, now: datetime) -> WhatIf | None:
    """The current period's invoice (net, before tax) if `more_users` more users had
    access: its users so far (the report's last period) plus `more_users` per
    product — a user gets every product — priced by `billing.pricing.price`, the
    billing run's engine. None outside the subscription's periods."""
    subscription, contracts, users = report.subscription, report.contracts, report.users
    periods = recent_periods(subscription, now)
    if not periods or periods[-1][1] <= now or subscription.ended_at:
        return None
    start, end = periods[-1]
    counts = users.rows[-1][1:] if users.rows else [0] * len(contracts)
    lines = []
    for contract, count in zip(contracts, counts, strict=True):
        schedule = schedule_or_none(contract)
        now_amount = price(schedule, count) if schedule else None
        amount = price(schedule, count + more_users) if schedule else None
        tier = tier_label(schedule, count + more_users)
        lines.append(WhatIfLine(contract, count, count + more_users, now_amount, amount, tier))
    total_now = sum((line.amount_now or Decimal(0) for line in lines), Decimal("0.00"))
    total = sum((line.amount or Decimal(0) for line in lines), Decimal("0.00"))
    return WhatIf(start, end, lines, total_now, total)
