"""Cancelling a subscription under its term, travelling in time: allowed, not allowed,
penalty (pro-rata or not, grace), the cancellation period, cancel now, refusals.

Dates are the merchant's (Europe/Berlin); periods run from `started_at` on its wall clock.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
import time_machine
from django.utils import translation

from notifications.events import EventType
from notifications.models import Event
from subscriptions.exceptions import CancellationRefused, SubscriptionError
from subscriptions.models import Activity, Charge, Subscription
from subscriptions.services.lifecycle import (
    CancellationQuote,
    CancellationTermsChanged,
    subscription_cancel,
    subscription_cancellation_quote,
)
from tests.factories import OfferFactory, TermFactory
from tests.subscriptions.factories import BERLIN, SubscriptionFactory

pytestmark = pytest.mark.django_db


def berlin(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=BERLIN)


def penalty_term(**values):
    """12 calendar months; leaving early costs up to 120.00 EUR (19 % tax, account 8450),
    pro-rata, nothing within 14 days of the start."""
    values = {
        "with_penalty": True,
        "penalty_fee_amount": Decimal("120.00"),
        **values,
    }
    return TermFactory(**values)


def monthly(term=None, started_at=None, **values) -> Subscription:
    """A monthly 9.90 EUR subscription on `term`, started 1 January 2027 in Berlin."""
    return SubscriptionFactory(
        term=term, started_at=started_at or berlin(2027, 1, 1), offer=OfferFactory(), **values
    )


def events(subscription: Subscription) -> list[Event]:
    return list(
        Event.objects.filter(subject_id=str(subscription.public_id)).order_by("created_at", "id")
    )


# --- allowed -----------------------------------------------------------------------------


def test_allowed_early_cancellation_ends_at_period_end_without_fee():
    """12 months from 31 Jan 2027; cancelled on 10 Mar, in the period [28 Feb, 31 Mar)."""
    sub = monthly(TermFactory(), started_at=berlin(2027, 1, 31))
    assert sub.commitment_ends_at == berlin(2028, 1, 31)

    with time_machine.travel(berlin(2027, 3, 10, 12), tick=False):
        quote = subscription_cancellation_quote(subscription=sub)
        cancelled = subscription_cancel(subscription=sub)

    assert quote == CancellationQuote(
        mode="period_end",
        allowed=True,
        takes_effect_at=berlin(2027, 3, 31),
        penalty_amount=Decimal("0.00"),
        currency="EUR",
        earliest_end=None,
        reason="Your subscription ends on 31 March 2027.",
    )
    sub.refresh_from_db()
    assert cancelled.status == sub.status == Subscription.Status.CANCELLED
    assert sub.cancelled_at == berlin(2027, 3, 10, 12)
    assert sub.ends_at == berlin(2027, 3, 31)
    assert sub.ended_at is None
    assert not Charge.objects.exists()
    [event] = events(sub)
    assert event.type == EventType.SUBSCRIPTION_CANCELLED
    assert event.payload == {
        "subscription": str(sub.public_id),
        "customer": str(sub.customer.public_id),
        "status": "cancelled",
        "ends_at": "2027-03-30T22:00:00+00:00",
        "penalty": None,
    }
    [activity] = Activity.objects.filter(subscription=sub)
    assert activity.verb == "subscription.cancelled"
    assert activity.message == "Your subscription ends on 31 March 2027."


def test_without_a_term_a_cancellation_ends_at_the_period_end():
    sub = monthly()

    cancelled = subscription_cancel(subscription=sub, now=berlin(2027, 2, 27, 23))

    assert cancelled.ends_at == berlin(2027, 3, 1)


def test_the_quote_changes_nothing():
    sub = monthly(TermFactory(not_cancellable=True))

    subscription_cancellation_quote(subscription=sub, now=berlin(2027, 3, 10))
    subscription_cancellation_quote(subscription=sub, mode="now", now=berlin(2027, 3, 10))

    sub.refresh_from_db()
    assert sub.status == Subscription.Status.ACTIVE
    assert sub.cancelled_at is None
    assert not Event.objects.exists()
    assert not Activity.objects.exists()


# --- not allowed -------------------------------------------------------------------------


def test_not_allowed_refuses_with_the_commitment_end_and_changes_nothing():
    sub = monthly(TermFactory(not_cancellable=True), started_at=berlin(2027, 1, 31))

    with (
        time_machine.travel(berlin(2027, 3, 10), tick=False),
        pytest.raises(CancellationRefused) as refused,
    ):
        subscription_cancel(subscription=sub)

    assert refused.value.earliest_end == berlin(2028, 1, 31)
    assert (
        str(refused.value) == "Cancelling before 31 January 2028 is not possible under your term."
    )
    sub.refresh_from_db()
    assert sub.status == Subscription.Status.ACTIVE
    assert sub.cancelled_at is None
    assert sub.ends_at is None
    assert not Charge.objects.exists()
    assert not Event.objects.exists()
    assert not Activity.objects.exists()


def test_not_allowed_quote_names_the_earliest_end():
    sub = monthly(TermFactory(not_cancellable=True), started_at=berlin(2027, 1, 31))

    quote = subscription_cancellation_quote(subscription=sub, mode="now", now=berlin(2027, 3, 10))

    assert quote.allowed is False
    assert quote.takes_effect_at is None
    assert quote.earliest_end == berlin(2028, 1, 31)
    assert quote.penalty_amount == Decimal("0.00")


def test_earliest_end_is_the_end_of_the_period_in_which_the_commitment_ends():
    """100 days from 1 Jan 2027 end on 11 Apr, inside the period [1 Apr, 1 May): the
    subscription can end on 1 May at the earliest."""
    term = TermFactory(not_cancellable=True, commitment_count=100, commitment_unit="day")
    sub = monthly(term)
    assert sub.commitment_ends_at == berlin(2027, 4, 11)

    with pytest.raises(CancellationRefused) as refused:
        subscription_cancel(subscription=sub, now=berlin(2027, 2, 1))

    assert refused.value.earliest_end == berlin(2027, 5, 1)


def test_not_allowed_term_lets_a_cancellation_end_once_the_commitment_is_served():
    term = TermFactory(not_cancellable=True, commitment_count=100, commitment_unit="day")
    sub = monthly(term)

    cancelled = subscription_cancel(subscription=sub, now=berlin(2027, 4, 5))

    assert cancelled.ends_at == berlin(2027, 5, 1)


# --- penalty -----------------------------------------------------------------------------


def test_pro_rata_penalty_becomes_a_charge():
    """Received 10 Feb 2027, effective 1 Mar 2027: 306 of the commitment's 365 days are
    left, so 120.00 * 306/365 = 100.6027… → 100.60 EUR."""
    sub = monthly(penalty_term())

    with time_machine.travel(berlin(2027, 2, 10), tick=False):
        quote = subscription_cancellation_quote(subscription=sub)
        subscription_cancel(subscription=sub)

    assert quote.takes_effect_at == berlin(2027, 3, 1)
    assert quote.penalty_amount == Decimal("100.60")
    assert quote.reason == (
        "Your subscription ends on 1 March 2027. An early-cancellation fee of €100.60 applies."
    )
    [charge] = Charge.objects.filter(subscription=sub)
    assert charge.kind == Charge.Kind.PENALTY
    assert charge.amount == Decimal("100.60")
    assert charge.currency == "EUR"
    assert charge.tax_rate == Decimal("19.00")
    assert charge.ledger_account == "8450"
    assert charge.line_type == "penalty"
    assert charge.description == f"Early-cancellation fee: {sub.offer.name}"
    assert charge.invoiced_at is None
    [event] = events(sub)
    assert event.payload["penalty"] == {"amount": "100.60", "currency": "EUR"}


def test_pro_rata_penalty_when_cancelling_now():
    """Ended 15 Feb 2027: 320 of 365 days left, 120.00 * 320/365 = 105.2054… → 105.21."""
    sub = monthly(penalty_term())

    subscription_cancel(subscription=sub, mode="now", now=berlin(2027, 2, 15))

    assert Charge.objects.get(subscription=sub).amount == Decimal("105.21")


def test_penalty_without_pro_rata_is_the_whole_fee():
    sub = monthly(penalty_term(pro_rata_penalty=False, penalty_fee_amount=Decimal("50.00")))

    quote = subscription_cancellation_quote(subscription=sub, now=berlin(2027, 11, 20))
    subscription_cancel(subscription=sub, now=berlin(2027, 11, 20))

    assert quote.takes_effect_at == berlin(2027, 12, 1)
    assert quote.penalty_amount == Decimal("50.00")
    assert Charge.objects.get(subscription=sub).amount == Decimal("50.00")


def test_within_the_grace_period_there_is_no_fee_and_no_charge():
    sub = monthly(penalty_term())

    quote = subscription_cancellation_quote(subscription=sub, now=berlin(2027, 1, 14, 23))
    cancelled = subscription_cancel(subscription=sub, now=berlin(2027, 1, 14, 23))

    assert quote.penalty_amount == Decimal("0.00")
    assert quote.reason == "Your subscription ends on 1 February 2027."
    assert cancelled.ends_at == berlin(2027, 2, 1)
    assert not Charge.objects.exists()
    assert events(sub)[0].payload["penalty"] is None


def test_right_after_the_grace_period_the_fee_applies():
    """Received 15 Jan (day 15), effective 1 Feb: 334 of 365 days left → 109.81."""
    sub = monthly(penalty_term())

    subscription_cancel(subscription=sub, now=berlin(2027, 1, 15))

    assert Charge.objects.get(subscription=sub).amount == Decimal("109.81")


def test_a_cancellation_ending_when_the_commitment_ends_costs_nothing():
    sub = monthly(penalty_term(pro_rata_penalty=False))

    cancelled = subscription_cancel(subscription=sub, now=berlin(2027, 12, 20))

    assert cancelled.ends_at == berlin(2028, 1, 1) == sub.commitment_ends_at
    assert not Charge.objects.exists()


# --- cancellation period -----------------------------------------------------------------


def test_cancellation_in_time_for_the_cancellation_period_ends_this_period():
    """14 days' notice: for the period ending 1 Apr 2027, by 18 Mar 00:00."""
    sub = monthly(TermFactory(notice_period_count=14, notice_period_unit="day"))

    cancelled = subscription_cancel(subscription=sub, now=berlin(2027, 3, 17))

    assert cancelled.ends_at == berlin(2027, 4, 1)


