"""Logging in and out of the portal with an e-mail address."""

import pytest
from django.contrib.auth import SESSION_KEY

from .conftest import CUSTOMER_PASSWORD

pytestmark = pytest.mark.django_db

LOGIN_URL = "/portal/login/"


def test_customer_logs_in_with_email_in_any_case(client, customer):
    response = client.post(
        LOGIN_URL, {"username": "  Anna.Schmidt@EXAMPLE.com ", "password": CUSTOMER_PASSWORD}
    )

    assert response.status_code == 302
    assert response["Location"] == "/portal/"
    assert client.session[SESSION_KEY] == str(customer.pk)


def test_login_returns_to_the_page_asked_for(client, customer):
    response = client.post(
        LOGIN_URL + "?next=/portal/password/change/",
        {
            "username": customer.email,
            "password": CUSTOMER_PASSWORD,
            "next": "/portal/password/change/",
        },
    )

    assert response.status_code == 302
    assert response["Location"] == "/portal/password/change/"


def test_login_with_wrong_password_shows_error_and_starts_no_session(client, customer):
    response = client.post(LOGIN_URL, {"username": customer.email, "password": "wrong-password"})

    assert response.status_code == 200
    assert "Please enter a correct e-mail address and password." in response.content.decode()
    assert SESSION_KEY not in client.session


def test_login_of_inactive_user_is_refused(client, customer):
    customer.is_active = False
    customer.save(update_fields=["is_active"])

    response = client.post(LOGIN_URL, {"username": customer.email, "password": CUSTOMER_PASSWORD})

    assert response.status_code == 200
    assert SESSION_KEY not in client.session


def test_login_page_labels_its_fields_and_button(client):
    html = client.get(LOGIN_URL).content.decode()

    assert '<label for="id_username">E-mail address</label>' in html
    assert '<label for="id_password">Password</label>' in html
    assert '<button type="submit" class="button button-primary">Log in</button>' in html
    assert 'href="/portal/password/reset/"' in html


def test_anonymous_visitor_of_the_portal_is_sent_to_login(client):
    response = client.get("/portal/")

    assert response.status_code == 302
    assert response["Location"] == "/portal/login/?next=/portal/"


def test_logged_in_user_opening_login_is_sent_home(customer_client):
    response = customer_client.get(LOGIN_URL)

    assert response.status_code == 302
    assert response["Location"] == "/portal/"


def test_logout_refuses_get_and_keeps_the_session(customer_client, customer):
    response = customer_client.get("/portal/logout/")

    assert response.status_code == 405
    assert customer_client.session[SESSION_KEY] == str(customer.pk)


def test_logout_by_post_ends_the_session(customer_client):
    response = customer_client.post("/portal/logout/")

    assert response.status_code == 302
    assert response["Location"] == "/portal/login/"
    assert SESSION_KEY not in customer_client.session
    assert customer_client.get("/portal/").status_code == 302


def test_header_offers_logout_as_a_form_post(customer_client):
    html = customer_client.get("/portal/").content.decode()

    assert '<form action="/portal/logout/" method="post">' in html


@pytest.mark.parametrize(
    "url", ["/portal/", "/portal/password/change/", "/portal/password/change/done/"]
)
def test_anonymous_visitor_of_a_logged_in_page_is_sent_to_login(client, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"/portal/login/?next={url}"
