"""The periodic job: billing periods move on (month ends, catch-up), commitments renew
into the renewal term, cancellations take effect; idempotent; events in order."""

from __future__ import annotations

from datetime import datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from notifications.events import EventType
from notifications.models import Event
from notifications.scheduling import PeriodicTask, declared_tasks
from subscriptions import tasks
from subscriptions.exceptions import CancellationRefused
from subscriptions.models import Activity, Subscription
from subscriptions.services import lifecycle
from subscriptions.services.lifecycle import (
    subscription_cancel,
    subscription_cancellation_quote,
    subscriptions_advance,
)
from tests.factories import OfferFactory, TermFactory
from tests.subscriptions.factories import BERLIN, SubscriptionFactory

pytestmark = pytest.mark.django_db

NOTHING = {"ended": 0, "renewed": 0, "commitments_renewed": 0, "failed": 0}


def berlin(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=BERLIN)


def monthly(term=None, started_at=None, **values) -> Subscription:
    return SubscriptionFactory(
        term=term, offer=OfferFactory(), started_at=started_at or berlin(2027, 1, 1), **values
    )


def period(sub: Subscription) -> tuple[datetime, datetime]:
    sub.refresh_from_db()
    return sub.current_period_start, sub.current_period_end


def event_types() -> list[str]:
    return list(Event.objects.order_by("created_at", "id").values_list("type", flat=True))


# --- periods -----------------------------------------------------------------------------


def test_periods_from_31_january_follow_month_ends():
    sub = monthly(started_at=berlin(2027, 1, 31))
    assert period(sub) == (berlin(2027, 1, 31), berlin(2027, 2, 28))

    starts = []
    for moment in [berlin(2027, 2, 28), berlin(2027, 3, 31), berlin(2027, 4, 30)]:
        with time_machine.travel(moment, tick=False):
            subscriptions_advance()
        starts.append(period(sub))

    assert starts == [
        (berlin(2027, 2, 28), berlin(2027, 3, 31)),
        (berlin(2027, 3, 31), berlin(2027, 4, 30)),
        (berlin(2027, 4, 30), berlin(2027, 5, 31)),
    ]


def test_a_leap_year_february_ends_on_the_29th():
    sub = monthly(started_at=berlin(2028, 1, 31))

    subscriptions_advance(now=berlin(2028, 2, 29))

    assert period(sub) == (berlin(2028, 2, 29), berlin(2028, 3, 31))


def test_nothing_happens_before_the_period_ends():
    sub = monthly(started_at=berlin(2027, 1, 31))

    assert subscriptions_advance(now=berlin(2027, 2, 27, 23)) == NOTHING

    assert period(sub) == (berlin(2027, 1, 31), berlin(2027, 2, 28))
    assert not Event.objects.exists()


def test_a_subscription_that_missed_runs_catches_up_to_the_period_containing_now():
    sub = monthly(started_at=berlin(2027, 1, 31))

    counts = subscriptions_advance(now=berlin(2027, 5, 15, 12))

    assert counts == {"ended": 0, "renewed": 1, "commitments_renewed": 0, "failed": 0}
    assert period(sub) == (berlin(2027, 4, 30), berlin(2027, 5, 31))
    [event] = Event.objects.all()
    assert event.type == EventType.SUBSCRIPTION_RENEWED
    assert event.payload == {
        "subscription": str(sub.public_id),
        "customer": str(sub.customer.public_id),
        "status": "active",
        "ends_at": None,
        "period_start": "2027-04-29T22:00:00+00:00",
        "period_end": "2027-05-30T22:00:00+00:00",
        "term": None,
    }


def test_running_twice_at_the_same_moment_changes_nothing_the_second_time():
    sub = monthly(started_at=berlin(2027, 1, 31))
    subscriptions_advance(now=berlin(2027, 2, 28))
    sub.refresh_from_db()
    updated_at = sub.updated_at

    assert subscriptions_advance(now=berlin(2027, 2, 28)) == NOTHING

    sub.refresh_from_db()
    assert sub.updated_at == updated_at
    assert Event.objects.count() == 1


def test_one_time_purchases_are_never_touched():
    sub = SubscriptionFactory(offer=OfferFactory(single_product=True), term=None)

    assert subscriptions_advance(now=berlin(2030, 1, 1)) == NOTHING

    sub.refresh_from_db()
    assert sub.status == Subscription.Status.ACTIVE
    assert sub.current_period_end is None


