"""Every entry point that checks a guessable secret answers 429 with the message once a
limit is reached, and changes nothing: no session, no e-mail, no redemption, no
subscription, no seat. The failures are set up in bulk; each entry point also shows
that its own wrong guesses are counted."""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from api.models import ApiKey
from catalog.models import Offer
from coupons.models import Code
from seats.models import Invitation, UserSubscription
from seats.services.invitations import invitation_create
from security.models import Failure
from security.throttle import client_for_api_key
from subscriptions.models import CouponRedemption, Customer, Subscription
from tests.api.conftest import ApiClient, make_key, problem
from tests.coupons.factories import make_campaign
from tests.factories import (
    BundleFactory,
    BundleItemFactory,
    OfferFactory,
    PlanFactory,
    ProductFactory,
)
from tests.seats.factories import NOW, SeatAccountFactory, UserFactory
from tests.security.conftest import PASSWORD, add_failures
from tests.subscriptions.factories import CustomerFactory

pytestmark = pytest.mark.django_db

MESSAGE = "Too many failed attempts. For your security, try again in"


def _refused(response) -> None:
    assert response.status_code == 429
    assert MESSAGE in response.content.decode()
    assert int(response["Retry-After"]) > 0


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user(
        email="carla@kontor.example", password=PASSWORD, is_staff=True
    )


@pytest.fixture
def reader(django_user_model):
    customer = Customer.objects.create(name="Rita Reader", email="rita@example.com")
    user = django_user_model.objects.create_user(
        email="rita@example.com", password=PASSWORD, customer=customer
    )
    customer.main_user = user
    customer.save(update_fields=["main_user"])
    return user


@pytest.fixture
def voucher():
    bundle = BundleFactory(products=[ProductFactory(name="Archive")])
    OfferFactory(
        code="archive-monthly",
        kind=Offer.Kind.COMPLEX_SUBSCRIPTION,
        product=None,
        plan=PlanFactory(bundles=[bundle]),
        price_amount=Decimal("4.90"),
    )
    campaign = make_campaign(kind="voucher", bundle=bundle, free_periods=3, quantity=1)
    return campaign.codes.get().code


@pytest.fixture
def coupon_offer():
    bundle = BundleFactory(products=[ProductFactory(name="Paper")])
    offer = OfferFactory(
        code="paper-monthly",
        kind=Offer.Kind.COMPLEX_SUBSCRIPTION,
        product=None,
        plan=PlanFactory(bundles=[bundle]),
        price_amount=Decimal("9.99"),
    )
    campaign = make_campaign(bundle=bundle, discount_percent=Decimal(20), quantity=1)
    return offer, campaign.codes.get().code


def _nothing_bought() -> tuple:
    return (
        Subscription.objects.count(),
        CouponRedemption.objects.count(),
        sum(Code.objects.values_list("redeemed_count", flat=True)),
    )


# --- logins and password reset ---------------------------------------------------------


def test_admin_login_is_refused_after_the_accounts_failures_anywhere(client, staff):
    add_failures(60, kind="login", account=staff.email, distinct_ips=True)  # at the portal
    add_failures(40, kind="admin_login", account=staff.email, distinct_ips=True)

    response = client.post(
        reverse("admin:login"), {"username": staff.email, "password": PASSWORD, "next": "/admin/"}
    )

    _refused(response)
    assert "_auth_user_id" not in client.session


def test_a_wrong_admin_password_counts_as_an_admin_login_failure(client, staff):
    response = client.post(reverse("admin:login"), {"username": staff.email, "password": "no"})

    assert response.status_code == 200
    assert list(Failure.objects.values_list("kind", flat=True)) == ["admin_login"]


def test_password_reset_sends_nothing_once_the_address_has_its_limit(
    client, reader, django_capture_on_commit_callbacks
):
    url = reverse("subscriptions:password_reset")
    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post(url, {"email": reader.email}, REMOTE_ADDR="192.0.2.1")
    assert sent.status_code == 302
    assert len(mail.outbox) == 1  # each request counts, this one was still allowed
    add_failures(99, kind="password_reset", account=reader.email, distinct_ips=True)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(url, {"email": reader.email}, REMOTE_ADDR="192.0.2.2")

    _refused(response)
    assert (len(mail.outbox), len(callbacks)) == (1, 0)
    assert Failure.objects.filter(kind="password_reset").count() == 100


