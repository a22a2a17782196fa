"""Every portal URL that carries an object's public id, requested by another customer,
answers 404 and changes nothing; requested anonymously, it sends to the login page.

The URLs are read from subscriptions.urls, so a page added later is covered without
touching this test."""

from __future__ import annotations

import pytest
from django.forms.models import model_to_dict
from django.urls import URLPattern, reverse

from notifications.models import Event
from subscriptions import urls as portal_urls
from subscriptions.models import Activity, Charge, Customer, PaymentMethod, Subscription
from tests.subscriptions.test_portal_pages import (
    PERIOD_END,
    STARTED,
    make_customer,
    make_payment_method,
    make_subscription,
)

pytestmark = pytest.mark.django_db

OBJECT_PATTERNS = {
    pattern.name: pattern
    for pattern in portal_urls.urlpatterns
    if isinstance(pattern, URLPattern) and "public_id" in pattern.pattern.converters
}
OBJECT_URLS = sorted(OBJECT_PATTERNS)


def test_the_object_urls_are_found():
    assert {
        "subscription_detail",
        "subscription_cancel",
        "subscription_undo_cancellation",
        "subscription_payment_method",
    } <= set(OBJECT_URLS)


@pytest.fixture
def anna() -> Customer:
    """Customer A: an active and a cancelled subscription, a card and an invoice method."""
    customer = make_customer("anna@example.com")
    card = make_payment_method(customer)
    make_subscription(customer, payment_method=card)
    make_subscription(
        customer, name="Weekend", status="cancelled", cancelled_at=STARTED, ends_at=PERIOD_END
    )
    PaymentMethod.objects.create(customer=customer, kind="invoice", label="Invoice")
    return customer


@pytest.fixture
def ben_client(client):
    ben = make_customer("ben@example.com", name="Ben Berg")
    make_subscription(ben, name="Bens paper", payment_method=make_payment_method(ben))
    client.force_login(ben.main_user)
    return client


def _object_ids(customer: Customer) -> list[str]:
    return [
        *(str(s.public_id) for s in customer.subscriptions.all()),
        *(str(m.public_id) for m in customer.payment_methods.all()),
    ]


def _state() -> dict:
    return {
        "subscriptions": [model_to_dict(s) for s in Subscription.objects.order_by("pk")],
        "payment_methods": [model_to_dict(m) for m in PaymentMethod.objects.order_by("pk")],
        "activities": Activity.objects.count(),
        "charges": Charge.objects.count(),
        "events": Event.objects.count(),
    }


def _post_data(anna: Customer) -> dict[str, str]:
    """Whatever the pages might accept, pointing at A's own objects."""
    method = anna.payment_methods.first()
    return {"mode": "now", "payment_method": str(method.public_id), "confirm": "1"}


@pytest.mark.parametrize("name", OBJECT_URLS)
def test_another_customer_gets_404_and_changes_nothing(ben_client, anna, name):
    before = _state()

    for public_id in _object_ids(anna):
        url = reverse(f"subscriptions:{name}", kwargs={"public_id": public_id})
        assert ben_client.get(url).status_code == 404, f"GET {url}"
        assert ben_client.post(url, _post_data(anna)).status_code == 404, f"POST {url}"

    assert _state() == before


@pytest.mark.parametrize("name", OBJECT_URLS)
def test_anonymous_visitor_is_sent_to_the_login_page(client, anna, name):
    before = _state()

    # A page whose area has not landed yet is a placeholder that answers 404 to everyone.
    placeholder = OBJECT_PATTERNS[name].callback.__name__ == "not_built_yet"

    for public_id in _object_ids(anna):
        url = reverse(f"subscriptions:{name}", kwargs={"public_id": public_id})
        for response in (client.get(url), client.post(url, _post_data(anna))):
            if placeholder:
                assert response.status_code == 404, url
            else:
                assert response.status_code == 302, url
                assert response["Location"] == f"/portal/login/?next={url}"

    assert _state() == before


def test_another_customers_ids_in_form_data_change_nothing(ben_client, anna):
    """Pages that take an object id in the form rather than the URL: removing A's method
    from B's list, or putting A's method on B's own subscription."""
    bens_subscription = Subscription.objects.get(offer__name="Bens paper")
    before = _state()

    for method in anna.payment_methods.all():
        removed = ben_client.post(
            reverse("subscriptions:payment_method_list"), {"remove": method.public_id}
        )
        changed = ben_client.post(
            reverse(
                "subscriptions:subscription_payment_method", args=[bens_subscription.public_id]
            ),
            {"payment_method": method.public_id},
        )
        assert removed.status_code in (200, 404)
        assert changed.status_code in (200, 404)

    assert _state() == before
    # The same request with B's own new method does change B's subscription: the form
    # data above had the right shape.
    bens_card = make_payment_method(bens_subscription.customer)
    response = ben_client.post(
        reverse("subscriptions:subscription_payment_method", args=[bens_subscription.public_id]),
        {"payment_method": bens_card.public_id},
    )
    assert response.status_code == 302
    bens_subscription.refresh_from_db()
    assert bens_subscription.payment_method == bens_card
