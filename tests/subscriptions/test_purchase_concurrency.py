"""Purchases under concurrency, with real threads and real transactions."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection

from subscriptions.models import Customer, PaymentMethod, Subscription, User
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
    assert Subscription.objects.filter(customer=customer).count() == 2
    assert PaymentMethod.objects.filter(customer=customer, kind="invoice").count() == 1