# --- vouchers and coupons in the portal ------------------------------------------------


def test_the_voucher_page_refuses_a_valid_voucher_once_the_user_has_its_limit(
    client, reader, voucher, caplog
):
    client.force_login(reader)
    with caplog.at_level(logging.WARNING, logger="security.throttle"):
        wrong = client.post(reverse("subscriptions:voucher_redeem"), {"code": "NOPE-1234"})
    assert wrong.status_code == 200
    assert "Failed voucher attempt (account " in caplog.text
    assert "NOPE" not in caplog.text  # never the code
    add_failures(99, kind="voucher", account=f"user:{reader.pk}", distinct_ips=True)

    response = client.post(
        reverse("subscriptions:voucher_redeem"),
        {"code": voucher, "offer": "archive-monthly", "intent": "redeem"},
    )

    _refused(response)
    assert _nothing_bought() == (0, 0, 0)
    assert Failure.objects.filter(kind="voucher").count() == 100


def test_checkout_apply_and_buy_with_a_coupon_are_refused_at_the_limit(
    client, reader, coupon_offer
):
    offer, code = coupon_offer
    client.force_login(reader)
    url = reverse("subscriptions:checkout", args=[offer.code])
    account = f"customer:{reader.customer_id}"
    add_failures(100, kind="coupon", account=account, distinct_ips=True)

    applied = client.post(url, {"intent": "apply_coupon", "coupon_code": code})
    bought = client.post(url, {"payment_method": "invoice", "coupon_code": code})
    without_code = client.post(url, {"payment_method": "invoice", "coupon_code": ""})

    _refused(applied)
    _refused(bought)
    assert without_code.status_code == 302  # buying without a code is no guess
    assert (CouponRedemption.objects.count(), Code.objects.get().redeemed_count) == (0, 0)
    assert Subscription.objects.count() == 1


def test_a_wrong_coupon_at_checkout_counts_and_a_refused_payment_does_not(
    client, reader, coupon_offer
):
    offer, code = coupon_offer
    client.force_login(reader)
    url = reverse("subscriptions:checkout", args=[offer.code])

    client.post(url, {"intent": "apply_coupon", "coupon_code": "WRONG-999"})
    client.post(url, {"payment_method": "invoice", "coupon_code": "WRONG-998"})
    client.post(url, {"payment_method": "no-such-method", "coupon_code": code})

    assert Failure.objects.filter(kind="coupon").count() == 2
    assert Subscription.objects.count() == 0


# --- invitations -----------------------------------------------------------------------


@pytest.fixture
def invitation():
    with time_machine.travel(NOW, tick=False):
        account = SeatAccountFactory(subscription__offer__name="Team News")
        yield invitation_create(account=account, email="rita@example.com", first_name="Rita")


def test_an_unknown_invitation_code_counts_for_the_client(client, invitation):
    with time_machine.travel(NOW, tick=False):
        response = client.get(reverse("join:redeem", kwargs={"code": "NOPE-NOPE"}))

    assert response.status_code == 404
    assert list(Failure.objects.values_list("kind", flat=True)) == ["invitation"]


def test_the_join_page_is_refused_to_a_client_with_twenty_failures(client, invitation):
    _invitation, code = invitation
    with time_machine.travel(NOW, tick=False):
        add_failures(20, kind="invitation", ip="127.0.0.1")
        response = client.get(reverse("join:redeem", kwargs={"code": code}))

    _refused(response)


def test_accepting_an_invitation_is_refused_at_the_users_limit(client, invitation):
    pending, code = invitation
    with time_machine.travel(NOW, tick=False):
        user = UserFactory(email="rita@example.com")
        client.force_login(user)
        add_failures(100, kind="invitation", account=f"user:{user.pk}", distinct_ips=True)
        response = client.post(reverse("join:redeem", kwargs={"code": code}), {"intent": "accept"})

    _refused(response)
    pending.refresh_from_db()
    assert pending.status == Invitation.Status.PENDING
    assert UserSubscription.objects.filter(user=user).count() == 0


