"""Two workers sending the same delivery at the same moment: the receiver gets it once."""

import threading

import pytest
from django.db import connection
from django.utils import timezone

from notifications.events import EventType
from notifications.models import CallbackDelivery, Event
from notifications.services.callbacks import (
    callback_deliveries_create_for_event,
    callback_delivery_send,
    callback_endpoint_create,
)
from tests.notifications.receiver import Answer, Receiver


@pytest.mark.django_db(transaction=True)
def test_two_workers_sending_one_delivery_at_once_post_it_once():
    with Receiver() as receiver:
        receiver.answer(then=Answer(200, delay=0.5))  # the first holds its claim a while
        callback_endpoint_create(
            name="CRM",
            url=receiver.url,
            event_types=[EventType.USER_SUBSCRIPTION_CREATED],
        )
        # Recorded as dispatched: emit() would deliver it at once (autocommit here).
        event = Event.objects.create(
            type=EventType.USER_SUBSCRIPTION_CREATED, payload={}, dispatched_at=timezone.now()
        )
        [delivery_id] = callback_deliveries_create_for_event(event=event)
        start = threading.Barrier(2)
        results: list[bool] = []

        def worker():
            try:
                start.wait()
                results.append(callback_delivery_send(delivery_id=delivery_id))
            finally:
                connection.close()

        threads = [threading.Thread(target=worker) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=10)

        assert sorted(results) == [False, True]
        assert len(receiver.requests) == 1
    delivery = CallbackDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == (CallbackDelivery.Status.SUCCEEDED, 1)
    assert delivery.attempt_log.count() == 1
