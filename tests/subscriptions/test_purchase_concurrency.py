"""Purchases under concurrency, with real threads and real transactions."""

from __future__ import annotations

import threading
import uuid
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from notifications.models import Event
from subscriptions.models import Customer, PaymentMethod, Subscription, User
from subscriptions.services.customers import customer_register
from subscriptions.services.purchase import INVOICE, subscription_purchase_for_user
from tests.factories import OfferFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_first_purchases_at_once_make_one_account_and_one_invoice_method():
    offer = OfferFactory(price_amount=Decimal("2.99"))
    user = User.objects.create_user(email="rita@example.com", first_name="Rita")
    barrier = threading.Barrier(2)
    errors: list[Exception] = []

    def buy():
        try:
            barrier.wait()
            subscription_purchase_for_user(user=user, offer=offer, payment_method=INVOICE)
        except Exception as error:  # reported by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=buy) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    customer = Customer.objects.get()  # the user row lock let only one account be made
    assert customer.main_user == user
    # Without a purchase key, two purchases are two: a deliberate second one is allowed.
    assert Subscription.objects.filter(customer=customer).count() == 2
    assert PaymentMethod.objects.filter(customer=customer, kind="invoice").count() == 1


def _at_once(work, count: int = 2) -> list[Exception]:
    """Run `work` in `count` threads released together; the errors they raised."""
    barrier = threading.Barrier(count)
    errors: list[Exception] = []

    def run():
        try:
            barrier.wait()
            work()
        except Exception as error:  # reported by the caller's assertion
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return errors


def test_two_purchases_with_the_same_key_at_once_buy_once():
    """A double click whose two requests arrive together: one subscription, one event."""
    offer = OfferFactory(price_amount=Decimal("2.99"))
    user = User.objects.create_user(email="rita@example.com", first_name="Rita")
    key = uuid.uuid4()

    errors = _at_once(
        lambda: subscription_purchase_for_user(
            user=user, offer=offer, payment_method=INVOICE, purchase_key=key
        )
    )

    assert errors == []
    subscription = Subscription.objects.get()
    assert (subscription.customer.main_user, subscription.purchase_key) == (user, key)
    assert Event.objects.filter(type="subscription.created").count() == 1


def test_two_registrations_of_one_email_at_once_make_one_user_and_a_clear_refusal():
    def register():
        customer_register(
            email="rita@example.com", first_name="Rita", last_name="R", password="pw-Long-42x"
        )

    errors = _at_once(register)

    assert [type(error) for error in errors] == [ValidationError]
    assert errors[0].message_dict == {
        "email": ["An account with this e-mail already exists; log in instead."]
    }
    assert (User.objects.count(), Customer.objects.count()) == (1, 1)
