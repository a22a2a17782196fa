"""The portal's account page and the service behind it: the customer edits their own
details; refusals change nothing; the activity history records what changed."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from subscriptions.models import Activity, Customer
from subscriptions.services.accounts import customer_update_details
from tests.subscriptions.test_portal_pages import make_customer

pytestmark = pytest.mark.django_db

DETAILS = {
    "name": "Anna Schmidt-Weber",
    "email": "billing@schmidt.example",
    "address_line1": "Hauptstraße 1",
    "address_line2": "",
    "postal_code": "10115",
    "city": "Berlin",
    "country": "de",
    "language": "de",
}


@pytest.fixture
def person() -> Customer:
    return make_customer("anna@example.com")


@pytest.fixture
def company() -> Customer:
    return make_customer("it@acme.example", name="Acme GmbH", kind="company")


def test_account_page_shows_the_customers_details(client, person):
    client.force_login(person.main_user)

    response = client.get("/portal/account/")

    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="name" value="Anna Schmidt"' in html
    assert '<label for="id_name">Full name</label>' in html
    assert 'name="vat_id"' not in html


def test_company_account_page_has_a_vat_id_field(client, company):
    client.force_login(company.main_user)

    html = client.get("/portal/account/").content.decode()

    assert '<label for="id_name">Company name</label>' in html
    assert 'name="vat_id"' in html


def test_customer_saves_new_details(client, person):
    client.force_login(person.main_user)

    response = client.post("/portal/account/", DETAILS, follow=True)

    assert response.redirect_chain == [("/portal/account/", 302)]
    assert "Your account details have been saved." in response.content.decode()
    person.refresh_from_db()
    assert person.name == "Anna Schmidt-Weber"
    assert person.email == "billing@schmidt.example"
    assert person.city == "Berlin"
    assert person.country == "DE"
    assert person.language == "de"
    activity = Activity.objects.get(customer=person)
    assert activity.verb == "details_changed"
    assert activity.actor == person.main_user
    assert activity.message == ("Changed: name, email, address_line1, postal_code, city, language")


def test_company_saves_its_vat_id(client, company):
    client.force_login(company.main_user)

    client.post("/portal/account/", {**DETAILS, "name": "Acme GmbH", "vat_id": "DE123456789"})

    company.refresh_from_db()
    assert company.vat_id == "DE123456789"


def test_invalid_details_show_field_errors_and_change_nothing(client, person):
    client.force_login(person.main_user)

    response = client.post("/portal/account/", {**DETAILS, "name": "", "email": "not-an-email"})

    assert response.status_code == 200
    html = response.content.decode()
    assert "field-invalid" in html
    assert "Enter a valid email address." in html
    person.refresh_from_db()
    assert person.name == "Anna Schmidt"
    assert Activity.objects.count() == 0


def test_service_refuses_a_vat_id_for_a_person_and_changes_nothing(person):
    with pytest.raises(ValidationError) as refused:
        customer_update_details(customer=person, vat_id="DE123456789")

    assert refused.value.message_dict == {"vat_id": ["Only companies have a VAT id."]}
    person.refresh_from_db()
    assert person.vat_id == ""
    assert Activity.objects.count() == 0


def test_service_writes_no_activity_when_nothing_changed(person):
    customer_update_details(customer=person, name="Anna Schmidt", country="de")

    assert Activity.objects.count() == 0


def test_service_refuses_fields_a_customer_may_not_change(person):
    with pytest.raises(TypeError):
        customer_update_details(customer=person, kind="company")


def test_account_page_of_a_user_without_customer_is_not_found(client, django_user_model):
    client.force_login(django_user_model.objects.create_user(email="x@example.com", password="x"))

    assert client.get("/portal/account/").status_code == 404


def test_anonymous_visitor_is_sent_to_the_login_page(client):
    response = client.get("/portal/account/")

    assert response.status_code == 302
    assert response["Location"] == "/portal/login/?next=/portal/account/"
