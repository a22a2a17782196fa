"""KONTOR_PUBLIC_URL: the origin of absolute links in e-mails."""

import pytest
from django.core import mail
from django.test import override_settings
from django.urls import reverse

from seats.services.invitations import invitation_create
from seats.services.seats import absolute_url
from tests.seats.factories import NOW, SeatAccountFactory, activate_mail_templates

pytestmark = pytest.mark.django_db


@override_settings(KONTOR_PUBLIC_URL="https://abo.example.com/")
def test_the_invitation_link_starts_with_the_public_url(django_capture_on_commit_callbacks):
    activate_mail_templates()
    account = SeatAccountFactory(subscription__offer__invitation_url="")

    with django_capture_on_commit_callbacks(execute=True):
        _invitation, code = invitation_create(account=account, email="rita@example.com", now=NOW)

    assert f"https://abo.example.com/join/{code}/" in mail.outbox[0].body
    assert "127.0.0.1" not in mail.outbox[0].body


@override_settings(KONTOR_PUBLIC_URL="https://abo.example.com")
def test_absolute_url_joins_the_setting_and_the_path():
    assert absolute_url("seats:my_access") == "https://abo.example.com" + reverse("seats:my_access")
