"""The subscription admin: list (exact queries), read-only page, and "create a
subscription for a customer" through the purchase service."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from catalog.models import PaymentMethod as PaymentKind
from notifications.models import Event
from subscriptions.models import Activity, Customer, Subscription
from subscriptions.services.purchase import INVOICE, subscription_purchase
from tests.factories import BundleFactory, OfferFactory, PlanFactory, ProductFactory
from tests.subscriptions.test_purchase import make_card

pytestmark = pytest.mark.django_db

ADD = reverse("admin:subscriptions_subscription_add")
LIST = reverse("admin:subscriptions_subscription_changelist")


@pytest.fixture
def offer():
    archive = ProductFactory(name="Archive")
    plan = PlanFactory(
        bundles=[BundleFactory(optional_products=[archive])],
        compatible_bundles=[BundleFactory(name="Podcasts add-on")],
        compatible_bundles_only=True,
        payment_methods=[PaymentKind.CARD, PaymentKind.INVOICE],
    )
    return OfferFactory(complex=True, plan=plan, price_amount=Decimal("9.99"))


@pytest.fixture
def customer():
    return Customer.objects.create(name="Anna Schmidt", email="anna@example.com")


def test_staff_create_a_subscription_for_a_customer_through_the_service(
    client, staff_user, offer, customer
):
    client.force_login(staff_user)
    assert client.get(ADD).status_code == 200
    card = make_card(customer)
    archive = offer.plan.bundles.get().items.get(required=False).product
    addon = offer.plan.compatible_bundles.get()
    response = client.post(
        ADD,
        {
            "customer": customer.pk,
            "offer": offer.pk,
            "optional_products": [archive.pk],
            "addon_bundles": [addon.pk],
            "payment_method": "on_file",
            "coupon_code": "",
        },
    )
    subscription = Subscription.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "admin:subscriptions_subscription_change", args=[subscription.pk]
    )
    assert (subscription.customer, subscription.payment_method) == (customer, card)
    assert sorted(subscription.items.values_list("source", flat=True)) == [
        "addon",
        "included",
        "optional",
    ]
    assert Activity.objects.get().actor == staff_user
    assert Event.objects.count() == 1
    customer.refresh_from_db()
    assert customer.main_user is None  # staff are never a customer's main user


def test_admin_create_shows_the_services_refusal_on_its_field(client, staff_user, offer, customer):
    client.force_login(staff_user)
    other = BundleFactory(name="Not compatible")
    response = client.post(
        ADD,
        {
            "customer": customer.pk,
            "offer": offer.pk,
            "addon_bundles": [other.pk],
            "payment_method": INVOICE,
        },
    )
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "addon_bundles": ["Not compatible cannot be added to this offer."]
    }
    assert (Subscription.objects.count(), Event.objects.count()) == (0, 0)


def test_admin_create_on_file_without_a_card_is_refused(client, staff_user, offer, customer):
    client.force_login(staff_user)
    response = client.post(
        ADD, {"customer": customer.pk, "offer": offer.pk, "payment_method": "on_file"}
    )
    assert response.context["form"].errors == {
        "payment_method": [
            "The customer has no card or SEPA account on file that this offer accepts."
        ]
    }
    assert not Subscription.objects.exists()


def test_subscription_page_is_read_only_with_items_and_activity(
    client, staff_user, offer, customer
):
    subscription = subscription_purchase(customer=customer, offer=offer, payment_method=INVOICE)
    client.force_login(staff_user)
    url = reverse("admin:subscriptions_subscription_change", args=[subscription.pk])
    response = client.get(url)
    assert response.status_code == 200
    page = response.content.decode()
    assert "subscription.created" in page
    assert 'name="_save"' not in page
    assert client.post(url, {}).status_code == 403


def test_subscription_list_has_fixed_queries(client, staff_user, offer, django_assert_num_queries):
    for n in range(3):
        customer = Customer.objects.create(name=f"Customer {n}")
        subscription_purchase(
            customer=customer,
            offer=offer,
            payment_method=INVOICE,
            now=datetime(2026, 3, n + 1, tzinfo=UTC),
        )
    client.force_login(staff_user)
    # session, user, offer filter, count, total count, the page's rows (customer and offer
    # joined), date hierarchy range and days: the same for 3 rows as for 100
    with django_assert_num_queries(9):  # 8 + the verified TOTP device
        response = client.get(LIST)
    assert response.status_code == 200
    assert response.content.decode().count("Customer ") >= 3
    assert "€9.99" in response.content.decode()


def test_create_page_can_start_from_a_customer(client, staff_user, customer):
    client.force_login(staff_user)
    response = client.get(f"{ADD}?customer={customer.pk}")
    assert response.context["form"]["customer"].value() == str(customer.pk)
    assert "Anna Schmidt" in response.content.decode()  # the autocomplete shows the choice
