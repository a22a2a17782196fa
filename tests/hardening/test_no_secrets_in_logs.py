"""No secret reaches a log: every flow that handles one runs while all logging (root
logger at DEBUG) is captured, then the captured lines and every log-like table (the
audit log, Django's admin log, customer activity, the seats log, the events' payloads)
and the admin's mail log pages are searched for each secret value the flows produced or were given.

The secrets: a raw API key, a callback endpoint's signing secret before and after
rotation and a signature made with it, portal passwords (right and wrong), a password
reset token, an invitation code, a card number, an IBAN and the gateway tokens of both
payment methods. (No OTP secret: two-factor login is not on this branch.)
"""

from __future__ import annotations

import json
import logging
import re

import pytest
from auditlog.models import LogEntry
from django.contrib.admin.models import LogEntry as AdminLogEntry
from django.core import mail
from django.core.serializers.json import DjangoJSONEncoder
from django.urls import reverse
from standardwebhooks.webhooks import Webhook

from api.services import api_key_create, api_key_revoke
from notifications.events import EventType
from notifications.models import CallbackEndpoint, Event, MailMessage
from notifications.services import emit
from notifications.services.callbacks import (
    callback_endpoint_create,
    callback_endpoint_rotate_secret,
)
from seats.models import LogEntry as SeatsLogEntry
from seats.services.invitations import invitation_create, invitation_redeem
from subscriptions.models import Activity, PaymentMethod, User
from subscriptions.roles import ADMINISTRATOR, CUSTOMER_SUPPORT
from subscriptions.services.payments import payment_method_add, payment_method_remove
from tests.billing.factories import staff_member
from tests.notifications.receiver import Receiver
from tests.seats.factories import NOW, SeatAccountFactory, UserFactory, activate_mail_templates
from tests.subscriptions.test_portal_pages import make_customer

pytestmark = pytest.mark.django_db

PORTAL_PASSWORD = "Portal-Secret-Pw-4711"
NEW_PASSWORD = "Fresh-Secret-Pw-0815"
WRONG_PASSWORD = "Wrong-Secret-Pw-9999"
CARD_NUMBER = "4242424242424242"
IBAN = "DE62370400440532013001"


@pytest.fixture
def receiver():
    with Receiver() as receiver:
        yield receiver


