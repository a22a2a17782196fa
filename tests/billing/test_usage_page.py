"""The portal's corporate usage page: the current period so far and the past periods'
invoices, for the subscription's main user only."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
import time_machine
from django.urls import reverse

from billing.services.runs import billing_run_start
from tests.billing.runs_factories import access, berlin, corporate_subscription
from tests.factories import CorporateContractFactory, ProductFactory
from tests.seats.factories import UserFactory
from tests.subscriptions.factories import CustomerFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db

MID_FEBRUARY = berlin(2027, 2, 15, 12)


@pytest.fixture
def corporate():
    """Campus licence at 2.50 a user plus a base fee of 10.00, counted at any time;
    E-paper at 1.00 a user, counted at the period end. January is invoiced."""
    campus = CorporateContractFactory(
        product=ProductFactory(name="Campus licence"), base_fee_amount=D("10.00")
    )
    epaper = CorporateContractFactory(
        product=ProductFactory(name="E-paper"), tiers=[(None, "1.00")], user_counting="period_end"
    )
    with time_machine.travel(berlin(2027, 1, 1), tick=False):
        subscription, account = corporate_subscription(
            contracts=[campus, epaper], started_at=berlin(2027, 1, 1)
        )
    ann, bob, cy = UserFactory(), UserFactory(), UserFactory()
    for product in (campus.product, epaper.product):
        access(account, ann, product, berlin(2027, 1, 10))
        access(account, bob, product, berlin(2027, 1, 10), berlin(2027, 2, 10))
        access(account, cy, product, berlin(2027, 2, 12))
    with time_machine.travel(berlin(2027, 2, 1, 6), tick=False):
        billing_run_start(run_date=date(2027, 2, 1), trigger="command", inline=True)
    return subscription


def url(subscription) -> str:
    return reverse("usage:subscription_usage", args=[subscription.public_id])


def test_the_main_user_sees_the_period_so_far_and_past_invoices(
    client, corporate, django_assert_num_queries
):
    with time_machine.travel(MID_FEBRUARY, tick=False):
        client.force_login(corporate.customer.main_user)
        with django_assert_num_queries(9):
            response = client.get(url(corporate))
    assert response.status_code == 200
    rows = [
        (u.product.name, u.users, u.counting, u.amount) for u, _amount in response.context["rows"]
    ]
    # Campus: Ann, Bob (until 10 Feb), Cy → 3 x 2.50 + 10.00; E-paper: Ann and Cy now.
    assert rows == [
        ("Campus licence", 3, "any_time", D("17.50")),
        ("E-paper", 2, "period_end", D("2.00")),
    ]
    page = response.content.decode()
    assert "€19.50" in page
    assert "Users active at any time in the period" in page
    assert "Since Feb. 1, 2027, counted up to now." in page
    assert "The period runs until Feb. 28, 2027" in page
    invoice = corporate.invoices.get()
    # January: 2 campus users (5.00) + base fee 10.00 + 2 e-paper users (2.00), 19 % tax.
    assert invoice.gross_amount == D("20.23")
    assert invoice.number in page
    assert "€20.23" in page
    assert reverse("billing:invoice_pdf", args=[invoice.public_id]) in page


def test_the_subscription_page_links_to_the_usage_page(client, corporate):
    with time_machine.travel(MID_FEBRUARY, tick=False):
        client.force_login(corporate.customer.main_user)
        response = client.get(
            reverse("subscriptions:subscription_detail", args=[corporate.public_id])
        )
    assert url(corporate) in response.content.decode()


def test_another_customer_gets_404(client, corporate):
    other = CustomerFactory()
    other.main_user = UserFactory(customer=other)
    other.save(update_fields=["main_user"])
    with time_machine.travel(MID_FEBRUARY, tick=False):
        client.force_login(other.main_user)
        assert client.get(url(corporate)).status_code == 404


def test_a_user_of_the_account_who_is_not_its_main_user_gets_404(client, corporate):
    with time_machine.travel(MID_FEBRUARY, tick=False):
        client.force_login(UserFactory(customer=corporate.customer))
        assert client.get(url(corporate)).status_code == 404


def test_a_regular_subscription_has_no_usage_page(client):
    subscription = SubscriptionFactory()
    main_user = UserFactory(customer=subscription.customer)
    subscription.customer.main_user = main_user
    subscription.customer.save(update_fields=["main_user"])
    client.force_login(main_user)
    assert client.get(url(subscription)).status_code == 404


def test_anonymous_visitors_are_sent_to_log_in(client, corporate):
    response = client.get(url(corporate))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("subscriptions:login"))
