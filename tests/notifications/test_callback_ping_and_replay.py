"""Staff's tools for callbacks: a test ping to one endpoint, replaying a delivery, and
rotating an endpoint's secret."""

from datetime import timedelta

import pytest
import time_machine
from django.test import override_settings
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from notifications.events import EventType
from notifications.models import CallbackDelivery, CallbackEndpoint, Event
from notifications.services import emit, notifications_sweep
from notifications.services.callbacks import (
    CallbackError,
    callback_delivery_replay,
    callback_endpoint_create,
    callback_endpoint_ping,
    callback_endpoint_rotate_secret,
)
from tests.notifications.receiver import Receiver

pytestmark = pytest.mark.django_db

CREATED = EventType.USER_SUBSCRIPTION_CREATED


@pytest.fixture
def receiver():
    with Receiver() as receiver:
        yield receiver


def _endpoint(receiver, **kwargs):
    return callback_endpoint_create(
        **{"name": "CRM", "url": receiver.url, "event_types": [CREATED]} | kwargs
    )


def test_a_new_endpoint_gets_a_standard_webhooks_secret():
    secret = callback_endpoint_create(
        name="CRM", url="http://127.0.0.1:9000/", event_types=[CREATED]
    ).secret
    other = callback_endpoint_create(
        name="ERP", url="http://127.0.0.1:9001/", event_types=[CREATED]
    ).secret

    assert secret.startswith("whsec_")
    assert len(Webhook(secret)._whsecret) == 32  # random bytes behind the prefix
    assert secret != other
    assert CallbackEndpoint.objects.get(name="CRM").masked_secret == f"whsec_…{secret[-4:]}"


def test_a_ping_reaches_only_the_chosen_endpoint_even_while_it_is_inactive(
    receiver, django_capture_on_commit_callbacks
):
    endpoint = _endpoint(receiver, name="New CRM", active=False)
    with Receiver() as bystander:
        _endpoint(bystander, name="Everything", event_types=[CREATED])

        with django_capture_on_commit_callbacks(execute=True):
            delivery = callback_endpoint_ping(endpoint_id=endpoint.pk)
        with time_machine.travel(timezone.now() + timedelta(minutes=5), tick=False):
            notifications_sweep()

        assert bystander.requests == []
    [request] = receiver.requests
    body = Webhook(endpoint.secret).verify(request.body, request.headers)
    event = Event.objects.get()
    assert body == {
        "type": "ping",
        "timestamp": event.occurred_at.isoformat(),
        "data": {"endpoint": "New CRM", "event_id": str(event.event_id), "subject": None},
    }
    delivery.refresh_from_db()
    assert (delivery.status, delivery.endpoint_id) == (
        CallbackDelivery.Status.SUCCEEDED,
        endpoint.pk,
    )
    assert event.dispatched_at is not None  # never offered to other endpoints


def test_replaying_a_failed_delivery_sends_it_again_with_a_full_schedule(
    receiver, django_capture_on_commit_callbacks
):
    endpoint = _endpoint(receiver)
    receiver.answer(410)
    with django_capture_on_commit_callbacks(execute=True):
        event = emit(type=CREATED, payload={})
    delivery = CallbackDelivery.objects.get()
    CallbackDelivery.objects.filter(pk=delivery.pk).update(
        status=CallbackDelivery.Status.FAILED, attempts=10, next_attempt_at=None
    )
    receiver.answer(500)  # the replay fails once more ...

    with django_capture_on_commit_callbacks(execute=True):
        callback_delivery_replay(delivery_id=delivery.pk)

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (CallbackDelivery.Status.PENDING, 1)
    # ... and is retried on a new schedule, then succeeds.
    with time_machine.travel(delivery.next_attempt_at, tick=False):
        assert notifications_sweep()["callbacks"] == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (CallbackDelivery.Status.SUCCEEDED, 2)
    assert list(delivery.attempt_log.values_list("status_code", flat=True)) == [410, 500, 200]
    assert [r.headers["webhook-id"] for r in receiver.requests] == [str(event.event_id)] * 3
    assert Webhook(endpoint.secret).verify(
        receiver.requests[-1].body, receiver.requests[-1].headers
    )


def test_replaying_a_delivery_of_an_inactive_endpoint_is_refused(receiver):
    endpoint = _endpoint(receiver)
    emit(type=CREATED, payload={})
    from notifications.services.callbacks import callback_deliveries_create_for_event

    [delivery_id] = callback_deliveries_create_for_event(event=Event.objects.get())
    CallbackEndpoint.objects.filter(pk=endpoint.pk).update(active=False)

    with pytest.raises(CallbackError, match="CRM is inactive: activate it before replaying"):
        callback_delivery_replay(delivery_id=delivery_id)

    assert CallbackDelivery.objects.get().attempts == 0
    assert receiver.requests == []


@override_settings(KONTOR_CALLBACK_SECRET_GRACE_HOURS=0)
def test_after_rotating_without_grace_period_callbacks_verify_only_with_the_new_secret(
    receiver, django_capture_on_commit_callbacks
):
    endpoint = _endpoint(receiver)
    old_secret = endpoint.secret

    new_secret = callback_endpoint_rotate_secret(endpoint_id=endpoint.pk)
    with django_capture_on_commit_callbacks(execute=True):
        emit(type=CREATED, payload={})

    endpoint.refresh_from_db()
    assert new_secret != old_secret
    assert (endpoint.secret, endpoint.secret_rotated_at is not None) == (new_secret, True)
    [request] = receiver.requests
    assert Webhook(new_secret).verify(request.body, request.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(old_secret).verify(request.body, request.headers)