def _api_key_used_and_revoked(client, admin) -> list[str]:
    api_key, raw = api_key_create(name="CRM", scopes=["read"], created_by=admin)
    response = client.get("/api/v1/customers", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 200
    api_key_revoke(api_key=api_key)
    assert client.get("/api/v1/customers", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401
    return [raw]


def _callback_signed_after_rotation(receiver, capture) -> list[str]:
    endpoint = callback_endpoint_create(
        name="CRM", url=receiver.url, event_types=[EventType.USER_SUBSCRIPTION_CREATED]
    )
    first = endpoint.secret
    rotated = callback_endpoint_rotate_secret(endpoint_id=endpoint.pk)
    with capture(execute=True):
        emit(type=EventType.USER_SUBSCRIPTION_CREATED, payload={"seats": 3})
    receiver.wait_for(1)
    request = receiver.requests[0]
    Webhook(rotated).verify(request.body, request.headers)  # signed with the new secret
    signature = request.headers["webhook-signature"]
    return [first, first.removeprefix("whsec_"), rotated, rotated.removeprefix("whsec_"), signature]


def _portal_login_and_password_reset(client, capture) -> list[str]:
    user = User.objects.create_user(email="anna@example.com", password=PORTAL_PASSWORD)
    assert client.post("/portal/login/", {"username": user.email, "password": WRONG_PASSWORD})
    response = client.post("/portal/login/", {"username": user.email, "password": PORTAL_PASSWORD})
    assert response.status_code == 302
    client.logout()
    with capture(execute=True):
        client.post("/portal/password/reset/", {"email": user.email})
    (link,) = re.findall(r"http://testserver(/portal/password/reset/\S+/)", mail.outbox[-1].body)
    token = link.rstrip("/").rsplit("/", 1)[1]
    form_url = client.get(link)["Location"]
    response = client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    return [PORTAL_PASSWORD, NEW_PASSWORD, WRONG_PASSWORD, token, user.password]


def _invitation_redeemed(capture) -> list[str]:
    activate_mail_templates()
    account = SeatAccountFactory()
    with capture(execute=True):
        _invitation, code = invitation_create(account=account, email="new@example.com", now=NOW)
    assert code in mail.outbox[-1].body
    assert invitation_redeem(code=code, user=UserFactory(email="new@example.com"), now=NOW)
    return [code]


def _payment_methods_added_and_removed(capture) -> list[str]:
    customer = make_customer("pay@example.com")
    card = payment_method_add(
        customer=customer,
        kind="card",
        details={"number": "4242 4242 4242 4242", "exp_month": "12", "exp_year": "2031",
                 "cvc": "123"},
    )  # fmt: skip
    sepa = payment_method_add(
        customer=customer,
        kind="sepa_debit",
        details={"iban": "DE62 3704 0044 0532 0130 01", "account_holder": "Anna Schmidt"},
    )
    with capture(execute=True):
        payment_method_remove(payment_method=card)
        payment_method_remove(payment_method=sepa)
    assert PaymentMethod.objects.filter(status=PaymentMethod.Status.REMOVED).count() == 2
    return [CARD_NUMBER, IBAN, card.token, sepa.token]


def _mail_log_pages(client) -> str:
    """The admin's mail log as Customer support reads it (the stored context is shown)."""
    client.force_login(staff_member(CUSTOMER_SUPPORT, "support@kontor.example"))
    pages = [client.get(reverse("admin:notifications_mailmessage_changelist"))]
    for message in MailMessage.objects.all():
        pages.append(
            client.get(reverse("admin:notifications_mailmessage_change", args=[message.pk]))
        )
    assert [page.status_code for page in pages] == [200] * len(pages)
    assert "user_invited" in {m.template_type for m in MailMessage.objects.all()}
    return "\n".join(page.content.decode() for page in pages)


def _everything_logged(caplog) -> str:
    """The captured log lines and every table that is a log of what happened."""
    tables = [
        LogEntry.objects.values(),
        AdminLogEntry.objects.values(),
        Activity.objects.values(),
        SeatsLogEntry.objects.values(),
        Event.objects.values("type", "payload"),
    ]
    dumped = json.dumps([list(rows) for rows in tables], cls=DjangoJSONEncoder)
    return caplog.text + "\n" + dumped


def test_no_secret_reaches_a_log_or_the_audit_log(
    client, caplog, receiver, django_capture_on_commit_callbacks
):
    caplog.set_level(logging.DEBUG)  # the root logger: every logger that propagates
    admin = staff_member(ADMINISTRATOR, "admin@kontor.example")
    secrets = [
        *_api_key_used_and_revoked(client, admin),
        *_callback_signed_after_rotation(receiver, django_capture_on_commit_callbacks),
        *_portal_login_and_password_reset(client, django_capture_on_commit_callbacks),
        *_invitation_redeemed(django_capture_on_commit_callbacks),
        *_payment_methods_added_and_removed(django_capture_on_commit_callbacks),
    ]

    logged = _everything_logged(caplog) + _mail_log_pages(client)

    assert len(secrets) == 16
    assert "Sandbox detached …" in caplog.text  # the capture saw the flows' log lines
    assert LogEntry.objects.filter(content_type__model="apikey").count() == 2
    assert all(len(secret) >= 16 for secret in secrets), "too short to search for"
    assert [secret for secret in secrets if secret in logged] == []


def test_the_scenario_is_in_the_audit_log_without_its_secrets(
    client, caplog, receiver, django_capture_on_commit_callbacks
):
    """The search above is only meaningful if the flows were logged at all."""
    _callback_signed_after_rotation(receiver, django_capture_on_commit_callbacks)
    _payment_methods_added_and_removed(django_capture_on_commit_callbacks)

    endpoint = CallbackEndpoint.objects.get()
    rotation = LogEntry.objects.get_for_object(endpoint).get(action=LogEntry.Action.UPDATE)
    # The secrets themselves (`secret`, `previous_secret`) are left out; their times stay.
    assert set(rotation.changes) == {"secret_rotated_at", "previous_secret_expires_at"}
    methods = LogEntry.objects.filter(
        content_type__model="paymentmethod", action=LogEntry.Action.CREATE
    )
    assert methods.count() == 2
    for entry in methods:
        assert "token" not in entry.changes
        assert entry.changes["label"][1] in {"Visa •••• 4242", "SEPA DE62 •••• 3001"}
