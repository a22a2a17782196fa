"""The staff customer page: list with search and filters, a change page with read-only
portal users, subscriptions, payment methods and activity, honest placeholders for seats
and invoices; Customer support may add and change customers."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from subscriptions.models import Activity, Customer, User
from subscriptions.roles import CATALOG_MANAGER, CUSTOMER_SUPPORT
from tests.subscriptions.test_portal_pages import (
    make_customer,
    make_payment_method,
    make_subscription,
)

pytestmark = pytest.mark.django_db

LIST_URL = "/admin/subscriptions/customer/"


def _staff(client, role: str) -> User:
    user = User.objects.create_user(email=f"{role[:4].lower()}@kontor.example", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    client.force_login(user)
    return user


@pytest.fixture
def anna() -> Customer:
    customer = make_customer("anna@example.com")
    subscription = make_subscription(customer, payment_method=make_payment_method(customer))
    Activity.objects.create(customer=customer, verb="first", message="Old note 111")
    Activity.objects.create(
        customer=customer, subscription=subscription, verb="second", message="New note 222"
    )
    return customer


def test_list_shows_customers_with_their_main_user(staff_client, anna):
    make_customer("it@acme.example", name="Acme GmbH", kind="company")

    html = staff_client.get(LIST_URL).content.decode()

    assert "Anna Schmidt" in html
    assert "Acme GmbH" in html
    assert "anna@example.com" in html


@pytest.mark.parametrize("count", [1, 5])
def test_list_takes_a_fixed_number_of_queries(
    staff_client, count, django_assert_num_queries, staff_user
):
    for n in range(count):
        make_customer(f"c{n}@example.com", name=f"Customer {n}")

    # Session, user, two counts, the rows with their main users, the date hierarchy (2),
    # the country and currency filters' choices.
    with django_assert_num_queries(10):  # 9 + the verified TOTP device
        response = staff_client.get(LIST_URL)

    assert response.status_code == 200


def test_search_finds_a_customer_by_a_portal_users_email(staff_client, anna):
    make_customer("ben@example.com", name="Ben Berg")

    html = staff_client.get(LIST_URL, {"q": "anna@example"}).content.decode()

    assert "Anna Schmidt" in html
    assert "Ben Berg" not in html


def test_change_page_shows_users_subscriptions_methods_and_activity(staff_client, anna):
    response = staff_client.get(f"{LIST_URL}{anna.pk}/change/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "Portal users" in html
    assert f'href="/admin/subscriptions/user/{anna.main_user.pk}/change/"' in html
    assert "Daily News" in html
    assert "€9.90" in html
    assert "Visa •••• 4242" in html
    assert html.index("New note 222") < html.index("Old note 111")
    assert "No multi-user subscriptions." in html
    assert "Payment history" in html  # billing's panel (subscriptions.admin.panels)
    # Nothing in the inlines can be edited or added from here.
    assert 'name="subscriptions-0-status"' not in html
    assert "Add another portal user" not in html
    assert "Add another subscription" not in html


def test_customer_support_adds_a_customer(client):
    support = _staff(client, CUSTOMER_SUPPORT)

    response = client.post(
        f"{LIST_URL}add/",
        {
            "kind": "company",
            "name": "Acme GmbH",
            "email": "billing@acme.example",
            "language": "de",
            "currency": "EUR",
            "address_line1": "",
            "address_line2": "",
            "postal_code": "",
            "city": "",
            "country": "de",
            "vat_id": "DE123456789",
            **_empty_inlines(),
        },
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    customer = Customer.objects.get(name="Acme GmbH")
    assert customer.country == "DE"
    assert customer.vat_id == "DE123456789"
    activity = Activity.objects.get(customer=customer)
    assert (activity.verb, activity.actor) == ("created", support)


def test_customer_support_changes_a_customer_and_the_history_says_so(client, anna):
    support = _staff(client, CUSTOMER_SUPPORT)
    Activity.objects.all().delete()

    response = client.post(
        f"{LIST_URL}{anna.pk}/change/",
        {
            "kind": "person",
            "name": "Anna Weber",
            "email": anna.email,
            "main_user": anna.main_user.pk,
            "language": "en",
            "currency": "EUR",
            "initial-currency": "EUR",  # the form's hidden initial for a callable default
            "country": "DE",
            **_empty_inlines(),
        },
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    anna.refresh_from_db()
    assert anna.name == "Anna Weber"
    activity = Activity.objects.get(customer=anna)
    assert (activity.verb, activity.actor) == ("details_changed", support)
    assert activity.message == "Changed by staff: name"


def test_admin_refuses_a_vat_id_for_a_person(staff_client):
    response = staff_client.post(
        f"{LIST_URL}add/",
        {
            "kind": "person",
            "name": "Ben",
            "language": "en",
            "currency": "EUR",
            "vat_id": "DE1",
            **_empty_inlines(),
        },
    )

    assert response.status_code == 200
    assert "Only companies have a VAT id." in response.content.decode()
    assert not Customer.objects.exists()


def test_catalog_manager_only_views_customers(client, anna):
    _staff(client, CATALOG_MANAGER)

    assert client.get(f"{LIST_URL}add/").status_code == 403
    response = client.get(f"{LIST_URL}{anna.pk}/change/")
    assert response.status_code == 200
    assert 'name="name"' not in response.content.decode()


def _empty_inlines() -> dict[str, str]:
    data = {}
    for prefix in ("users", "subscriptions", "payment_methods", "activities"):
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
    return data
