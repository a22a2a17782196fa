"""Removing a payment method while a subscription switches to it, with real threads."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from subscriptions.exceptions import PaymentRefused
from subscriptions.models import PaymentMethod, Subscription
from subscriptions.services.payments import (
    payment_method_add,
    payment_method_remove,
    subscription_change_payment_method,
)
from tests.subscriptions.test_payment_methods import card, make_customer, make_subscription

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("attempt", range(3))
def test_a_running_subscription_never_ends_up_with_a_removed_method(attempt):
    customer = make_customer()
    current = payment_method_add(customer=customer, kind="card", details=card())
    subscription = make_subscription(customer, payment_method=current)
    other = payment_method_add(customer=customer, kind="card", details=card())
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def change():
        barrier.wait()
        try:
            subscription_change_payment_method(subscription=subscription, payment_method=other)
            outcomes["change"] = "done"
        except PaymentRefused as error:
            outcomes["change"] = error.code
        finally:
            connection.close()

    def remove():
        barrier.wait()
        try:
            payment_method_remove(payment_method=other)
            outcomes["remove"] = "done"
        except PaymentRefused as error:
            outcomes["remove"] = error.code
        finally:
            connection.close()

    threads = [threading.Thread(target=change), threading.Thread(target=remove)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    subscription = Subscription.objects.select_related("payment_method").get(pk=subscription.pk)
    other.refresh_from_db()
    assert outcomes in (
        {"change": "done", "remove": "in_use"},
        {"change": "not_active", "remove": "done"},
    )
    if outcomes["change"] == "done":
        assert (subscription.payment_method, other.status) == (other, "active")
    else:
        assert (subscription.payment_method, other.status) == (current, "removed")
    assert PaymentMethod.objects.filter(status="active").count() == 2 - (
        outcomes["remove"] == "done"
    )