def test_ended_subscriptions_are_never_touched():
    sub = monthly(ended=True)

    assert subscriptions_advance(now=berlin(2030, 1, 1)) == NOTHING

    assert period(sub) == (berlin(2027, 1, 1), berlin(2027, 2, 1))


def test_batches_are_claimed_until_nothing_is_due(monkeypatch):
    monkeypatch.setattr(lifecycle, "ADVANCE_BATCH", 2)
    subs = [monthly() for _ in range(5)]

    counts = subscriptions_advance(now=berlin(2027, 2, 1))

    assert counts == {"ended": 0, "renewed": 5, "commitments_renewed": 0, "failed": 0}
    assert {period(sub) for sub in subs} == {(berlin(2027, 2, 1), berlin(2027, 3, 1))}


def test_advance_runs_a_fixed_number_of_queries(django_assert_num_queries):
    """Per batch: savepoint, claim, release. Per subscription: savepoint, update, event,
    release; and for the audit log (docs/audit.md) the row before, the offer for the
    entry's title, the entry. No final empty claim, because the batch was short."""
    for _ in range(3):
        monthly()

    with django_assert_num_queries(3 + 3 * 7):
        subscriptions_advance(now=berlin(2027, 2, 1))


def test_a_row_that_cannot_advance_is_logged_and_skipped_and_the_others_go_on(caplog):
    broken = monthly()
    Subscription.objects.filter(pk=broken.pk).update(billing_interval_unit="fortnight")
    healthy = monthly()

    counts = subscriptions_advance(now=berlin(2027, 2, 1))

    assert counts == {"ended": 0, "renewed": 1, "commitments_renewed": 0, "failed": 1}
    assert period(broken) == (berlin(2027, 1, 1), berlin(2027, 2, 1))
    assert period(healthy) == (berlin(2027, 2, 1), berlin(2027, 3, 1))
    assert f"Could not advance subscription {broken.public_id}." in caplog.text
    assert Event.objects.get().subject_id == str(healthy.public_id)


# --- renewal into the renewal term -------------------------------------------------------


def test_twelve_months_then_monthly():
    """A 12-month commitment that cannot be left early, from 31 Jan 2027, renews into a
    monthly term (1 billing cycle, cancellable) on 31 Jan 2028; from then on each month is
    a new one-month commitment, keeping the month ends."""
    monthly_term = TermFactory(code="monthly", billing_cycles=True, commitment_count=1)
    yearly = TermFactory(code="twelve-months", not_cancellable=True, renewal_term=monthly_term)
    sub = monthly(yearly, started_at=berlin(2027, 1, 31))
    assert sub.commitment_ends_at == berlin(2028, 1, 31)
    period_ends = [
        berlin(2027, 2, 28),
        berlin(2027, 3, 31),
        berlin(2027, 4, 30),
        berlin(2027, 5, 31),
        berlin(2027, 6, 30),
        berlin(2027, 7, 31),
        berlin(2027, 8, 31),
        berlin(2027, 9, 30),
        berlin(2027, 10, 31),
        berlin(2027, 11, 30),
        berlin(2027, 12, 31),
    ]
    for moment in period_ends:
        with time_machine.travel(moment, tick=False):
            assert subscriptions_advance()["commitments_renewed"] == 0
    sub.refresh_from_db()
    assert sub.term == yearly
    with pytest.raises(CancellationRefused):
        subscription_cancel(subscription=sub, now=berlin(2027, 12, 1))

    with time_machine.travel(berlin(2028, 1, 31), tick=False):
        counts = subscriptions_advance()

    assert counts == {"ended": 0, "renewed": 1, "commitments_renewed": 1, "failed": 0}
    sub.refresh_from_db()
    assert sub.term == monthly_term
    assert sub.term_snapshot["code"] == "monthly"
    assert sub.term_snapshot["early_cancellation"] == "allowed"
    assert (sub.current_period_start, sub.current_period_end) == (
        berlin(2028, 1, 31),
        berlin(2028, 2, 29),
    )
    assert (sub.commitment_starts_at, sub.commitment_ends_at) == (
        berlin(2028, 1, 31),
        berlin(2028, 2, 29),
    )
    assert Activity.objects.get(subscription=sub).message == (
        "The commitment ended; continues on term monthly until 29 February 2028."
    )

    subscriptions_advance(now=berlin(2028, 2, 29))

    sub.refresh_from_db()
    assert sub.term == monthly_term
    assert (sub.commitment_starts_at, sub.commitment_ends_at) == (
        berlin(2028, 2, 29),
        berlin(2028, 3, 31),
    )
    quote = subscription_cancellation_quote(subscription=sub, now=berlin(2028, 3, 10))
    assert quote.allowed is True
    assert quote.takes_effect_at == berlin(2028, 3, 31)
    assert event_types() == [EventType.SUBSCRIPTION_RENEWED] * 13


