"""The outbox: events are recorded in the caller's transaction, dispatched after commit,
and a lost dispatch task is made good by the sweep."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone
from django_q.models import OrmQ, Schedule

from notifications.events import EventType, MailType
from notifications.mail_context import sample_context
from notifications.models import Event
from notifications.scheduling import sync_schedules
from notifications.services import Mail, emit, event_dispatch, notifications_sweep

pytestmark = pytest.mark.django_db


def test_an_event_emitted_in_a_rolled_back_transaction_is_never_recorded():
    class Rollback(Exception):
        pass

    def change_that_fails():
        with transaction.atomic():
            emit(type=EventType.INVOICE_ISSUED, payload={"number": "2027-0001"})
            raise Rollback

    with pytest.raises(Rollback):
        change_that_fails()

    assert Event.objects.count() == 0


def test_an_event_is_dispatched_once_after_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        event = emit(
            type=EventType.INVOICE_ISSUED,
            payload={"number": "2027-0001", "total": Decimal("12.50")},
        )
        assert Event.objects.get(pk=event.pk).dispatched_at is None

    # Two after-commit steps: the emit queues the dispatch, the dispatch queues the sends.
    assert len(callbacks) == 2
    event.refresh_from_db()
    assert event.dispatched_at is not None
    assert event.payload == {"number": "2027-0001", "total": "12.50"}
    assert event_dispatch(event_id=event.pk) is False  # a second dispatch changes nothing


def test_the_subject_is_recorded_by_its_public_id(django_user_model):
    user = django_user_model.objects.create_user(email="rita@example.com")

    event = emit(type=EventType.USER_SUBSCRIPTION_CHANGED, payload={}, subject=user)

    assert (event.subject_type, event.subject_id) == ("subscriptions.user", str(user.public_id))


def test_emit_refuses_unknown_types_and_mail_templates_and_records_nothing():
    with pytest.raises(ValueError, match=r"Unknown event type 'invoice\.exploded'"):
        emit(type="invoice.exploded", payload={})
    with pytest.raises(ValueError, match="Unknown mail template type 'welcome'"):
        Mail(template="welcome", to="rita@example.com")

    assert Event.objects.count() == 0


def test_the_requested_mails_are_kept_with_the_event():
    event = emit(
        type=EventType.INVITATION_CREATED,
        payload={},
        mails=[
            Mail(
                template=MailType.USER_INVITED,
                to="rita@example.com",
                language="de",
                context=sample_context(MailType.USER_INVITED, "de"),
            )
        ],
    )

    assert Event.objects.get(pk=event.pk).mails == [
        {
            "template": "user_invited",
            "to": "rita@example.com",
            "language": "de",
            "context": sample_context(MailType.USER_INVITED, "de"),
        }
    ]


def test_a_mail_without_its_variables_or_with_a_bad_address_is_refused_at_emit():
    context = sample_context(MailType.USER_ADDED)
    del context["offer_name"]

    with pytest.raises(ValueError, match="A user_added e-mail needs offer_name in its context"):
        Mail(template=MailType.USER_ADDED, to="tom@example.com", context=context)
    with pytest.raises(ValueError, match="is not an e-mail address"):
        Mail(template=MailType.USER_ADDED, to="tom@", context=sample_context(MailType.USER_ADDED))


def test_the_sweep_dispatches_an_event_whose_task_was_lost():
    # Given an event whose dispatch task never ran (the on-commit callback is not run).
    event = emit(type=EventType.PAYMENT_FAILED, payload={"invoice": "2027-0001"})

    # When the sweep runs within the grace period, it leaves the event to its task ...
    assert notifications_sweep()["events"] == 0
    # ... and after it, dispatches it, once.
    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        assert notifications_sweep()["events"] == 1
        assert notifications_sweep()["events"] == 0

    assert Event.objects.get(pk=event.pk).dispatched_at is not None


def test_emit_queues_the_dispatch_on_the_broker_after_commit(
    monkeypatch, django_capture_on_commit_callbacks
):
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", False)  # really queue, as in production

    with django_capture_on_commit_callbacks(execute=True):
        event = emit(type=EventType.INVOICE_ISSUED, payload={})
        assert OrmQ.objects.count() == 0  # nothing queued before commit

    assert OrmQ.objects.count() == 1
    assert Event.objects.get(pk=event.pk).dispatched_at is None  # no worker ran it


def test_sync_schedules_creates_the_sweep_once_and_removes_stale_schedules():
    Schedule.objects.create(name="kontor:old.job", func="old.job", schedule_type=Schedule.HOURLY)
    Schedule.objects.create(name="staff made this", func="x.y", schedule_type=Schedule.HOURLY)

    first = sync_schedules()
    second = sync_schedules()

    sweep = Schedule.objects.get(name="kontor:notifications.sweep")
    assert (sweep.func, sweep.schedule_type, sweep.minutes) == (
        "notifications.tasks.sweep",
        Schedule.MINUTES,
        1,
    )
    assert (first["created"] >= 1, first["removed"]) == (True, 1)
    assert (second["created"], second["updated"], second["removed"]) == (0, 0, 0)
    assert Schedule.objects.filter(name="staff made this").exists()
