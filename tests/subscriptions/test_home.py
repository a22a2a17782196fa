"""The portal's home page, in English and German, for customers and staff."""

import pytest
from django.conf import settings

pytestmark = pytest.mark.django_db


def test_home_greets_the_customer_and_shows_empty_state(customer_client, django_assert_num_queries):
    # The session and the user; the subscriptions issue adds its own queries.
    with django_assert_num_queries(2):
        response = customer_client.get("/portal/")

    html = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="en">' in html
    assert "<h1>Hello, Anna</h1>" in html
    assert "You are logged in as <strong>anna.schmidt@example.com</strong>." in html
    assert "You have no subscriptions yet" in html


def test_home_greets_user_without_first_name_by_email(client, django_user_model):
    user = django_user_model.objects.create_user(email="ben@example.com", password="x-pw-123456")
    client.force_login(user)

    html = client.get("/portal/").content.decode()

    assert "<h1>Hello, ben@example.com</h1>" in html


def test_home_is_in_german_after_switching_language(customer_client):
    response = customer_client.post("/i18n/setlang/", {"language": "de", "next": "/portal/"})
    assert response.status_code == 302
    assert response["Location"] == "/portal/"

    html = customer_client.get("/portal/").content.decode()

    assert '<html lang="de">' in html
    assert "<h1>Hallo, Anna</h1>" in html
    assert "Sie haben noch keine Abonnements" in html
    assert "You have no subscriptions yet" not in html


def test_login_page_is_in_german_for_a_german_browser(client):
    html = client.get("/portal/login/", headers={"accept-language": "de"}).content.decode()

    assert '<label for="id_username">E-Mail-Adresse</label>' in html
    assert ">Anmelden</button>" in html


def test_staff_user_gets_a_link_to_the_merchant_backend(staff_client):
    html = staff_client.get("/portal/").content.decode()

    assert 'href="/admin/"' in html
    assert "Open the merchant backend" in html


def test_customer_gets_no_link_to_the_merchant_backend(customer_client):
    html = customer_client.get("/portal/").content.decode()

    assert 'href="/admin/"' not in html


def test_language_switcher_offers_english_and_german_with_current_marked(customer_client):
    html = customer_client.get("/portal/").content.decode()

    assert '<form class="language-switcher" action="/portal/language/" method="post">' in html
    assert (
        '<button type="submit" name="language" value="en" lang="en" aria-current="true">'
        "English</button>"
    ) in html
    assert '<button type="submit" name="language" value="de" lang="de">Deutsch</button>' in html


def test_portal_language_switch_remembers_the_users_language(customer_client, customer):
    response = customer_client.post("/portal/language/", {"language": "de", "next": "/portal/"})

    assert response.status_code == 302
    assert response["Location"] == "/portal/"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "de"
    customer.refresh_from_db()
    assert customer.language == "de"


def test_portal_language_switch_ignores_an_unknown_language(customer_client, customer):
    response = customer_client.post("/portal/language/", {"language": "xx", "next": "/portal/"})

    assert response.status_code == 302
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies
    customer.refresh_from_db()
    assert customer.language == "en"


def test_anonymous_language_switch_sets_only_the_cookie(client):
    response = client.post("/portal/language/", {"language": "de", "next": "/portal/login/"})

    assert response.status_code == 302
    assert response["Location"] == "/portal/login/"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "de"


def test_portal_language_switch_refuses_get(customer_client, customer):
    response = customer_client.get("/portal/language/", {"language": "de"})

    assert response.status_code == 405
    customer.refresh_from_db()
    assert customer.language == "en"


def test_language_switch_does_not_redirect_to_another_site(client):
    response = client.post(
        "/portal/language/", {"language": "de", "next": "https://evil.example/phish"}
    )

    assert response.status_code == 302
    assert response["Location"] == "/"