def test_the_renewal_term_renews_as_it_was_sold_not_as_the_catalog_reads_now():
    monthly_term = TermFactory(code="monthly", billing_cycles=True, commitment_count=1)
    yearly = TermFactory(code="year", commitment_count=1, commitment_unit="year")
    yearly.renewal_term = monthly_term
    yearly.save()
    sub = monthly(yearly)
    monthly_term.notice_period_count = 7
    monthly_term.early_cancellation = "not_allowed"
    monthly_term.save()

    subscriptions_advance(now=berlin(2028, 1, 1))

    sub.refresh_from_db()
    assert sub.term == monthly_term
    assert sub.term_snapshot["code"] == "monthly"
    assert sub.term_snapshot["notice_period_count"] == 0
    assert sub.term_snapshot["early_cancellation"] == "allowed"
    assert sub.term_snapshot["renewal_term_code"] is None
    assert sub.term_snapshot["renewal_snapshot"] is None
    assert Event.objects.get().payload["term"] == "monthly"


def test_an_old_snapshot_without_renewal_values_reads_the_renewal_term_from_the_catalog(caplog):
    monthly_term = TermFactory(code="monthly", billing_cycles=True, commitment_count=1)
    yearly = TermFactory(code="year", commitment_count=1, commitment_unit="year")
    yearly.renewal_term = monthly_term
    yearly.save()
    sub = monthly(yearly)
    old = {k: v for k, v in sub.term_snapshot.items() if k != "renewal_snapshot"}
    Subscription.objects.filter(pk=sub.pk).update(term_snapshot=old)
    monthly_term.notice_period_count = 7
    monthly_term.save()

    subscriptions_advance(now=berlin(2028, 1, 1))

    sub.refresh_from_db()
    assert sub.term_snapshot["code"] == "monthly"
    assert sub.term_snapshot["notice_period_count"] == 7
    assert "term snapshot without renewal values" in caplog.text


def test_the_job_locks_only_subscription_rows_not_the_joined_customers():
    monthly()

    with CaptureQueriesContext(connection) as queries:
        subscriptions_advance(now=berlin(2027, 2, 1))

    claims = [q["sql"] for q in queries if "SKIP LOCKED" in q["sql"]]
    assert len(claims) == 1
    assert 'FOR UPDATE OF "subscriptions_subscription" SKIP LOCKED' in claims[0]


def test_without_a_renewal_term_the_same_term_renews_with_the_values_agreed():
    term = TermFactory(code="year", commitment_count=1, commitment_unit="year")
    sub = monthly(term)
    agreed = sub.term_snapshot
    term.notice_period_count = 30
    term.save()

    counts = subscriptions_advance(now=berlin(2028, 1, 1))

    sub.refresh_from_db()
    assert counts["commitments_renewed"] == 1
    assert sub.term == term
    assert sub.term_snapshot == agreed
    assert (sub.commitment_starts_at, sub.commitment_ends_at) == (
        berlin(2028, 1, 1),
        berlin(2029, 1, 1),
    )


def test_missed_runs_renew_every_commitment_that_ended():
    """Three 1-month commitments ended while nothing ran: the third one starts 1 Apr."""
    term = TermFactory(code="month", commitment_count=1, commitment_unit="month")
    sub = monthly(term)

    subscriptions_advance(now=berlin(2027, 4, 10))

    sub.refresh_from_db()
    assert (sub.commitment_starts_at, sub.commitment_ends_at) == (
        berlin(2027, 4, 1),
        berlin(2027, 5, 1),
    )
    assert Activity.objects.filter(subscription=sub).count() == 3