# --- the API ---------------------------------------------------------------------------


@pytest.fixture
def api_world(staff_user):
    with time_machine.travel(NOW, tick=True):
        offer = OfferFactory(price_amount=Decimal("10.00"))
        bundle = BundleFactory()
        BundleItemFactory(bundle=bundle, product=offer.product)
        code = make_campaign(bundle=bundle, discount_percent=Decimal(100), quantity=1)
        api = ApiClient(make_key(created_by=staff_user))
        yield api, offer, code.codes.get().code, CustomerFactory()


def test_api_redeem_is_a_429_problem_at_the_customers_limit(api_world):
    api, offer, code, customer = api_world
    add_failures(100, kind="coupon", account=f"customer:{customer.pk}", distinct_ips=True)

    response = api.post(
        f"/api/v1/coupon-codes/{code}/redeem",
        {"customer": str(customer.public_id), "offer": offer.code},
    )

    body = problem(response, 429, "too_many_failures")
    assert body["detail"].startswith(MESSAGE)
    assert body["retry_after"] > 0
    assert _nothing_bought() == (0, 0, 0)


def test_api_validate_counts_wrong_codes_per_key_and_stops_at_its_limit(api_world):
    api, offer, code, _customer = api_world
    refused = api.post("/api/v1/coupon-codes/NOPE-1/validate", {"offer": offer.code})
    assert refused.json()["valid"] is False
    key = client_for_api_key(ApiKey.objects.get().pk).key
    assert Failure.objects.get().client_key == key
    Failure.objects.bulk_create(Failure(kind="coupon", client_key=key) for _ in range(99))

    response = api.post(f"/api/v1/coupon-codes/{code}/validate", {"offer": offer.code})

    problem(response, 429, "too_many_failures")


def test_api_purchase_with_a_coupon_code_is_refused_at_the_limit(api_world):
    api, offer, code, customer = api_world
    add_failures(100, kind="coupon", account=f"customer:{customer.pk}", distinct_ips=True)

    response = api.post(
        "/api/v1/subscriptions",
        {
            "customer": str(customer.public_id),
            "offer": offer.code,
            "coupon_code": code,
            "payment_method": "invoice",
        },
    )

    problem(response, 429, "too_many_failures")
    assert _nothing_bought() == (0, 0, 0)


def test_the_old_password_of_a_password_change_is_throttled_like_a_login(client, member):
    """A signed-in session (or a stolen cookie) could otherwise guess the password
    through the change form without limit."""
    url = reverse("subscriptions:password_change")
    client.force_login(member)
    change = {
        "old_password": "guess",
        "new_password1": "N3w-pw-long-1",
        "new_password2": "N3w-pw-long-1",
    }

    wrong = client.post(url, change)
    add_failures(99, account=member.email, distinct_ips=True)
    refused = client.post(url, {**change, "old_password": PASSWORD})

    assert wrong.status_code == 200  # the form's "incorrect" message
    assert Failure.objects.filter(kind=Failure.Kind.LOGIN).count() == 100
    assert refused.status_code == 429
    member.refresh_from_db()
    assert member.check_password(PASSWORD)  # unchanged


def test_api_code_lookup_counts_unknown_codes_per_key_and_stops_at_its_limit(api_world):
    api, _offer, code, _customer = api_world
    assert api.get("/api/v1/coupon-codes/NOPE-1").status_code == 404
    key = client_for_api_key(ApiKey.objects.get().pk).key
    assert Failure.objects.get().client_key == key
    assert api.get(f"/api/v1/coupon-codes/{code}").status_code == 200
    Failure.objects.bulk_create(Failure(kind="coupon", client_key=key) for _ in range(99))

    response = api.get(f"/api/v1/coupon-codes/{code}")

    problem(response, 429, "too_many_failures")
