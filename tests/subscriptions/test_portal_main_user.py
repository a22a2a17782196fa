"""The portal belongs to the account's main user. Another portal user of the same account
(the seats issue attaches invited users to accounts) gets 404 on every page of the
account and changes nothing; the main user, in the same tests, gets the pages."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.forms.models import model_to_dict
from django.urls import reverse

from notifications.models import Event
from subscriptions.exceptions import PurchaseRefused
from subscriptions.models import Activity, Charge, Customer, PaymentMethod, Subscription, User
from subscriptions.services.purchase import INVOICE, subscription_purchase_for_user
from tests.factories import OfferFactory
from tests.subscriptions.test_portal_pages import (
    make_customer,
    make_payment_method,
    make_subscription,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def account() -> Customer:
    """Anna's account: she is its main user; one subscription, a card and a spare card."""
    customer = make_customer("anna@example.com")
    make_subscription(customer, payment_method=make_payment_method(customer))
    PaymentMethod.objects.create(
        customer=customer, kind="card", gateway="sandbox", token="tok_2", label="Spare card"
    )
    return customer


@pytest.fixture
def colleague(account) -> User:
    """Another portal user of Anna's account, not its main user."""
    return User.objects.create_user(email="tom@example.com", password="pw-tom-1", customer=account)


def _state() -> dict:
    return {
        "customers": [model_to_dict(c) for c in Customer.objects.order_by("pk")],
        "subscriptions": [model_to_dict(s) for s in Subscription.objects.order_by("pk")],
        "payment_methods": [model_to_dict(m) for m in PaymentMethod.objects.order_by("pk")],
        "activities": Activity.objects.count(),
        "charges": Charge.objects.count(),
        "events": Event.objects.count(),
    }


def _requests(account: Customer) -> list[tuple[str, str, dict]]:
    """Every portal page of the account, with form data that would change something."""
    subscription = account.subscriptions.get()
    spare = account.payment_methods.get(label="Spare card")
    sid = {"public_id": subscription.public_id}
    account_data = {"name": "Tom took over", "email": "tom@example.com", "country": "DE"}
    return [
        ("get", reverse("subscriptions:subscription_list"), {}),
        ("get", reverse("subscriptions:subscription_detail", kwargs=sid), {}),
        ("get", reverse("subscriptions:subscription_cancel", kwargs=sid), {}),
        ("post", reverse("subscriptions:subscription_cancel", kwargs=sid), {"mode": "now"}),
        ("post", reverse("subscriptions:subscription_undo_cancellation", kwargs=sid), {}),
        ("get", reverse("subscriptions:account"), {}),
        ("post", reverse("subscriptions:account"), {**account_data, "language": "en"}),
        ("get", reverse("subscriptions:payment_method_list"), {}),
        ("post", reverse("subscriptions:payment_method_list"), {"remove": spare.public_id}),
        ("get", reverse("subscriptions:payment_method_add"), {}),
        ("post", reverse("subscriptions:payment_method_add") + "?kind=invoice", {}),
        ("get", reverse("subscriptions:subscription_payment_method", kwargs=sid), {}),
        (
            "post",
            reverse("subscriptions:subscription_payment_method", kwargs=sid),
            {"payment_method": spare.public_id},
        ),
    ]


def test_another_user_of_the_account_gets_404_everywhere_and_changes_nothing(
    client, account, colleague
):
    client.force_login(colleague)
    before = _state()

    for method, url, data in _requests(account):
        response = getattr(client, method)(url, data)
        assert response.status_code == 404, f"{method.upper()} {url}"

    assert _state() == before


def test_the_main_user_gets_the_same_pages(client, account, colleague):
    """The positive control for the test above: the same requests, as the main user."""
    client.force_login(account.main_user)

    for method, url, _data in _requests(account):
        if method == "get":
            assert client.get(url).status_code == 200, f"GET {url}"
    response = client.post(
        reverse("subscriptions:payment_method_list"),
        {"remove": account.payment_methods.get(label="Spare card").public_id},
    )
    assert response.status_code == 302
    assert account.payment_methods.get(label="Spare card").status == "removed"


def test_home_shows_another_user_of_the_account_the_empty_state(client, account, colleague):
    subscriptions_link = f'href="{reverse("subscriptions:subscription_list")}"'
    client.force_login(colleague)
    html = client.get("/portal/").content.decode()
    assert "You have no subscriptions yet" in html
    assert "Daily News" not in html
    assert subscriptions_link not in html  # no nav links that would answer 404

    client.force_login(account.main_user)
    html = client.get("/portal/").content.decode()
    assert "You have no subscriptions yet" not in html
    assert "Daily News" in html
    assert subscriptions_link in html


def test_another_user_of_the_account_cannot_buy_for_it(client, account, colleague):
    offer = OfferFactory(code="daily-digital", price_amount=Decimal("4.99"))
    client.force_login(colleague)
    before = _state()

    url = reverse("subscriptions:checkout", args=[offer.code])
    assert client.get(url).status_code == 404
    assert client.post(url, {"payment_method": INVOICE}).status_code == 404
    assert client.post(url, {"intent": "add_method"}).status_code == 404
    with pytest.raises(PurchaseRefused) as refusal:
        subscription_purchase_for_user(user=colleague, offer=offer, payment_method=INVOICE)
    assert str(refusal.value) == "Only the account's main user can buy for it."

    assert _state() == before
    client.force_login(account.main_user)
    assert client.get(url).status_code == 200
