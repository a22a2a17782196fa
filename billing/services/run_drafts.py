"""What a billing run puts on each invoice: due periods and invoice drafts, in memory.

Everything here works on rows a chunk loaded up front (`ChunkData`), so building the
drafts of 500 subscriptions runs no query of its own; the counting of users is one query
for the whole chunk (billing.usage.billable_users).

Decisions (issue 7, SPEC §4):

* **Periods** are computed from the subscription's `started_at` on the merchant's wall
  clock (catalog.periods), never from `current_period_*` (the renewal job may not have
  moved them on yet, e.g. after downtime). A period is identified by its start: the
  unique constraint `invoice_once_per_subscription_and_period` guards it. The run
  invoices every due period after the last one invoiced (catch-up after downtime).
* **Corporate** (in arrears): a period is due once it has ended by the run's cutoff
  (the end of the run date, merchant time) and by the time the run looks (never
  before its users are final). The last period of a cancelled or ended
  subscription ends with the subscription. Per contract of the offer (product-name
  order) one USAGE line — quantity = billable users counted as the contract says,
  net = the engine's tier amounts (`billing.pricing.breakdown`, each rounded), unit
  price = net / users to four places, shown for information only (the net is never
  re-multiplied, so graduated and per-package prices stay exact) — then a BASE_FEE line
  when the contract has a base fee. Tax rate and ledger account: the contract's
  product's. A contract whose tiers are no valid schedule fails that subscription
  only (recorded in the run's errors).
* **Regular** (in advance): a period is due when it has started by the cutoff and
  before the subscription ends. One SUBSCRIPTION line at the price copied in at
  purchase. Its tax rate and ledger account are those of the subscription's first
  included product (`SubscriptionItem`, in the order the purchase wrote them: the
  offer's product, or the plan's first bundle's first product), falling back to the
  offer's product. One-time purchases (no interval) get one invoice for their start.
* **Coupons**: a DISCOUNT line of minus the redemption's `discount_amount` on the
  invoices of the first `periods` periods (every period when empty); a voucher's
  discount is the whole price, so those invoices total 0 (issued as paid, as
  `invoice_issue` does). The line never takes the invoice below zero. Same tax rate as
  the subscription line (the first contract's product for corporate).
* **Penalties**: uninvoiced `Charge`s go on the first invoice the run makes for the
  subscription, or on an invoice of their own (no period) when no period is due, e.g.
  after an early cancellation ended the subscription.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.utils import timezone, translation
from django.utils.translation import gettext as _

from billing.models import Invoice, InvoiceLine
from billing.pricing import PriceSchedule, breakdown
from billing.selectors import price_schedule_for_contract
from billing.services.invoices import InvoiceDraft, LineDraft
from billing.usage import Window, average_unit_price, counting_label
from catalog.models import CorporateContract, Product
from catalog.periods import period_bounds, period_containing
from subscriptions.models import Charge, CouponRedemption, Subscription

ZERO = Decimal("0.00")
ONE = Decimal(1)
# Safety stop for catch-up: more periods than this in one run means something is off.
MAX_PERIODS = 400
# Subscriptions signed on the same day share their anchor, so their periods are
# computed once per run rather than once per subscription.
_period_bounds = functools.lru_cache(maxsize=8192)(period_bounds)


class BillingRefused(Exception):
    """This subscription cannot be invoiced as it stands (the run records why)."""


@dataclass(frozen=True)
class Period:
    index: int
    start: datetime
    end: datetime | None


def subscription_end(sub: Subscription) -> datetime | None:
    """When the subscription stops running (None: it goes on)."""
    if sub.status == Subscription.Status.ENDED:
        return sub.ended_at
    if sub.status == Subscription.Status.CANCELLED:
        return sub.ends_at
    return None


def due_periods(
    sub: Subscription, last_start: datetime | None, cutoff: datetime, now: datetime
) -> list[Period]:
    """The periods of `sub` after the last invoiced one (`last_start`) that are due by
    `cutoff`: started (regular, in advance) or ended (corporate, in arrears — and ended
    by `now` as well: a run early on the run date must not bill a period whose users
    can still change until tonight)."""
    if not sub.billing_interval_count:
        if last_start is None and sub.started_at < cutoff and not sub.is_corporate:
            return [Period(0, sub.started_at, None)]
        return []
    count, unit = sub.billing_interval_count, sub.billing_interval_unit
    anchor = timezone.localtime(sub.started_at)
    index = 0
    if last_start is not None:
        index = period_containing(anchor, timezone.localtime(last_start), count, unit)[0] + 1
    ends = subscription_end(sub)
    arrears_cutoff = min(cutoff, now)
    periods: list[Period] = []
    while len(periods) < MAX_PERIODS:
        start, end = _period_bounds(anchor, index, count, unit)
        if ends is not None and start >= ends:
            break
        if sub.is_corporate:
            end = min(end, ends) if ends is not None else end
            if end > arrears_cutoff:
                break
        elif start >= cutoff:
            break
        periods.append(Period(index, start, end))
        index += 1
    return periods


@dataclass
class ChunkData:
    """What the drafts of one chunk need, loaded with a fixed number of queries."""

    contracts: dict[int, list[CorporateContract]] = field(default_factory=dict)  # by offer
    seat_accounts: dict[int, int] = field(default_factory=dict)  # subscription → account
    charges: dict[int, list[Charge]] = field(default_factory=lambda: defaultdict(list))
    redemptions: dict[int, CouponRedemption] = field(default_factory=dict)
    first_products: dict[int, Product] = field(default_factory=dict)  # regular subscription
    users: dict[tuple[int, int, datetime], int] = field(default_factory=dict)
    # Each contract's schedule (or why it cannot price), built once per chunk: a chunk's
    # subscriptions mostly share their corporate offer.
    schedules: dict[int, PriceSchedule | ValueError] = field(default_factory=dict)


@dataclass
class Planned:
    """One subscription's due periods and, for corporate ones, its price schedules."""

    subscription: Subscription
    periods: list[Period]
    schedules: list[tuple[CorporateContract, PriceSchedule]] = field(default_factory=list)


