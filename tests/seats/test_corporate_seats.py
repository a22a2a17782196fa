"""Seats of corporate subscriptions: the seat account's maximum comes from the contracts
(a bundle's shared maximum, the smallest of several individual products, unlimited when
none is set); an invited user of a bundle gets every product; the portal's user pages
and the admin's account page work for a corporate account."""

from __future__ import annotations

import pytest
import time_machine
from django.urls import reverse

from seats.models import Invitation, SeatAccount, UserSubscription
from seats.services.invitations import invitation_create, invitation_link, invitation_redeem
from seats.services.seats import seat_account_for_subscription
from subscriptions.models import User
from subscriptions.services.corporate import corporate_subscription_create
from tests.factories import CorporateContractFactory, CorporateOfferFactory, ProductFactory
from tests.seats.factories import NOW, UserFactory
from tests.subscriptions.factories import CustomerFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=False):
        yield


def corporate_customer(email: str = "admin@uni.example"):
    customer = CustomerFactory(company=True)
    customer.main_user = UserFactory(email=email, customer=customer)
    customer.save(update_fields=["main_user"])
    return customer


def corporate_subscription(offer, customer=None):
    return corporate_subscription_create(
        customer=customer or corporate_customer(), corporate_offer=offer, now=NOW
    )


def bundle(maximum_users: int | None = 30, name: str = "Campus licence"):
    contracts = [
        CorporateContractFactory(product=ProductFactory(name=product), maximum_users=maximum_users)
        for product in ("Digital edition", "E-paper")
    ]
    return CorporateOfferFactory(name=name, structure="bundle", contracts=contracts)


def test_a_bundle_account_takes_the_maximum_its_contracts_share():
    account = seat_account_for_subscription(subscription=corporate_subscription(bundle(30)))

    assert account.maximum_users == 30


def test_an_account_is_unlimited_when_no_contract_sets_a_maximum():
    account = seat_account_for_subscription(subscription=corporate_subscription(bundle(None)))

    assert account.maximum_users is None


def test_several_individual_products_take_the_smallest_maximum_set():
    contracts = [
        CorporateContractFactory(maximum_users=None),
        CorporateContractFactory(maximum_users=40),
        CorporateContractFactory(maximum_users=25),
    ]
    offer = CorporateOfferFactory(structure="individual_products", contracts=contracts)

    account = seat_account_for_subscription(subscription=corporate_subscription(offer))

    assert account.maximum_users == 25


def test_the_maximum_is_what_was_signed_not_a_later_contract_edit():
    offer = bundle(30)
    subscription = corporate_subscription(offer)
    offer.contracts.update(maximum_users=5)

    account = seat_account_for_subscription(subscription=subscription)

    assert account.maximum_users == 30


def test_asking_twice_returns_the_same_account():
    subscription = corporate_subscription(bundle())

    first = seat_account_for_subscription(subscription=subscription)

    assert seat_account_for_subscription(subscription=subscription) == first
    assert SeatAccount.objects.count() == 1


def test_an_invited_user_of_a_bundle_gets_one_user_subscription_per_product():
    account = seat_account_for_subscription(subscription=corporate_subscription(bundle()))
    _invitation, code = invitation_create(account=account, email="rita@uni.example")
    rita = UserFactory(email="rita@uni.example")

    created = invitation_redeem(code=code, user=rita, now=NOW)

    assert len(created) == 2
    rows = UserSubscription.objects.filter(seat_account=account, user=rita)
    assert sorted(rows.values_list("product__name", "state")) == [
        ("Digital edition", "active"),
        ("E-paper", "active"),
    ]
    assert Invitation.objects.get().status == "redeemed"


def test_a_corporate_invitation_links_to_kontors_landing_page():
    account = seat_account_for_subscription(subscription=corporate_subscription(bundle()))

    link = invitation_link(account, "ABCD-EFGH")

    assert link.endswith(reverse("join:redeem", kwargs={"code": "ABCD-EFGH"}))


def test_the_landing_page_names_the_corporate_offer(client):
    account = seat_account_for_subscription(subscription=corporate_subscription(bundle()))
    _invitation, code = invitation_create(account=account, email="rita@uni.example")

    response = client.get(reverse("join:redeem", kwargs={"code": code}))

    assert response.status_code == 200
    assert "Join Campus licence" in response.content.decode()


def test_the_corporate_admin_opens_the_seat_list_and_another_customer_gets_404(client):
    customer = corporate_customer()
    subscription = corporate_subscription(bundle(), customer)
    client.force_login(customer.main_user)

    first = client.get(reverse("seats:seat_list", args=[subscription.public_id]))
    account = SeatAccount.objects.get(subscription=subscription)
    page = client.get(reverse("seats:seat_list", args=[account.public_id]))

    assert first.status_code == 302
    assert first["Location"] == reverse("seats:seat_list", args=[account.public_id])
    assert page.status_code == 200
    assert "Users of Campus licence" in page.content.decode()

    other = corporate_customer("admin@other.example")
    corporate_subscription(bundle(name="Other licence"), other)
    client.force_login(other.main_user)
    for target in (account.public_id, subscription.public_id):
        assert client.get(reverse("seats:seat_list", args=[target])).status_code == 404
    assert SeatAccount.objects.filter(subscription__customer=other).count() == 0


def test_the_admin_account_page_renders_for_a_corporate_account(client, staff_user):
    subscription = corporate_subscription(bundle())
    client.force_login(staff_user)

    link = client.get(reverse("admin:seats_seataccount_for_subscription", args=[subscription.pk]))
    account = SeatAccount.objects.get(subscription=subscription)
    page = client.get(reverse("admin:seats_seataccount_change", args=[account.pk]))
    listing = client.get(reverse("admin:seats_seataccount_changelist"))

    assert link.status_code == 302
    assert link["Location"] == reverse("admin:seats_seataccount_change", args=[account.pk])
    assert page.status_code == listing.status_code == 200
    assert "Campus licence" in page.content.decode()
    assert "Campus licence" in listing.content.decode()


def test_the_admin_link_of_a_single_user_subscription_makes_no_account(client, staff_user):
    subscription = SubscriptionFactory()
    client.force_login(staff_user)

    response = client.get(
        reverse("admin:seats_seataccount_for_subscription", args=[subscription.pk]),
        follow=True,
    )

    assert response.status_code == 200
    assert "This subscription is not a multi-user subscription." in response.content.decode()
    assert SeatAccount.objects.count() == 0
    assert User.objects.filter(is_staff=True).count() == 1
