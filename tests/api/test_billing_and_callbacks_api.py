"""Invoices, corporate usage and callback pings through the API."""

from __future__ import annotations

import pytest

from notifications.models import CallbackDelivery
from tests.api.conftest import problem
from tests.billing.factories import make_invoice
from tests.subscriptions.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_list_and_get_invoices_with_amounts_as_strings(api, world, django_assert_num_queries):
    make_invoice(issue=False, customer=world.subscription.customer)  # a draft: never shown
    listed = api.get(f"/api/v1/invoices?customer={world.subscription.customer.public_id}").json()
    assert [i["number"] for i in listed["items"]] == [world.invoice.number]
    body = api.get(f"/api/v1/invoices/{world.invoice.public_id}").json()
    assert body["gross"] == {"amount": "11.90", "currency": "EUR"}
    assert body["lines"][0]["net"] == {"amount": "10.00", "currency": "EUR"}
    assert body["issued_at"].endswith("+01:00")
    make_invoice(customer=CustomerFactory())
    with django_assert_num_queries(2):
        assert len(api.get("/api/v1/invoices").json()["items"]) == 2
    for _ in range(3):
        make_invoice(customer=CustomerFactory())
    with django_assert_num_queries(2):
        assert len(api.get("/api/v1/invoices").json()["items"]) == 5


def test_the_invoice_xrechnung(api, world):
    response = api.get(f"/api/v1/invoices/{world.invoice.public_id}/xrechnung")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/xml"
    assert b"urn:xeinkauf.de:kosit:xrechnung" in response.content
    assert world.invoice.number.encode() in response.content


def test_the_invoice_pdf(api, world):
    response = api.get(f"/api/v1/invoices/{world.invoice.public_id}/pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")


def test_a_draft_invoice_is_404(api, world):
    draft = make_invoice(issue=False)
    problem(api.get(f"/api/v1/invoices/{draft.public_id}"), 404, "not_found")


def test_corporate_usage_of_the_current_period(api, world):
    body = api.get(f"/api/v1/subscriptions/{world.corporate.public_id}/usage").json()
    assert body["period_start"].startswith("2027-01-01T00:00:00+01:00")
    [product] = body["products"]
    assert product["users"] == 1
    assert product["base_fee"] == {"amount": "10.00", "currency": "EUR"}
    assert body["complete"] is True


def test_usage_of_a_regular_subscription_is_404(api, world):
    problem(api.get(f"/api/v1/subscriptions/{world.subscription.public_id}/usage"), 404,
            "not_corporate")  # fmt: skip


def test_callback_endpoints_and_a_test_ping(api, world):
    [endpoint] = api.get("/api/v1/callbacks/endpoints").json()
    assert endpoint["name"] == "Shop"
    response = api.post(f"/api/v1/callbacks/endpoints/{endpoint['id']}/ping")
    assert response.status_code == 202
    assert response.json()["event_type"] == "ping"
    delivery = CallbackDelivery.objects.get(endpoint=world.endpoint)
    assert delivery.event.type == "ping"


def test_record_a_payment_in_part_then_in_full(api, world):
    url = f"/api/v1/invoices/{world.invoice.public_id}/payments"
    part = api.post(url, {"amount": "5.00"}).json()
    assert (part["status"], part["amount_due"]["amount"]) == ("open", "6.90")
    paid = api.post(url).json()
    assert (paid["status"], paid["amount_due"]["amount"]) == ("paid", "0.00")
    problem(api.post(url, {"amount": "1.00"}), 409, "invoice_refused")
    world.invoice.refresh_from_db()
    assert world.invoice.amount_paid == world.invoice.gross_amount


def test_payments_need_the_billing_scope(world):
    from tests.api.conftest import ApiClient, make_key

    client = ApiClient(make_key("read"))
    problem(client.post(f"/api/v1/invoices/{world.invoice.public_id}/payments"), 403,
            "scope_missing")  # fmt: skip
    world.invoice.refresh_from_db()
    assert world.invoice.status == "open"
