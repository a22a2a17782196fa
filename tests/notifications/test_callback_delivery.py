"""Callbacks reach a real HTTP receiver on 127.0.0.1: signed, once per event and
endpoint, retried on the schedule until acknowledged or failed, never for a rolled-back
change, and still delivered when the queued task is lost."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import transaction
from django.test import override_settings
from django.utils import timezone
from django_q.conf import Conf
from django_q.models import OrmQ
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from notifications.events import EventType
from notifications.models import CallbackAttempt, CallbackDelivery, Event
from notifications.services import emit, event_dispatch, notifications_sweep
from notifications.services.callbacks import (
    MAX_ATTEMPTS,
    RETRY_DELAYS,
    callback_deliveries_create_for_event,
    callback_delivery_send,
    callback_endpoint_create,
    retry_delay,
)
from tests.notifications.receiver import Answer, Receiver

pytestmark = pytest.mark.django_db

CREATED = EventType.USER_SUBSCRIPTION_CREATED
CANCELLED = EventType.USER_SUBSCRIPTION_CANCELLED


@pytest.fixture
def receiver():
    with Receiver() as receiver:
        yield receiver


def _endpoint(receiver, *, event_types=(CREATED,), name="CRM", active=True):
    return callback_endpoint_create(
        name=name, url=receiver.url, event_types=list(event_types), active=active
    )


def _emit_and_commit(capture, **kwargs):
    with capture(execute=True):
        return emit(**{"type": CREATED, "payload": {"seats": 3}} | kwargs)


def _sweep_at(when: datetime) -> dict[str, int]:
    with time_machine.travel(when, tick=False):
        return notifications_sweep()


def _signature_matches(secret: str, request) -> bool:
    """Webhook.verify() also checks the timestamp is recent; this checks the signature of
    an attempt made at another (travelled) time."""
    timestamp = datetime.fromtimestamp(int(request.headers["webhook-timestamp"]), tz=UTC)
    expected = Webhook(secret).sign(request.headers["webhook-id"], timestamp, request.body.decode())
    return request.headers["webhook-signature"] == expected


# --- signing and the body -------------------------------------------------------------


def test_the_receiver_verifies_the_signature_with_the_endpoint_secret(
    receiver, django_user_model, django_capture_on_commit_callbacks
):
    endpoint = _endpoint(receiver)
    user = django_user_model.objects.create_user(email="rita@example.com")

    event = _emit_and_commit(
        django_capture_on_commit_callbacks,
        payload={"seats": 3, "price": Decimal("12.50")},
        subject=user,
        occurred_at=datetime(2027, 3, 1, 9, 30, tzinfo=UTC),
    )

    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    assert Webhook(endpoint.secret).verify(request.body, request.headers) == {
        "type": "user_subscription.created",
        "timestamp": "2027-03-01T09:30:00+00:00",
        "data": {
            "seats": 3,
            "price": "12.50",
            "event_id": str(event.event_id),
            "subject": {"type": "subscriptions.user", "id": str(user.public_id)},
        },
    }
    assert request.path == "/hooks/kontor"
    assert request.headers["webhook-id"] == str(event.event_id)
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"] == "Kontor-Webhooks/1"
    assert abs(int(request.headers["webhook-timestamp"]) - timezone.now().timestamp()) < 10
    other_secret = "whsec_" + "A" * 43 + "="
    with pytest.raises(WebhookVerificationError, match="No matching signature found"):
        Webhook(other_secret).verify(request.body, request.headers)
    delivery = CallbackDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
        CallbackDelivery.Status.SUCCEEDED,
        1,
        200,
    )
    assert delivery.next_attempt_at is None


def test_a_tampered_body_does_not_verify(receiver, django_capture_on_commit_callbacks):
    endpoint = _endpoint(receiver)

    _emit_and_commit(django_capture_on_commit_callbacks)

    request = receiver.requests[0]
    tampered = request.body.replace(b'"seats":3', b'"seats":300')
    assert tampered != request.body
    with pytest.raises(WebhookVerificationError, match="No matching signature found"):
        Webhook(endpoint.secret).verify(tampered, request.headers)


# --- retries --------------------------------------------------------------------------


def test_a_receiver_failing_twice_acknowledges_the_event_exactly_once_on_the_third_attempt(
    receiver, django_capture_on_commit_callbacks
):
    endpoint = _endpoint(receiver)
    receiver.answer(500, Answer(503, body="maintenance"))  # then 200

    event = _emit_and_commit(django_capture_on_commit_callbacks)
    delivery = CallbackDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == (CallbackDelivery.Status.PENDING, 1)

    for _retry in range(2):
        delivery.refresh_from_db()
        assert _sweep_at(delivery.next_attempt_at)["callbacks"] == 1
    # Nothing more is due, however long one waits.
    assert _sweep_at(timezone.now() + timedelta(days=30))["callbacks"] == 0

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
        CallbackDelivery.Status.SUCCEEDED,
        3,
        200,
    )
    assert list(
        delivery.attempt_log.values_list("status_code", "succeeded", "response_excerpt", "error")
    ) == [
        (500, False, "ok", "The receiver answered 500; only 2xx counts as received."),
        (503, False, "maintenance", "The receiver answered 503; only 2xx counts as received."),
        (200, True, "ok", ""),
    ]
    assert len(receiver.requests) == 3
    assert {r.headers["webhook-id"] for r in receiver.requests} == {str(event.event_id)}
    assert len({r.headers["webhook-timestamp"] for r in receiver.requests}) == 3
    assert len({r.body for r in receiver.requests}) == 1  # the same body every time
    assert all(_signature_matches(endpoint.secret, r) for r in receiver.requests)


@override_settings(KONTOR_CALLBACK_TIMEOUT_SECONDS=0.2)
def test_a_receiver_that_never_answers_is_retried_on_the_schedule_then_failed(
    receiver, django_capture_on_commit_callbacks
):
    _endpoint(receiver)
    receiver.hang()

    _emit_and_commit(django_capture_on_commit_callbacks)

    delivery = CallbackDelivery.objects.get()
    for expected_delay in RETRY_DELAYS:
        delivery.refresh_from_db()
        last = delivery.attempt_log.last()
        assert delivery.next_attempt_at - last.attempted_at == expected_delay
        # Not a second early ...
        assert _sweep_at(delivery.next_attempt_at - timedelta(seconds=1))["callbacks"] == 0
        # ... and then.
        assert _sweep_at(delivery.next_attempt_at)["callbacks"] == 1

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == (
        CallbackDelivery.Status.FAILED,
        MAX_ATTEMPTS,
        None,
    )
    attempts = list(delivery.attempt_log.all())
    assert len(attempts) == MAX_ATTEMPTS == 10
    assert {(a.status_code, a.error) for a in attempts} == {(None, "No answer within 0.2 s.")}
    assert all(150 <= a.duration_ms < 2000 for a in attempts)
    assert _sweep_at(timezone.now() + timedelta(days=365))["callbacks"] == 0
    receiver.wait_for(MAX_ATTEMPTS)
    assert len(receiver.requests) == MAX_ATTEMPTS


def test_the_retry_schedule_spans_about_three_days_and_grows():
    total = sum(RETRY_DELAYS, timedelta())

    assert timedelta(days=2, hours=20) < total < timedelta(days=3)
    assert list(RETRY_DELAYS) == sorted(RETRY_DELAYS)
    assert [retry_delay(n) for n in (1, 2, 9, 10, 0)] == [
        timedelta(seconds=5),
        timedelta(minutes=5),
        timedelta(hours=22),
        None,
        None,
    ]


def test_a_connection_refused_is_an_attempt_with_its_reason(django_capture_on_commit_callbacks):
    with Receiver() as gone:
        url = gone.url
    callback_endpoint_create(name="CRM", url=url, event_types=[CREATED])

    _emit_and_commit(django_capture_on_commit_callbacks)

    attempt = CallbackAttempt.objects.get()
    assert attempt.status_code is None
    assert attempt.error.startswith("No answer: ")
    assert "Connection refused" in attempt.error
    assert CallbackDelivery.objects.get().status == CallbackDelivery.Status.PENDING


def test_a_redirect_is_not_followed_and_counts_as_a_failure(
    receiver, django_capture_on_commit_callbacks
):
    _endpoint(receiver)
    receiver.answer(Answer(301, headers={"Location": "http://127.0.0.1:1/elsewhere"}))

    _emit_and_commit(django_capture_on_commit_callbacks)

    assert len(receiver.requests) == 1
    attempt = CallbackAttempt.objects.get()
    assert (attempt.status_code, attempt.succeeded, attempt.error) == (
        301,
        False,
        "The receiver answered with a redirect; callbacks do not follow redirects.",
    )


def test_only_the_first_thousand_characters_of_the_answer_are_kept(
    receiver, django_capture_on_commit_callbacks
):
    _endpoint(receiver)
    receiver.answer(Answer(200, body="é" * 5000))

    _emit_and_commit(django_capture_on_commit_callbacks)

    assert CallbackAttempt.objects.get().response_excerpt == "é" * 1000


# --- transactions and lost tasks ------------------------------------------------------


def test_an_event_emitted_in_a_rolled_back_transaction_is_never_delivered(
    receiver, django_capture_on_commit_callbacks
):
    _endpoint(receiver)

    class Rollback(Exception):
        pass

    def change_that_fails():
        with transaction.atomic():
            emit(type=CREATED, payload={})
            raise Rollback

    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(Rollback):
        change_that_fails()

    later = _sweep_at(timezone.now() + timedelta(days=1))

    assert callbacks == []
    assert later == {"events": 0, "mails": 0, "callbacks": 0}
    assert (Event.objects.count(), CallbackDelivery.objects.count()) == (0, 0)
    assert receiver.requests == []


def test_a_delivery_whose_queued_task_was_lost_is_delivered_by_the_sweep(
    receiver, monkeypatch, django_capture_on_commit_callbacks
):
    _endpoint(receiver)
    monkeypatch.setattr(Conf, "SYNC", False)  # queue on the ORM broker, as in production
    with django_capture_on_commit_callbacks(execute=True):
        event = emit(type=CREATED, payload={})
    # A worker dispatches the event, which queues the delivery ...
    OrmQ.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        assert event_dispatch(event_id=event.pk) is True
    assert OrmQ.objects.count() == 1
    # ... and the worker is killed before the delivery task runs.
    OrmQ.objects.all().delete()
    assert receiver.requests == []

    assert notifications_sweep()["callbacks"] == 1

    assert len(receiver.requests) == 1
    assert receiver.requests[0].headers["webhook-id"] == str(event.event_id)
    assert CallbackDelivery.objects.get().status == CallbackDelivery.Status.SUCCEEDED


def test_an_event_whose_dispatch_task_was_lost_is_dispatched_and_delivered_by_the_sweep(
    receiver, monkeypatch, django_capture_on_commit_callbacks
):
    _endpoint(receiver)
    monkeypatch.setattr(Conf, "SYNC", False)
    with django_capture_on_commit_callbacks(execute=True):
        emit(type=CREATED, payload={})
    OrmQ.objects.all().delete()  # the dispatch task is lost

    swept = _sweep_at(timezone.now() + timedelta(minutes=2))

    assert (swept["events"], swept["callbacks"]) == (1, 1)
    assert len(receiver.requests) == 1


def test_sending_a_delivery_twice_posts_it_once(receiver, django_capture_on_commit_callbacks):
    _endpoint(receiver)
    _emit_and_commit(django_capture_on_commit_callbacks)
    delivery = CallbackDelivery.objects.get()

    assert callback_delivery_send(delivery_id=delivery.pk) is False  # a task run twice

    assert len(receiver.requests) == 1
    assert CallbackAttempt.objects.count() == 1


# --- which endpoints get an event -----------------------------------------------------


def test_an_event_goes_to_each_active_endpoint_subscribed_to_its_type_once(receiver):
    crm = _endpoint(receiver, name="CRM", event_types=[CREATED, CANCELLED])
    _endpoint(receiver, name="Cancellations only", event_types=[CANCELLED])
    _endpoint(receiver, name="Switched off", event_types=[CREATED], active=False)
    event = emit(type=CREATED, payload={})

    first = callback_deliveries_create_for_event(event=event)
    again = callback_deliveries_create_for_event(event=event)

    assert first == again
    assert list(CallbackDelivery.objects.values_list("endpoint", flat=True)) == [crm.pk]


def test_a_delivery_to_an_endpoint_switched_off_meanwhile_fails_without_sending(receiver):
    endpoint = _endpoint(receiver)
    event = emit(type=CREATED, payload={})
    [delivery_id] = callback_deliveries_create_for_event(event=event)
    endpoint.active = False
    endpoint.save(update_fields=["active"])

    assert callback_delivery_send(delivery_id=delivery_id) is True

    delivery = CallbackDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == (CallbackDelivery.Status.FAILED, 1)
    assert delivery.attempt_log.get().error == "The endpoint is inactive; nothing was sent."
    assert receiver.requests == []
