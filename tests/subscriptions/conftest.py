"""Fixtures for the portal's login pages, home page and the user admin."""

import pytest

CUSTOMER_PASSWORD = "kontor-customer-pw-1"


@pytest.fixture
def customer(django_user_model):
    return django_user_model.objects.create_user(
        email="anna.schmidt@example.com",
        password=CUSTOMER_PASSWORD,
        first_name="Anna",
        last_name="Schmidt",
    )


@pytest.fixture
def customer_client(client, customer):
    client.force_login(customer)
    return client


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client
