"""Commitment terms as plain values and the rules computed from them. No Django here,
so the rules can be tested exhaustively (tests/subscriptions/test_terms.py).

A subscription keeps the values of the term in force (`Subscription.term_snapshot`,
`TermValues.to_snapshot()`), so later catalog edits never change what was agreed.

Datetimes are aware. Callers pass them in the merchant's time zone, because month and
day arithmetic (catalog.periods) works on the wall clock of the zone it is given.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from catalog.money import round_money
from catalog.periods import add_months, add_period

CALENDAR = "calendar"
BILLING_CYCLES = "billing_cycles"

ALLOWED = "allowed"
PENALTY = "penalty"
NOT_ALLOWED = "not_allowed"

_MONTHS_PER = {"month": 1, "year": 12}


@dataclass(frozen=True)
class TermValues:
    """What a term says, as agreed. `commitment_unit` is "" for billing cycles (they
    count the subscription's own interval)."""

    code: str
    commitment_count: int
    commitment_unit: str
    commitment_basis: str
    early_cancellation: str
    notice_period_count: int = 0
    notice_period_unit: str = "day"
    grace_period_count: int | None = None
    grace_period_unit: str = ""
    penalty_fee_amount: Decimal | None = None
    currency: str = "EUR"
    pro_rata_penalty: bool = False
    penalty_tax_rate: Decimal | None = None
    penalty_ledger_account: str = ""
    penalty_line_type: str = ""
    renewal_term_code: str | None = None
    # The renewal term's own values (its to_snapshot(), without a renewal of its own: it
    # renews on itself), agreed with this term. None: renew on this term, or an older
    # snapshot that only names the renewal term.
    renewal_snapshot: dict[str, Any] | None = field(default=None, compare=True, hash=False)

    _DECIMALS = ("penalty_fee_amount", "penalty_tax_rate")

    def to_snapshot(self) -> dict[str, Any]:
        """A JSON-able dict; Decimals become strings so no precision is lost."""
        snapshot = {f.name: getattr(self, f.name) for f in fields(self)}
        if snapshot["renewal_snapshot"] is not None:
            snapshot["renewal_snapshot"] = dict(snapshot["renewal_snapshot"])
        for name in self._DECIMALS:
            if snapshot[name] is not None:
                snapshot[name] = str(snapshot[name])
        return snapshot

    @classmethod
    def from_snapshot(cls, snapshot: dict[str, Any]) -> TermValues:
        """The inverse of to_snapshot; keys it does not know are ignored."""
        known = {f.name for f in fields(cls)}
        values = {key: value for key, value in snapshot.items() if key in known}
        for name in cls._DECIMALS:
            if values.get(name) is not None:
                values[name] = Decimal(values[name])
        return cls(**values)

    @property
    def has_penalty(self) -> bool:
        return self.early_cancellation == PENALTY and bool(self.penalty_fee_amount)


def add_from_anchor(start: datetime, count: int, unit: str, anchor: datetime | None) -> datetime:
    """`start` plus `count` units. With an `anchor` whose month-series `start` lies on
    (start = anchor + k months), months are counted from the anchor instead, so a day
    clamped once (31 Jan → 28 Feb) recovers later (→ 31 Mar), as billing periods do."""
    if anchor is None or unit not in _MONTHS_PER:
        return add_period(start, count, unit)
    months = (start.year - anchor.year) * 12 + start.month - anchor.month
    if months < 0 or add_months(anchor, months) != start:
        return add_period(start, count, unit)
    return add_months(anchor, months + count * _MONTHS_PER[unit])


def commitment_end(
    *,
    starts_at: datetime,
    term: TermValues,
    interval_count: int | None,
    interval_unit: str,
    anchor: datetime | None = None,
) -> datetime:
    """When a commitment starting at `starts_at` ends (exclusive).

    Calendar basis: `starts_at` + count units. Billing-cycles basis: count times the billing
    interval. `anchor` (the subscription's start) keeps month ends in step with the
    billing periods when a later commitment starts on a clamped day."""
    if term.commitment_basis == CALENDAR:
        return add_from_anchor(starts_at, term.commitment_count, term.commitment_unit, anchor)
    if term.commitment_basis != BILLING_CYCLES:
        raise ValueError(f"Unknown commitment basis {term.commitment_basis!r}.")
    if not interval_count or not interval_unit:
        raise ValueError("A billing-cycles commitment needs a billing interval.")
    return add_from_anchor(starts_at, term.commitment_count * interval_count, interval_unit, anchor)


def notice_deadline(*, period_end: datetime, notice_count: int, notice_unit: str) -> datetime:
    """The last moment a cancellation can arrive to take effect at `period_end`."""
    if notice_count <= 0:
        return period_end
    return add_period(period_end, -notice_count, notice_unit)


def cancellation_takes_effect(
    *,
    received_at: datetime,
    period_end: datetime,
    next_period_end: datetime,
    notice_count: int,
    notice_unit: str,
) -> datetime:
    """A cancellation received at or before `period_end` minus the notice period takes effect at
    `period_end`; a later one at `next_period_end`."""
    deadline = notice_deadline(
        period_end=period_end, notice_count=notice_count, notice_unit=notice_unit
    )
    return period_end if received_at <= deadline else next_period_end


def grace_ends(*, term: TermValues, commitment_starts_at: datetime) -> datetime:
    """The end (exclusive) of the penalty-free grace period."""
    if not term.grace_period_count or not term.grace_period_unit:
        return commitment_starts_at
    return add_period(commitment_starts_at, term.grace_period_count, term.grace_period_unit)


def penalty(
    *,
    term: TermValues,
    commitment_starts_at: datetime,
    commitment_ends_at: datetime,
    cancelled_at: datetime,
    ends_at: datetime | None = None,
) -> Decimal:
    """The early-cancellation fee for a cancellation received at `cancelled_at`.

    0 without a penalty term, within the grace period (counted from the commitment start,
    against the moment the cancellation was received) and once the commitment is served.
    Otherwise the fee; with pro-rata the fee times the share of the commitment still ahead at
    `ends_at` (when the subscription stops; defaults to `cancelled_at`), by seconds,
    rounded once, half up. Always within [0, fee]."""
    currency = term.currency
    zero = round_money(Decimal(0), currency)
    fee = term.penalty_fee_amount
    if not term.has_penalty or fee is None or fee <= 0:
        return zero
    stops_at = ends_at or cancelled_at
    if stops_at >= commitment_ends_at:
        return zero
    if cancelled_at < grace_ends(term=term, commitment_starts_at=commitment_starts_at):
        return zero
    if not term.pro_rata_penalty:
        return round_money(fee, currency)
    total = _seconds_between(commitment_starts_at, commitment_ends_at)
    if total <= 0:
        return zero
    remaining = _seconds_between(max(stops_at, commitment_starts_at), commitment_ends_at)
    amount = round_money(fee * remaining / total, currency)
    return min(max(amount, zero), round_money(fee, currency))


def _seconds_between(start: datetime, end: datetime) -> Decimal:
    """Exact elapsed seconds as a Decimal. In UTC, because subtracting two datetimes of
    the same zone compares wall clocks and would miss a daylight-saving hour."""
    delta: timedelta = end.astimezone(UTC) - start.astimezone(UTC)
    return Decimal(delta.days * 86400 + delta.seconds) + Decimal(delta.microseconds) / 10**6