def test_cancellation_too_late_ends_at_the_end_of_the_next_period_and_says_so():
    sub = monthly(TermFactory(notice_period_count=14, notice_period_unit="day"))

    with time_machine.travel(berlin(2027, 3, 19), tick=False):
        quote = subscription_cancellation_quote(subscription=sub)
        cancelled = subscription_cancel(subscription=sub)

    assert quote.takes_effect_at == berlin(2027, 5, 1)
    assert quote.reason == (
        "The cancellation period for the billing period ending on 1 April 2027 has passed, "
        "so your subscription ends at the end of the next billing period, on 1 May 2027."
    )
    assert cancelled.ends_at == berlin(2027, 5, 1)


def test_cancel_now_ignores_the_cancellation_period():
    sub = monthly(TermFactory(notice_period_count=1, notice_period_unit="month"))

    ended = subscription_cancel(subscription=sub, mode="now", now=berlin(2027, 3, 19, 9))

    assert ended.ends_at == ended.ended_at == berlin(2027, 3, 19, 9)


# --- cancel now --------------------------------------------------------------------------


def test_cancel_now_ends_the_subscription_at_once():
    sub = monthly(TermFactory())

    with time_machine.travel(berlin(2027, 3, 10, 15), tick=False):
        quote = subscription_cancellation_quote(subscription=sub, mode="now")
        subscription_cancel(subscription=sub, mode="now")

    assert quote.reason == "Your subscription ends immediately."
    sub.refresh_from_db()
    assert sub.status == Subscription.Status.ENDED
    assert sub.cancelled_at == sub.ended_at == sub.ends_at == berlin(2027, 3, 10, 15)
    cancelled, ended = events(sub)
    assert (cancelled.type, ended.type) == (
        EventType.SUBSCRIPTION_CANCELLED,
        EventType.SUBSCRIPTION_ENDED,
    )
    assert cancelled.payload["ends_at"] == ended.payload["ends_at"] == "2027-03-10T14:00:00+00:00"
    assert cancelled.payload["status"] == ended.payload["status"] == "ended"
    [activity] = Activity.objects.filter(subscription=sub)
    assert activity.verb == EventType.SUBSCRIPTION_ENDED


