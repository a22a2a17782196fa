"""Fixtures of the API tests: a key with every scope, a Django test client that sends
it, and a seeded world (a multi-user subscription with 4 free seats, a corporate one
with users, an issued invoice, a coupon campaign, a callback endpoint), all at NOW
(mid-January 2027, inside the subscriptions' first period)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client

from api.models import Scope
from api.services import api_key_create
from notifications.models import CallbackEndpoint
from tests.billing.factories import make_invoice
from tests.billing.runs_factories import access, berlin, corporate_subscription
from tests.coupons.factories import make_campaign
from tests.factories import BundleFactory, BundleItemFactory, CorporateContractFactory
from tests.seats.factories import NOW, SeatAccountFactory, UserFactory

ALL_SCOPES = list(Scope.values)


@pytest.fixture(autouse=True)
def _fresh_cache():
    """The rate limit counts in the cache; every test starts at zero."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def travel():
    with time_machine.travel(NOW, tick=True):
        yield


def make_key(*scopes: str, created_by=None) -> str:
    return api_key_create(name="Test", scopes=scopes or ALL_SCOPES, created_by=created_by)[1]


class ApiClient(Client):
    """The test client with a bearer key and JSON bodies."""

    def __init__(self, key: str | None) -> None:
        super().__init__(HTTP_AUTHORIZATION=f"Bearer {key}" if key else "")
        if not key:
            self.defaults.pop("HTTP_AUTHORIZATION")

    def post(self, path, data=None, **extra):
        return super().post(path, data or {}, content_type="application/json", **extra)

    def patch(self, path, data=None, **extra):
        return super().patch(path, data or {}, content_type="application/json", **extra)


@pytest.fixture
def api(db, staff_user) -> ApiClient:
    return ApiClient(make_key(created_by=staff_user))


@dataclass
class World:
    account: object
    subscription: object
    corporate: object
    invoice: object
    campaign: object
    endpoint: object
    user: object


@pytest.fixture
def world(db, travel) -> World:
    account = SeatAccountFactory(maximum_users=5, subscription__products=2)
    user = UserFactory(email="rita@example.com", customer=account.subscription.customer)
    contract = CorporateContractFactory(base_fee_amount=Decimal("10.00"))
    with time_machine.travel(berlin(2027, 1, 1), tick=False):
        corporate, corporate_account = corporate_subscription(
            contracts=[contract], started_at=berlin(2027, 1, 1)
        )
    access(corporate_account, UserFactory(), contract.product, berlin(2027, 1, 5))
    invoice = make_invoice(customer=account.subscription.customer)
    bundle = BundleFactory()
    BundleItemFactory(bundle=bundle, product=account.subscription.offer.product)
    campaign = make_campaign(code="spring", template="SPRING-########", bundle=bundle)
    endpoint = CallbackEndpoint.objects.create(
        name="Shop", url="http://127.0.0.1:9/hook", event_types=["ping"], secret="whsec_x"
    )
    return World(account, account.subscription, corporate, invoice, campaign, endpoint, user)


def problem(response, status: int, code: str) -> dict:
    """The response is an RFC 9457 problem with this status and code."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    assert body["code"] == code, body
    return body