# --- cancellations take effect -----------------------------------------------------------


def test_a_cancelled_subscription_ends_at_its_date():
    sub = monthly(started_at=berlin(2027, 1, 31))
    subscription_cancel(subscription=sub, now=berlin(2027, 3, 10))

    with time_machine.travel(berlin(2027, 3, 31), tick=False):
        counts = subscriptions_advance()

    assert counts == {"ended": 1, "renewed": 0, "commitments_renewed": 0, "failed": 0}
    sub.refresh_from_db()
    assert sub.status == Subscription.Status.ENDED
    assert sub.ended_at == berlin(2027, 3, 31)
    assert event_types() == [EventType.SUBSCRIPTION_CANCELLED, EventType.SUBSCRIPTION_ENDED]
    assert subscriptions_advance(now=berlin(2027, 3, 31)) == NOTHING


def test_a_late_run_records_the_date_the_cancellation_took_effect():
    sub = monthly(started_at=berlin(2027, 1, 31))
    subscription_cancel(subscription=sub, now=berlin(2027, 3, 10))

    subscriptions_advance(now=berlin(2027, 4, 2, 9))

    sub.refresh_from_db()
    assert sub.ended_at == berlin(2027, 3, 31)
    assert Event.objects.get(type=EventType.SUBSCRIPTION_ENDED).payload["ends_at"] == (
        "2027-03-30T22:00:00+00:00"
    )


def test_a_cancellation_too_late_for_this_period_runs_one_more_period():
    """14 days' notice; received 19 Mar 2027, so it ends on 1 May, not on 1 Apr."""
    sub = monthly(TermFactory(notice_period_count=14, notice_period_unit="day"))
    subscription_cancel(subscription=sub, now=berlin(2027, 3, 19))

    first = subscriptions_advance(now=berlin(2027, 4, 1))
    sub.refresh_from_db()
    still_cancelled = (sub.status, sub.current_period_start, sub.current_period_end)
    second = subscriptions_advance(now=berlin(2027, 5, 1))

    assert first == {"ended": 0, "renewed": 1, "commitments_renewed": 0, "failed": 0}
    assert still_cancelled == ("cancelled", berlin(2027, 4, 1), berlin(2027, 5, 1))
    assert second == {"ended": 1, "renewed": 0, "commitments_renewed": 0, "failed": 0}
    sub.refresh_from_db()
    assert sub.status == Subscription.Status.ENDED
    assert sub.ended_at == berlin(2027, 5, 1)
    assert event_types() == [
        EventType.SUBSCRIPTION_CANCELLED,
        EventType.SUBSCRIPTION_RENEWED,
        EventType.SUBSCRIPTION_ENDED,
    ]


def test_a_whole_life_emits_its_events_in_order():
    sub = monthly(TermFactory())

    subscription_cancel(subscription=sub, now=berlin(2027, 1, 10))
    lifecycle.subscription_undo_cancellation(subscription=sub, now=berlin(2027, 1, 11))
    subscriptions_advance(now=berlin(2027, 2, 1))
    subscription_cancel(subscription=sub, now=berlin(2027, 2, 5))
    subscriptions_advance(now=berlin(2027, 3, 1))

    assert event_types() == [
        EventType.SUBSCRIPTION_CANCELLED,
        EventType.SUBSCRIPTION_CANCELLATION_UNDONE,
        EventType.SUBSCRIPTION_RENEWED,
        EventType.SUBSCRIPTION_CANCELLED,
        EventType.SUBSCRIPTION_ENDED,
    ]
    assert {event.subject_id for event in Event.objects.all()} == {str(sub.public_id)}


# --- schedule and task -------------------------------------------------------------------


def test_the_job_is_declared_every_five_minutes():
    assert (
        PeriodicTask(
            name="subscriptions.advance",
            func="subscriptions.tasks.advance_subscriptions",
            minutes=5,
        )
        in declared_tasks()
    )


def test_the_task_advances_what_is_due_now():
    sub = monthly()

    with time_machine.travel(berlin(2027, 2, 1, 0), tick=False):
        counts = tasks.advance_subscriptions()

    assert counts == {"ended": 0, "renewed": 1, "commitments_renewed": 0, "failed": 0}
    assert period(sub) == (berlin(2027, 2, 1), berlin(2027, 3, 1))