def plan_corporate(sub: Subscription, periods: list[Period], data: ChunkData) -> Planned:
    """Check the contracts can price (raises BillingRefused) before anything is counted."""
    contracts = data.contracts.get(sub.corporate_offer_id, [])
    if not contracts:
        raise BillingRefused(_("The corporate offer has no contracts."))
    schedules = []
    for contract in contracts:
        schedule = data.schedules.get(contract.pk)
        if schedule is None:
            try:
                schedule = price_schedule_for_contract(contract)
            except ValueError as error:
                schedule = error
            data.schedules[contract.pk] = schedule
        if isinstance(schedule, ValueError):
            raise BillingRefused(
                _("Contract %(code)s cannot price users: %(reason)s")
                % {"code": contract.code, "reason": schedule}
            ) from schedule
        schedules.append((contract, schedule))
    return Planned(sub, periods, schedules)


def usage_windows(planned: list[Planned], data: ChunkData) -> list[Window]:
    windows = []
    for plan in planned:
        account_id = data.seat_accounts.get(plan.subscription.pk)
        if account_id is None:
            continue  # no seat account yet: nobody was ever added, 0 users
        for period in plan.periods:
            for contract, _schedule in plan.schedules:
                windows.append(
                    Window(
                        account_id, contract.product_id, period.start, period.end,
                        contract.user_counting,
                    )
                )  # fmt: skip
    return windows


def drafts_for(plan: Planned, data: ChunkData, run_id: int | None) -> list[InvoiceDraft]:
    """The invoice drafts of one subscription (its lines in the customer's language)."""
    sub = plan.subscription
    with translation.override(sub.customer.language or None):
        drafts = [_draft(plan, period, data, run_id) for period in plan.periods]
        charges = data.charges.get(sub.pk, [])
        if charges and not drafts:
            drafts = [_invoice(sub, [], Invoice.Billing.ONE_OFF, None, run_id)]
        if charges:
            first = drafts[0]
            first.lines = [*first.lines, *(_penalty_line(charge) for charge in charges)]
            first.extra["charge_ids"] = [charge.pk for charge in charges]
    return drafts