def test_cancel_now_turns_a_pending_cancellation_into_an_end_now_with_the_fee_recomputed():
    """Cancelled 10 Feb for 1 Mar (100.60 EUR); ended now on 15 Feb instead: 320 of 365
    days left, 120.00 * 320/365 = 105.2054… → 105.21 EUR replaces the first fee."""
    sub = monthly(penalty_term())
    subscription_cancel(subscription=sub, now=berlin(2027, 2, 10))
    assert Charge.objects.get(subscription=sub).amount == Decimal("100.60")

    quote = subscription_cancellation_quote(subscription=sub, mode="now", now=berlin(2027, 2, 15))
    subscription_cancel(subscription=sub, mode="now", now=berlin(2027, 2, 15))

    assert quote.allowed is True
    assert quote.penalty_amount == Decimal("105.21")
    sub.refresh_from_db()
    assert sub.status == Subscription.Status.ENDED
    assert sub.cancelled_at == berlin(2027, 2, 10)
    assert sub.ended_at == sub.ends_at == berlin(2027, 2, 15)
    [charge] = Charge.objects.filter(subscription=sub)
    assert charge.amount == Decimal("105.21")
    assert [event.type for event in events(sub)] == [
        EventType.SUBSCRIPTION_CANCELLED,
        EventType.SUBSCRIPTION_ENDED,
    ]
    assert events(sub)[1].payload["penalty"] == {"amount": "105.21", "currency": "EUR"}


