"""Customers and subscriptions through the API."""

from __future__ import annotations

from decimal import Decimal

import pytest

from subscriptions.models import Activity, Customer, Subscription, User
from tests.api.conftest import problem
from tests.factories import OfferFactory
from tests.subscriptions.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_create_a_customer_with_a_main_user(api, staff_user):
    response = api.post(
        "/api/v1/customers",
        {"kind": "company", "name": "Acme GmbH", "email": "billing@acme.example",
         "vat_id": "DE123456789", "country": "de", "main_user_email": "Boss@Acme.example"},
    )  # fmt: skip
    assert response.status_code == 201, response.content
    body = response.json()
    customer = Customer.objects.get(public_id=body["id"])
    assert (customer.name, customer.kind, customer.country) == ("Acme GmbH", "company", "DE")
    assert body["main_user_email"] == "boss@acme.example"
    assert User.objects.get(email="boss@acme.example").customer == customer
    assert Activity.objects.get(customer=customer).actor == staff_user


def test_a_customer_refused_by_the_model_is_422_on_its_field_and_not_created(api):
    body = problem(api.post("/api/v1/customers", {"name": "Ada", "vat_id": "DE1"}), 422, "invalid")
    assert body["field"] == "body.vat_id"
    assert not Customer.objects.exists()


def test_list_filter_get_and_update_customers(api, django_assert_num_queries):
    ada = CustomerFactory(name="Ada Lovelace", email="ada@example.com")
    CustomerFactory(name="Bob")
    listed = api.get("/api/v1/customers?search=lovelace").json()
    assert [c["id"] for c in listed["items"]] == [str(ada.public_id)]
    assert api.get("/api/v1/customers?email=ADA@example.com").json()["items"][0]["name"] == (
        "Ada Lovelace"
    )
    assert api.get(f"/api/v1/customers/{ada.public_id}").json()["email"] == "ada@example.com"
    changed = api.patch(f"/api/v1/customers/{ada.public_id}", {"city": "London"})
    assert changed.status_code == 200
    ada.refresh_from_db()
    assert ada.city == "London"


def test_the_customer_list_costs_the_same_queries_at_any_size(api, django_assert_num_queries):
    CustomerFactory.create_batch(2)
    api.get("/api/v1/customers")  # warm the key's last use
    with django_assert_num_queries(2):
        assert len(api.get("/api/v1/customers").json()["items"]) == 2
    CustomerFactory.create_batch(20)
    with django_assert_num_queries(2):
        assert len(api.get("/api/v1/customers").json()["items"]) == 22


def test_another_id_is_404(api):
    problem(api.get("/api/v1/customers/00000000-0000-0000-0000-000000000000"), 404, "not_found")


def test_buy_cancel_and_undo_a_subscription(api, travel):
    customer = CustomerFactory()
    offer = OfferFactory(price_amount=Decimal("9.90"))
    response = api.post(
        "/api/v1/subscriptions",
        {"customer": str(customer.public_id), "offer": offer.code, "payment_method": "invoice"},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["price"] == {"amount": "9.90", "currency": "EUR"}
    assert body["status"] == "active"
    assert body["started_at"].endswith("+01:00")
    url = f"/api/v1/subscriptions/{body['id']}"
    cancelled = api.post(url + "/cancel", {"mode": "period_end"}).json()
    assert cancelled["status"] == "cancelled"
    assert api.post(url + "/undo-cancellation").json()["status"] == "active"
    assert (
        api.get(f"/api/v1/subscriptions?customer={customer.public_id}").json()["items"][0]["id"]
        == body["id"]
    )


def test_a_refused_purchase_names_the_field_and_creates_nothing(api, travel):
    customer = CustomerFactory()
    offer = OfferFactory(price_amount=Decimal("9.90"))
    body = problem(
        api.post("/api/v1/subscriptions", {"customer": str(customer.public_id),
                                           "offer": offer.code}),
        422, "purchase_refused",
    )  # fmt: skip
    assert body["field"] == "body.payment_method"
    body = problem(
        api.post("/api/v1/subscriptions", {"customer": str(customer.public_id), "offer": "nope"}),
        422,
        "unknown_reference",
    )
    assert body["field"] == "body.offer"
    assert not Subscription.objects.exists()


def test_undoing_an_active_subscription_is_409(api, world):
    problem(
        api.post(f"/api/v1/subscriptions/{world.subscription.public_id}/undo-cancellation"),
        409,
        "subscription_state",
    )
