"""Forgotten passwords (reset by e-mail link) and changing a password when logged in."""

import re

import pytest
from django.contrib.auth import SESSION_KEY
from django.core import mail

from .conftest import CUSTOMER_PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def request_reset(client, django_capture_on_commit_callbacks):
    """Ask for a reset e-mail; it is queued after commit and sent by the task (inline in
    tests, where Django-Q2 runs synchronously)."""

    def post(email: str, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post("/portal/password/reset/", {"email": email}, **kwargs)

    return post


NEW_PASSWORD = "Fresh-Kontor-Passw0rd"


def _reset_link(message) -> str:
    (link,) = re.findall(
        r"http://testserver(/portal/password/reset/[^/\s]+/[^/\s]+/)", message.body
    )
    return link


def test_password_reset_is_sent_from_a_task_not_inside_the_request(
    client, customer, monkeypatch, django_capture_on_commit_callbacks
):
    from django_q.conf import Conf
    from django_q.models import OrmQ

    monkeypatch.setattr(Conf, "SYNC", False)  # queue as in production; no worker runs

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/portal/password/reset/", {"email": customer.email})

    assert response.status_code == 302
    assert mail.outbox == []
    assert OrmQ.objects.count() == 1


def test_password_reset_sends_one_email_with_a_link_to_the_account(client, request_reset, customer):
    response = request_reset("ANNA.SCHMIDT@example.com")

    assert response.status_code == 302
    assert response["Location"] == "/portal/password/reset/sent/"
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["anna.schmidt@example.com"]
    assert message.subject == "Reset your Kontor password"
    assert "the Kontor account anna.schmidt@example.com" in message.body
    assert _reset_link(message).startswith("/portal/password/reset/")
    (html_body, mimetype) = message.alternatives[0]
    assert mimetype == "text/html"
    assert f'href="http://testserver{_reset_link(message)}"' in html_body


def test_reset_link_lets_the_user_set_a_new_password(client, request_reset, customer):
    request_reset(customer.email)
    link = _reset_link(mail.outbox[0])

    form_page = client.get(link, follow=True)
    (set_password_url, _status) = form_page.redirect_chain[-1]
    assert "Choose a new password" in form_page.content.decode()
    response = client.post(
        set_password_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )

    assert response.status_code == 302
    assert response["Location"] == "/portal/password/reset/complete/"
    customer.refresh_from_db()
    assert customer.check_password(NEW_PASSWORD)
    assert not customer.check_password(CUSTOMER_PASSWORD)
    client.post("/portal/login/", {"username": customer.email, "password": NEW_PASSWORD})
    assert client.session[SESSION_KEY] == str(customer.pk)


def test_reset_link_works_only_once(client, request_reset, customer):
    request_reset(customer.email)
    link = _reset_link(mail.outbox[0])
    set_password_url = client.get(link)["Location"]
    client.post(set_password_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})

    response = client.get(link, follow=True)

    html = response.content.decode()
    assert "This link no longer works" in html
    assert 'name="new_password1"' not in html


def test_reset_refuses_mismatched_passwords_and_keeps_the_old_one(client, request_reset, customer):
    request_reset(customer.email)
    set_password_url = client.get(_reset_link(mail.outbox[0]))["Location"]

    response = client.post(
        set_password_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD + "x"}
    )

    assert response.status_code == 200
    assert "The two password fields didn\u2019t match." in response.content.decode()
    customer.refresh_from_db()
    assert customer.check_password(CUSTOMER_PASSWORD)


def test_reset_for_an_unknown_address_looks_the_same_and_sends_nothing(
    client, request_reset, customer
):
    response = request_reset("nobody@example.com")

    assert response.status_code == 302
    assert response["Location"] == "/portal/password/reset/sent/"
    assert mail.outbox == []


def test_reset_email_is_in_german_when_asked_for_in_german(request_reset, customer):
    request_reset(customer.email, headers={"accept-language": "de"})

    assert mail.outbox[0].subject == "Ihr Kontor-Passwort zurücksetzen"


def test_logged_in_user_changes_password(customer_client, customer):
    response = customer_client.post(
        "/portal/password/change/",
        {
            "old_password": CUSTOMER_PASSWORD,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )

    assert response.status_code == 302
    assert response["Location"] == "/portal/password/change/done/"
    customer.refresh_from_db()
    assert customer.check_password(NEW_PASSWORD)
    assert customer_client.get("/portal/").status_code == 200


def test_password_change_refuses_a_wrong_current_password(customer_client, customer):
    response = customer_client.post(
        "/portal/password/change/",
        {"old_password": "not-it", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert response.status_code == 200
    assert "Your old password was entered incorrectly." in response.content.decode()
    customer.refresh_from_db()
    assert customer.check_password(CUSTOMER_PASSWORD)
