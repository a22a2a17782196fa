"""Subscription lifecycle: billing periods, renewal, cancellation under the term's rules,
undo, end. The rules themselves are pure functions in subscriptions.terms; this module
applies them to locked rows and records what happened (Activity, events, charges).

Period and commitment arithmetic runs on the merchant's wall clock (settings.TIME_ZONE,
via timezone.localtime) from the subscription's `started_at` anchor, like the purchase.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from catalog.models import Term
from catalog.money import format_money, minor_unit, round_money
from catalog.periods import period_bounds, period_containing
from notifications.events import EventType
from notifications.services.events import emit
from subscriptions.exceptions import CancellationRefused, SubscriptionError
from subscriptions.models import Activity, Charge, Subscription, User
from subscriptions.terms import NOT_ALLOWED, TermValues, cancellation_takes_effect, commitment_end
from subscriptions.terms import penalty as penalty_amount

PERIOD_END = "period_end"
NOW = "now"
MODES = (PERIOD_END, NOW)
ADVANCE_BATCH = 500
S = Subscription.Status

logger = logging.getLogger(__name__)


class CancellationTermsChanged(SubscriptionError):
    """The cancellation the customer confirmed (its date or fee) is no longer what
    cancelling would do; nothing was changed and the fresh quote should be shown."""


@dataclass(frozen=True)
class CancellationQuote:
    """What cancelling would do, for the confirm page and for subscription_cancel."""

    mode: str  # "period_end" | "now"
    allowed: bool
    takes_effect_at: datetime | None
    penalty_amount: Decimal
    currency: str
    earliest_end: datetime | None
    reason: str  # a sentence for the customer
    # Too late for the current period's cancellation period: ends a period later.
    late: bool = False


def term_values(term: Term, *, with_renewal: bool = True) -> TermValues:
    """The values of a catalog term as a subscription agrees to them, with the values of
    its renewal term (`renewal_snapshot`, one level deep), so what was sold never
    changes (SPEC §1). Once on the renewal term, it renews on itself."""
    renewal = term.renewal_term if with_renewal and term.renewal_term_id else None
    return TermValues(
        code=term.code,
        commitment_count=term.commitment_count,
        commitment_unit=term.commitment_unit,
        commitment_basis=term.commitment_basis,
        early_cancellation=term.early_cancellation,
        notice_period_count=term.notice_period_count,
        notice_period_unit=term.notice_period_unit,
        grace_period_count=term.grace_period_count,
        grace_period_unit=term.grace_period_unit,
        penalty_fee_amount=term.penalty_fee_amount,
        currency=term.currency,
        pro_rata_penalty=term.pro_rata_penalty,
        penalty_tax_rate=term.penalty_tax_rate,
        penalty_ledger_account=term.penalty_ledger_account,
        penalty_line_type=term.penalty_line_type,
        renewal_term_code=renewal.code if renewal is not None else None,
        renewal_snapshot=(
            term_values(renewal, with_renewal=False).to_snapshot() if renewal is not None else None
        ),
    )


# --- reads -------------------------------------------------------------------------------


def subscription_cancellation_quote(
    *, subscription: Subscription, mode: str = PERIOD_END, now: datetime | None = None
) -> CancellationQuote:
    """What cancelling would do now: when it takes effect, any penalty, or why not.
    Read-only; subscription_cancel applies the same quote to the locked row."""
    if mode not in MODES:
        raise ValueError(f"Unknown cancellation mode {mode!r}.")
    now = now or timezone.now()
    refused = _status_refusal(subscription, mode, now)
    if refused is not None:
        return _refusal(subscription, mode, refused)
    terms = _terms(subscription)
    takes_effect_at = now if mode == NOW else _period_end_for(subscription, terms, now)
    commitment_ends_at = subscription.commitment_ends_at
    if terms is None or commitment_ends_at is None or takes_effect_at >= commitment_ends_at:
        return _accepted(subscription, mode, now, takes_effect_at)
    if terms.early_cancellation == NOT_ALLOWED:
        earliest = _first_period_end_from(subscription, commitment_ends_at)
        reason = _("Cancelling before %(date)s is not possible under your term.") % {
            "date": _date(earliest)
        }
        return _refusal(subscription, mode, reason, earliest_end=earliest)
    fee = penalty_amount(
        term=terms,
        commitment_starts_at=subscription.commitment_starts_at or subscription.started_at,
        commitment_ends_at=commitment_ends_at,
        # A pending cancellation turned into "now" was received when it was first sent.
        cancelled_at=subscription.cancelled_at or now,
        ends_at=takes_effect_at,
    )
    return _accepted(subscription, mode, now, takes_effect_at, fee, terms.currency)


def _accepted(
    sub: Subscription,
    mode: str,
    now: datetime,
    takes_effect_at: datetime,
    fee: Decimal | None = None,
    currency: str | None = None,
) -> CancellationQuote:
    if not fee:
        fee, currency = _zero(sub), sub.currency
    late = False
    if mode == NOW:
        reason = _("Your subscription ends immediately.")
    elif sub.is_corporate:
        # Ends with a subscription interval, often after several accounting periods.
        reason = _(
            "Your subscription ends on %(date)s, at the end of a subscription interval "
            "(the contract's cancellation period applies)."
        ) % {"date": _date(takes_effect_at)}
    elif takes_effect_at > (period_end := _period(sub, now)[1]):
        late = True
        reason = _(
            "The cancellation period for the billing period ending on %(period_end)s has "
            "passed, so your subscription ends at the end of the next billing period, on "
            "%(date)s."
        ) % {"period_end": _date(period_end), "date": _date(takes_effect_at)}
    else:
        reason = _("Your subscription ends on %(date)s.") % {"date": _date(takes_effect_at)}
    if fee > 0:
        fee_text = format_money(fee, currency, translation.get_language() or "en")
        reason += " " + _("An early-cancellation fee of %(fee)s applies.") % {"fee": fee_text}
    return CancellationQuote(mode, True, takes_effect_at, fee, currency, None, reason, late)


def _refusal(
    sub: Subscription, mode: str, reason: str, earliest_end: datetime | None = None
) -> CancellationQuote:
    return CancellationQuote(mode, False, None, _zero(sub), sub.currency, earliest_end, reason)


def _status_refusal(subscription: Subscription, mode: str, now: datetime) -> str | None:
    pending = subscription.status == S.CANCELLED and subscription.ends_at > now
    if subscription.status == S.CANCELLED and not (mode == NOW and pending):
        return _("This subscription is already cancelled; it ends on %(date)s.") % {
            "date": _date(subscription.ends_at)
        }
    if subscription.status == S.ENDED:
        return _("This subscription has already ended.")
    if mode == PERIOD_END and not subscription.current_period_end:
        return _("A one-time purchase has no billing period to end; it can only end now.")
    return None


# --- writes ------------------------------------------------------------------------------


def subscription_cancel(
    *,
    subscription: Subscription,
    mode: str = PERIOD_END,
    actor: User | None = None,
    now: datetime | None = None,
    expected_end: datetime | None = None,
    expected_penalty: Decimal | None = None,
) -> Subscription:
    """Cancel at the end of the period the cancellation period allows, or now; "now" also
    ends a pending cancellation early. Refuses (CancellationRefused) an early end the term
    does not allow, and (CancellationTermsChanged) when the date or fee is no longer the
    `expected_*` one the customer confirmed. Records any penalty as a Charge."""
    now = now or timezone.now()
    with transaction.atomic():
        sub = _locked(subscription)
        quote = subscription_cancellation_quote(subscription=sub, mode=mode, now=now)
        if not quote.allowed:
            if quote.earliest_end is not None:
                raise CancellationRefused(quote.reason, earliest_end=quote.earliest_end)
            raise SubscriptionError(quote.reason)
        _check_expected(quote, expected_end, expected_penalty)
        was_pending = sub.status == S.CANCELLED
        if was_pending:
            _replace_penalty(sub)
        sub.cancelled_at, sub.ends_at = sub.cancelled_at or now, quote.takes_effect_at
        if mode == NOW:
            sub.status, sub.ended_at = S.ENDED, now
        else:
            sub.status = S.CANCELLED
        sub.save(update_fields=["status", "cancelled_at", "ends_at", "ended_at", "updated_at"])
        if quote.penalty_amount > 0:
            _record_penalty(sub, quote)
        if not was_pending:
            # Listeners for cancellations hear about "now" too, before the end.
            cancelled = EventType.SUBSCRIPTION_CANCELLED
            _record(sub, cancelled, actor, quote.reason, now, penalty=quote, activity=mode != NOW)
        if mode == NOW:
            _record(sub, EventType.SUBSCRIPTION_ENDED, actor, quote.reason, now, penalty=quote)
    return sub


def _check_expected(
    quote: CancellationQuote, expected_end: datetime | None, expected_penalty: Decimal | None
) -> None:
    """The confirmed date and fee must still hold. "Now" moves with the clock: its day
    must match, and its (pro-rata) fee may differ by the rounding only."""
    changed = False
    if expected_end is not None:
        if quote.mode == NOW:
            changed = _local_day(expected_end) != _local_day(quote.takes_effect_at)
        else:
            changed = expected_end != quote.takes_effect_at
    if expected_penalty is not None:
        tolerance = minor_unit(quote.currency) if quote.mode == NOW else Decimal(0)
        changed = changed or abs(quote.penalty_amount - expected_penalty) > tolerance
    if changed:
        raise CancellationTermsChanged(
            _("The terms of your cancellation have changed; please review them again.")
        )


def _replace_penalty(sub: Subscription) -> None:
    """A pending cancellation ended earlier: its uninvoiced fee is recomputed for the
    earlier end. An invoiced one cannot be replaced, so that cancellation stays as it is."""
    penalties = Charge.objects.filter(subscription=sub, kind=Charge.Kind.PENALTY)
    if penalties.filter(invoiced_at__isnull=False).exists():
        raise SubscriptionError(
            _("The early-cancellation fee has already been invoiced; this cancellation stays.")
        )
    penalties.delete()


def subscription_undo_cancellation(
    *, subscription: Subscription, actor: User | None = None, now: datetime | None = None
) -> Subscription:
    """Withdraw a pending cancellation (before it takes effect); its uninvoiced penalty
    goes with it."""
    now = now or timezone.now()
    with transaction.atomic():
        sub = _locked(subscription)
        if sub.status != S.CANCELLED or sub.ends_at <= now:
            raise SubscriptionError(
                _("Only a cancellation that has not taken effect yet can be undone.")
            )
        penalties = Charge.objects.filter(subscription=sub, kind=Charge.Kind.PENALTY)
        if penalties.filter(invoiced_at__isnull=False).exists():
            raise SubscriptionError(
                _("The early-cancellation fee has already been invoiced; this cancellation stays.")
            )
        penalties.delete()
        sub.status, sub.cancelled_at, sub.ends_at = S.ACTIVE, None, None
        sub.save(update_fields=["status", "cancelled_at", "ends_at", "updated_at"])
        message = _("Cancellation withdrawn.")
        _record(sub, EventType.SUBSCRIPTION_CANCELLATION_UNDONE, actor, message, now)
    return sub


def subscription_end(
    *, subscription: Subscription, actor: User | None = None, now: datetime | None = None
) -> Subscription:
    """End a subscription now, or at its cancellation date if that has passed already
    (a late sweep records when it really ended). No term rules: this is the final step,
    or staff ending it on purpose."""
    now = now or timezone.now()
    with transaction.atomic():
        sub = _locked(subscription)
        if sub.status == S.ENDED:
            raise SubscriptionError(_("This subscription has already ended."))
        _end(sub, now, actor)
    return sub


def _end(sub: Subscription, now: datetime, actor: User | None = None) -> None:
    ended_at = min(sub.ends_at, now) if sub.ends_at else now
    sub.status, sub.ended_at, sub.ends_at = S.ENDED, ended_at, ended_at
    sub.save(update_fields=["status", "ended_at", "ends_at", "updated_at"])
    message = _("Ended on %(date)s.") % {"date": _date(ended_at)}
    _record(sub, EventType.SUBSCRIPTION_ENDED, actor, message, now)


def subscriptions_advance(*, now: datetime | None = None) -> dict[str, int]:
    """The periodic job: end subscriptions whose cancellation took effect and move the
    others into the period containing `now` (switching to the renewal term when the
    commitment has ended). Claims due rows with skip_locked, one transaction per batch,
    a savepoint per row so one bad row is logged and skipped instead of stopping every
    other renewal. Running it twice at the same `now` changes nothing the second time."""
    now = now or timezone.now()
    counts = {"ended": 0, "renewed": 0, "commitments_renewed": 0, "failed": 0}
    failed: set[int] = set()
    while True:
        with transaction.atomic():
            batch = list(
                # of=self: the joined customer rows stay unlocked for the portal and admin.
                Subscription.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("customer")
                .filter(status__in=[S.ACTIVE, S.CANCELLED], current_period_end__lte=now)
                .exclude(pk__in=failed)
                .order_by("current_period_end", "pk")[:ADVANCE_BATCH]
            )
            for sub in batch:
                try:
                    with transaction.atomic():
                        _advance_one(sub, now, counts)
                except Exception:
                    logger.exception("Could not advance subscription %s.", sub.public_id)
                    failed.add(sub.pk)
                    counts["failed"] += 1
        if len(batch) < ADVANCE_BATCH:
            return counts


def _advance_one(sub: Subscription, now: datetime, counts: dict[str, int]) -> None:
    if sub.status == S.CANCELLED and sub.ends_at <= now:
        _end(sub, now)
        counts["ended"] += 1
    else:
        counts["commitments_renewed"] += _renew(sub, now)
        counts["renewed"] += 1


def _renew(sub: Subscription, now: datetime) -> int:
    """Move `sub` into the period containing `now`; 1 if a new commitment began, else 0."""
    start, end, _next = _period(sub, now)
    sub.current_period_start, sub.current_period_end = start, end
    renewed = 0
    while sub.commitment_ends_at and sub.commitment_ends_at <= start:
        _switch_to_renewal_term(sub)
        renewed = 1
    sub.save(
        update_fields=[
            "current_period_start",
            "current_period_end",
            "term",
            "term_snapshot",
            "commitment_starts_at",
            "commitment_ends_at",
            "updated_at",
        ]
    )
    _record(sub, EventType.SUBSCRIPTION_RENEWED, None, "", now, activity=False)
    return renewed


def _switch_to_renewal_term(sub: Subscription) -> None:
    """The commitment has ended: continue on the renewal term (or the same one), with
    a new commitment from the end of the old one. Both keep the values agreed at
    purchase (the renewal term's are in the snapshot)."""
    terms = _terms(sub)
    renewal = _renewal_values(sub, terms) if terms is not None else None
    if renewal is not None:
        sub.term = Term.objects.filter(code=renewal.code).first() or sub.term
        sub.term_snapshot, terms = renewal.to_snapshot(), renewal
    if terms is None:
        sub.commitment_starts_at = sub.commitment_ends_at = None
        return
    sub.commitment_starts_at = sub.commitment_ends_at
    sub.commitment_ends_at = commitment_end(
        starts_at=timezone.localtime(sub.commitment_starts_at),
        term=terms,
        interval_count=sub.billing_interval_count,
        interval_unit=sub.billing_interval_unit,
        anchor=timezone.localtime(sub.started_at),
    )
    message = _("The commitment ended; continues on term %(term)s until %(date)s.") % {
        "term": terms.code,
        "date": _date(sub.commitment_ends_at),
    }
    Activity.objects.create(
        customer=sub.customer, subscription=sub, verb="subscription.term_renewed", message=message
    )


def _renewal_values(sub: Subscription, terms: TermValues) -> TermValues | None:
    """The renewal term's values as agreed, None to renew on the same term. Snapshots
    taken before the renewal was stored with them read the catalog, as they used to."""
    if terms.renewal_snapshot is not None:
        return TermValues.from_snapshot(terms.renewal_snapshot)
    if not terms.renewal_term_code:
        return None
    logger.warning(
        "Subscription %s: term snapshot without renewal values; reading term %s from the catalog.",
        sub.public_id,
        terms.renewal_term_code,
    )
    renewal = Term.objects.select_related("renewal_term").filter(code=terms.renewal_term_code)
    term = renewal.first()
    return term_values(term, with_renewal=False) if term is not None else None


# --- helpers -----------------------------------------------------------------------------


def _locked(subscription: Subscription) -> Subscription:
    return (
        Subscription.objects.select_for_update(of=("self",))
        .select_related("customer")
        .get(pk=subscription.pk)
    )


def _terms(subscription: Subscription) -> TermValues | None:
    """The catalog term's values as agreed. A corporate subscription has none: its
    snapshot holds the contract terms (see _corporate_period_end_for)."""
    snapshot = subscription.term_snapshot
    if not snapshot or subscription.is_corporate:
        return None
    return TermValues.from_snapshot(snapshot)


def _period(sub: Subscription, moment: datetime) -> tuple[datetime, datetime, datetime]:
    """(start, end, next end) of the billing period containing `moment`."""
    anchor = timezone.localtime(sub.started_at)
    count, unit = sub.billing_interval_count, sub.billing_interval_unit
    index, start, end = period_containing(
        anchor, max(timezone.localtime(moment), anchor), count, unit
    )
    return start, end, period_bounds(anchor, index + 1, count, unit)[1]


def _period_end_for(sub: Subscription, terms: TermValues | None, now: datetime) -> datetime:
    """The period end a cancellation received `now` takes effect at."""
    if sub.is_corporate:
        return _corporate_period_end_for(sub, now)
    _start, end, next_end = _period(sub, now)
    return cancellation_takes_effect(
        received_at=timezone.localtime(now),
        period_end=end,
        next_period_end=next_end,
        notice_count=terms.notice_period_count if terms else 0,
        notice_unit=terms.notice_period_unit if terms else "day",
    )


def _corporate_period_end_for(sub: Subscription, now: datetime) -> datetime:
    """A corporate contract is cancelled "up to N before the end of the subscription
    interval" (SPEC §1): the cancellation takes effect at the end of the subscription
    interval (counted from the start, like the accounting periods) if it arrives at least
    the cancellation period before it, else at the end of the next interval. Accounting
    periods never exceed the interval (a catalog rule), so that end is also the end of
    an accounting period and billing counts whole periods."""
    contract = sub.term_snapshot
    count, unit = contract["subscription_interval_count"], contract["subscription_interval_unit"]
    anchor = timezone.localtime(sub.started_at)
    index, _start, end = period_containing(
        anchor, max(timezone.localtime(now), anchor), count, unit
    )
    return cancellation_takes_effect(
        received_at=timezone.localtime(now),
        period_end=end,
        next_period_end=period_bounds(anchor, index + 1, count, unit)[1],
        notice_count=contract.get("cancellation_period_count") or 0,
        notice_unit=contract.get("cancellation_period_unit") or "day",
    )


def _first_period_end_from(sub: Subscription, moment: datetime) -> datetime:
    """The first period boundary at or after `moment` (the moment itself if it is one)."""
    if not sub.billing_interval_count:
        return moment
    start, end, _next = _period(sub, moment)
    return start if start == moment else end


def _record_penalty(sub: Subscription, quote: CancellationQuote) -> None:
    terms = _terms(sub)
    with translation.override(sub.customer.language):
        description = _("Early-cancellation fee: %(offer)s") % {"offer": sub.title}
    Charge.objects.create(
        subscription=sub,
        kind=Charge.Kind.PENALTY,
        description=description[:200],
        amount=quote.penalty_amount,
        currency=quote.currency,
        tax_rate=terms.penalty_tax_rate or Decimal("0.00"),
        ledger_account=terms.penalty_ledger_account,
        line_type=terms.penalty_line_type,
    )


def _record(sub, verb, actor, message, now, *, penalty=None, activity=True) -> None:
    """The Activity row and the domain event of one lifecycle step."""
    if activity:
        Activity.objects.create(
            customer=sub.customer, subscription=sub, actor=actor, verb=verb, message=message
        )
    payload = {
        "subscription": str(sub.public_id),
        "customer": str(sub.customer.public_id),
        "status": sub.status,
        "ends_at": _iso(sub.ends_at),
    }
    if verb == EventType.SUBSCRIPTION_RENEWED:
        payload |= {
            "period_start": _iso(sub.current_period_start),
            "period_end": _iso(sub.current_period_end),
            "term": terms.code if (terms := _terms(sub)) is not None else None,
        }
    else:
        has_fee = penalty is not None and penalty.penalty_amount > 0
        payload["penalty"] = (
            {"amount": str(penalty.penalty_amount), "currency": penalty.currency}
            if has_fee
            else None
        )
    emit(type=verb, subject=sub, payload=payload, occurred_at=now)


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment else None


def _zero(subscription: Subscription) -> Decimal:
    return round_money(Decimal(0), subscription.currency)


def _local_day(moment: datetime):
    return timezone.localtime(moment).date()


def _date(moment: datetime | None) -> str:
    if moment is None:
        return ""
    # Translators: how a date reads in sentences such as "Your subscription ends on …".
    return date_format(timezone.localtime(moment).date(), _("j F Y"))