def _draft(plan: Planned, period: Period, data: ChunkData, run_id) -> InvoiceDraft:
    sub = plan.subscription
    if sub.is_corporate:
        lines, product = _corporate_lines(plan, period, data), plan.schedules[0][0].product
        billing = Invoice.Billing.IN_ARREARS
    else:
        product = data.first_products.get(sub.pk) or sub.offer.product
        if product is None:
            raise BillingRefused(
                _("The subscription includes no product to take the tax rate from.")
            )
        lines = [
            LineDraft(
                kind=InvoiceLine.Kind.SUBSCRIPTION,
                description=str(sub.title),
                quantity=ONE,
                unit_price=sub.price_amount,
                tax_rate=product.tax_rate,
                product_id=product.pk,
                ledger_account=product.ledger_account,
            )
        ]
        billing = Invoice.Billing.IN_ADVANCE if period.end else Invoice.Billing.ONE_OFF
    discount = _discount_line(data.redemptions.get(sub.pk), period, lines, product)
    if discount is not None:
        lines.append(discount)
    return _invoice(sub, lines, billing, period, run_id)


def _invoice(sub, lines, billing, period: Period | None, run_id) -> InvoiceDraft:
    return InvoiceDraft(
        customer=sub.customer,
        currency=sub.currency,
        lines=lines,
        subscription=sub,
        billing=billing,
        period_start=period.start if period else None,
        period_end=period.end if period else None,
        billing_run_id=run_id,
    )


def _corporate_lines(plan: Planned, period: Period, data: ChunkData) -> list[LineDraft]:
    sub = plan.subscription
    account_id = data.seat_accounts.get(sub.pk)
    lines = []
    for contract, schedule in plan.schedules:
        users = data.users.get((account_id, contract.product_id, period.start), 0)
        net = sum((line.amount for line in breakdown(schedule, users)), ZERO)
        product = contract.product
        lines.append(
            LineDraft(
                kind=InvoiceLine.Kind.USAGE,
                description=_("%(product)s: %(counting)s")
                % {"product": product.name, "counting": counting_label(contract.user_counting)},
                quantity=Decimal(users),
                unit_price=average_unit_price(net, users),
                tax_rate=product.tax_rate,
                product_id=product.pk,
                counting=contract.user_counting,
                ledger_account=product.ledger_account,
                net=net,
            )
        )
        if contract.base_fee_amount:
            lines.append(
                LineDraft(
                    kind=InvoiceLine.Kind.BASE_FEE,
                    description=_("%(product)s: base fee") % {"product": product.name},
                    quantity=ONE,
                    unit_price=contract.base_fee_amount,
                    tax_rate=product.tax_rate,
                    product_id=product.pk,
                    ledger_account=product.ledger_account,
                )
            )
    return lines


def _discount_line(redemption, period: Period, lines, product) -> LineDraft | None:
    if redemption is None or not redemption.discount_amount:
        return None
    if redemption.periods is not None and period.index >= redemption.periods:
        return None
    subtotal = sum((line.net if line.net is not None else line.unit_price * line.quantity)
                   for line in lines)  # fmt: skip
    amount = min(redemption.discount_amount, max(subtotal, ZERO))
    if not amount:
        return None
    if redemption.kind == CouponRedemption.Kind.VOUCHER:
        description = _("Voucher %(code)s") % {"code": redemption.code.code}
    else:
        description = _("Coupon %(code)s") % {"code": redemption.code.code}
    return LineDraft(
        kind=InvoiceLine.Kind.DISCOUNT,
        description=description,
        quantity=ONE,
        unit_price=-amount,
        tax_rate=product.tax_rate,
        product_id=product.pk,
        ledger_account=product.ledger_account,
    )


def _penalty_line(charge: Charge) -> LineDraft:
    return LineDraft(
        kind=InvoiceLine.Kind.PENALTY,
        description=charge.description,
        quantity=ONE,
        unit_price=charge.amount,
        tax_rate=charge.tax_rate,
        ledger_account=charge.ledger_account,
    )
