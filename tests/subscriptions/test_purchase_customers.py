"""Customer accounts for purchases: matched or created by e-mail (the import), created
for a signed-in user on their first purchase, registered from the checkout."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from subscriptions.exceptions import PurchaseRefused
from subscriptions.models import Customer, User
from subscriptions.services.accounts import customer_update_details
from subscriptions.services.customers import (
    customer_create_for_user,
    customer_for_email,
    customer_register,
)
from subscriptions.services.purchase import INVOICE, subscription_purchase
from tests.factories import BundleFactory, OfferFactory, ProductFactory

pytestmark = pytest.mark.django_db


def test_customer_for_email_creates_a_user_and_a_person_account():
    customer, created = customer_for_email(
        email=" Lena.Meyer@Example.COM ", first_name="Lena", last_name="Meyer", language="de"
    )
    user = User.objects.get()
    assert created is True
    assert (user.email, user.language, user.has_usable_password()) == (
        "lena.meyer@example.com",
        "de",
        False,
    )
    assert (customer.name, customer.email, customer.kind, customer.language) == (
        "Lena Meyer",
        "lena.meyer@example.com",
        "person",
        "de",
    )
    assert (customer.main_user, user.customer) == (user, customer)


def test_customer_for_email_matches_a_portal_users_account_case_insensitively():
    company = Customer.objects.create(
        name="Acme GmbH", kind="company", email="billing@acme.example"
    )
    User.objects.create_user(email="tom@acme.example", customer=company)
    assert customer_for_email(email="TOM@acme.example", first_name="Other") == (company, False)
    assert Customer.objects.count() == 1
    assert company.name == "Acme GmbH"  # left as it was


def test_customer_for_email_never_matches_an_accounts_billing_email():
    """A customer sets any billing e-mail on the account page; matching it would hand
    their account the next purchase or import for that address."""
    attacker, _created = customer_for_email(email="mallory@example.com")
    customer_update_details(customer=attacker, email="Boss@Victim.example")

    customer, created = customer_for_email(email="boss@victim.example", first_name="Bea")

    boss = User.objects.get(email="boss@victim.example")
    assert created is True
    assert customer != attacker
    assert (customer.main_user, boss.customer, customer.name) == (boss, customer, "Bea")
    assert Customer.objects.count() == 2
    # Matching through the portal user still finds each account again (a re-import).
    assert customer_for_email(email="BOSS@victim.example") == (customer, False)
    assert customer_for_email(email="mallory@example.com") == (attacker, False)
    assert Customer.objects.count() == 2


def test_customer_for_email_gives_an_account_to_a_user_without_one():
    user = User.objects.create_user(email="sam@example.com", first_name="Sam")
    customer, created = customer_for_email(email="sam@example.com")
    user.refresh_from_db()
    assert created is True
    assert (user.customer, customer.main_user, customer.name) == (customer, user, "Sam")


def test_unknown_language_falls_back_to_the_default():
    customer, _ = customer_for_email(email="x@example.com", language="fr")
    assert customer.language == "en"


def test_customer_create_for_user_is_idempotent():
    user = User.objects.create_user(email="rita@example.com", first_name="Rita")
    first = customer_create_for_user(user=user)
    assert customer_create_for_user(user=user) == first
    assert Customer.objects.count() == 1


def test_customer_register_creates_login_and_account():
    user = customer_register(
        email="New@Example.com", first_name=" New ", last_name="Person", password="pw-Long-42x"
    )
    assert user.check_password("pw-Long-42x")
    assert (user.email, user.first_name, user.customer.name) == (
        "new@example.com",
        "New",
        "New Person",
    )


def test_customer_register_refuses_a_taken_email_on_its_field_and_creates_nothing():
    """The checkout's form checks the address first; a request that takes it in between
    reaches the unique index, which is this same path."""
    User.objects.create_user(email="anna@example.com", password="pw-Long-42x")

    with pytest.raises(ValidationError) as error:
        customer_register(
            email="anna@example.com", first_name="Anna", last_name="Other", password="pw-Long-43x"
        )

    assert error.value.message_dict == {
        "email": ["An account with this e-mail already exists; log in instead."]
    }
    assert (User.objects.count(), Customer.objects.count()) == (1, 0)


def test_a_product_offer_has_no_add_ons_or_optional_products():
    offer = OfferFactory(price_amount=Decimal("2.99"))
    customer = Customer.objects.create(name="Anna")
    bundle = BundleFactory(name="Extra")
    with pytest.raises(PurchaseRefused) as info:
        subscription_purchase(
            customer=customer, offer=offer, payment_method=INVOICE, addon_bundles=[bundle]
        )
    assert (str(info.value), info.value.field) == (
        "Extra cannot be added to this offer.",
        "addon_bundles",
    )
    product = ProductFactory(name="Crossword")
    with pytest.raises(PurchaseRefused) as info:
        subscription_purchase(
            customer=customer, offer=offer, payment_method=INVOICE, optional_products=[product]
        )
    assert info.value.field == "optional_products"
    assert not customer.subscriptions.exists()