def test_a_pending_cancellation_whose_fee_was_invoiced_cannot_end_now():
    sub = monthly(penalty_term())
    subscription_cancel(subscription=sub, now=berlin(2027, 2, 10))
    Charge.objects.filter(subscription=sub).update(invoiced_at=berlin(2027, 2, 11))

    with pytest.raises(SubscriptionError, match="already been invoiced"):
        subscription_cancel(subscription=sub, mode="now", now=berlin(2027, 2, 15))

    sub.refresh_from_db()
    assert sub.status == Subscription.Status.CANCELLED
    assert sub.ends_at == berlin(2027, 3, 1)
    assert Charge.objects.get(subscription=sub).amount == Decimal("100.60")
    assert len(events(sub)) == 1


# --- what the customer confirmed ---------------------------------------------------------


def test_a_cancellation_whose_date_changed_since_the_quote_is_refused_and_changes_nothing():
    """14 days' notice: until 14 Feb 24:00 a cancellation ends on 1 Mar, after it on 1 Apr."""
    sub = monthly(TermFactory(notice_period_count=14, notice_period_unit="day"))
    quote = subscription_cancellation_quote(
        subscription=sub, now=datetime(2027, 2, 14, 23, 59, 50, tzinfo=BERLIN)
    )
    assert quote.takes_effect_at == berlin(2027, 3, 1)

    with pytest.raises(CancellationTermsChanged) as refused:
        subscription_cancel(
            subscription=sub,
            now=datetime(2027, 2, 15, 0, 0, 10, tzinfo=BERLIN),
            expected_end=quote.takes_effect_at,
            expected_penalty=quote.penalty_amount,
        )

    assert str(refused.value) == (
        "The terms of your cancellation have changed; please review them again."
    )
    sub.refresh_from_db()
    assert sub.status == Subscription.Status.ACTIVE
    assert sub.cancelled_at is None
    assert not Activity.objects.exists()
    assert not events(sub)


def test_a_cancellation_whose_fee_changed_since_the_quote_is_refused():
    sub = monthly(penalty_term())

    with pytest.raises(CancellationTermsChanged):
        subscription_cancel(
            subscription=sub,
            now=berlin(2027, 2, 10),
            expected_end=berlin(2027, 3, 1),
            expected_penalty=Decimal("100.59"),
        )

    assert not Charge.objects.exists()


def test_the_confirmed_pro_rata_fee_at_period_end_does_not_move_with_the_clock():
    """The fee is computed at the end date, so minutes later the quote still holds."""
    sub = monthly(penalty_term())
    quote = subscription_cancellation_quote(subscription=sub, now=berlin(2027, 2, 10, 9))

    subscription_cancel(
        subscription=sub,
        now=datetime(2027, 2, 10, 9, 40, 17, tzinfo=BERLIN),
        expected_end=quote.takes_effect_at,
        expected_penalty=quote.penalty_amount,
    )

    assert Charge.objects.get(subscription=sub).amount == Decimal("100.60")


def test_cancel_now_accepts_the_fee_quoted_earlier_that_day_within_the_rounding():
    """Pro-rata "now" shrinks by a cent about every 44 minutes (120.00 over 365 days)."""
    sub = monthly(penalty_term())
    quote = subscription_cancellation_quote(subscription=sub, mode="now", now=berlin(2027, 2, 15))

    subscription_cancel(
        subscription=sub,
        mode="now",
        now=datetime(2027, 2, 15, 0, 30, tzinfo=BERLIN),
        expected_end=quote.takes_effect_at,
        expected_penalty=quote.penalty_amount,
    )

    assert quote.penalty_amount == Decimal("105.21")
    assert Charge.objects.get(subscription=sub).amount in {Decimal("105.21"), Decimal("105.20")}


def test_cancel_now_confirmed_yesterday_is_refused():
    sub = monthly(TermFactory())
    quote = subscription_cancellation_quote(
        subscription=sub, mode="now", now=datetime(2027, 2, 14, 23, 59, 50, tzinfo=BERLIN)
    )

    with pytest.raises(CancellationTermsChanged):
        subscription_cancel(
            subscription=sub,
            mode="now",
            now=datetime(2027, 2, 15, 0, 0, 10, tzinfo=BERLIN),
            expected_end=quote.takes_effect_at,
            expected_penalty=quote.penalty_amount,
        )

    sub.refresh_from_db()
    assert sub.status == Subscription.Status.ACTIVE


def test_a_one_time_purchase_can_only_end_now():
    sub = SubscriptionFactory(offer=OfferFactory(single_product=True), term=None)
    assert sub.current_period_end is None

    quote = subscription_cancellation_quote(subscription=sub, now=berlin(2027, 2, 1))
    with pytest.raises(SubscriptionError, match="only end now"):
        subscription_cancel(subscription=sub, now=berlin(2027, 2, 1))
    ended = subscription_cancel(subscription=sub, mode="now", now=berlin(2027, 2, 1))

    assert quote.allowed is False
    assert quote.earliest_end is None
    assert ended.status == Subscription.Status.ENDED


# --- refusals ----------------------------------------------------------------------------


def test_cancelling_a_cancelled_subscription_is_refused():
    sub = monthly(cancelled=True)

    with pytest.raises(SubscriptionError) as refused:
        subscription_cancel(subscription=sub, now=berlin(2027, 1, 10))

    assert (
        str(refused.value) == "This subscription is already cancelled; it ends on 1 February 2027."
    )
    assert not isinstance(refused.value, CancellationRefused)
    assert not Event.objects.exists()


def test_cancelling_an_ended_subscription_is_refused():
    sub = monthly(ended=True)

    with pytest.raises(SubscriptionError, match="already ended"):
        subscription_cancel(subscription=sub, mode="now", now=berlin(2027, 3, 1))

    assert not Event.objects.exists()


def test_an_unknown_mode_is_a_programming_error():
    with pytest.raises(ValueError, match="mode"):
        subscription_cancellation_quote(subscription=monthly(), mode="tomorrow")


def test_the_actor_is_recorded():
    from subscriptions.models import User

    staff = User.objects.create_user(email="support@kontor.example", is_staff=True)
    sub = monthly()

    subscription_cancel(subscription=sub, actor=staff, now=berlin(2027, 1, 5))

    assert Activity.objects.get(subscription=sub).actor == staff


def test_a_cancellation_uses_the_period_containing_now_even_before_the_job_moved_it_on():
    sub = monthly()
    assert sub.current_period_end == berlin(2027, 2, 1)

    cancelled = subscription_cancel(subscription=sub, now=berlin(2027, 2, 5))

    assert cancelled.ends_at == berlin(2027, 3, 1)


def test_a_yearly_subscription_with_one_month_notice():
    """Yearly from 1 Jan 2027: cancellations for 1 Jan 2028 must arrive by 1 Dec 2027."""
    term = TermFactory(
        commitment_count=1,
        commitment_unit="year",
        notice_period_count=1,
        notice_period_unit="month",
    )
    sub = SubscriptionFactory(
        term=term,
        offer=OfferFactory(billing_interval_unit="year", price_amount=Decimal("99.00")),
        started_at=berlin(2027, 1, 1),
    )

    in_time = subscription_cancellation_quote(subscription=sub, now=berlin(2027, 12, 1))
    too_late = subscription_cancellation_quote(subscription=sub, now=berlin(2027, 12, 1, 1))

    assert in_time.takes_effect_at == berlin(2028, 1, 1)
    assert too_late.takes_effect_at == berlin(2029, 1, 1)


def test_the_fee_is_shown_in_the_viewers_locale():
    sub = monthly(penalty_term())

    with translation.override("de"):
        quote = subscription_cancellation_quote(subscription=sub, now=berlin(2027, 2, 10))

    assert "100,60\xa0€" in quote.reason
