"""Callback signing secrets (issue 10, point 13): 256 random bits, encrypted at rest (the
column holds a Fernet token, never the secret), and rotated with a grace period in which
callbacks carry a signature with the old and one with the new secret, checked by a real
receiver that verifies signatures as a merchant would, across travelled time."""

from __future__ import annotations

import base64
import logging
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from django.urls import reverse
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from notifications import crypto
from notifications.events import EventType
from notifications.models import CallbackDelivery, CallbackEndpoint
from notifications.services import emit
from notifications.services.callbacks import (
    callback_deliveries_send_due,
    callback_endpoint_create,
    callback_endpoint_rotate_secret,
)
from notifications.signing import SECRET_PREFIX, secret_generate
from tests.notifications.receiver import Receiver

pytestmark = pytest.mark.django_db

CREATED = EventType.USER_SUBSCRIPTION_CREATED
ROTATED_AT = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
GRACE = timedelta(hours=24)


@pytest.fixture
def receiver():
    with Receiver() as receiver:
        yield receiver


def _endpoint(receiver) -> CallbackEndpoint:
    with time_machine.travel(ROTATED_AT - timedelta(days=30), tick=False):
        return callback_endpoint_create(name="CRM", url=receiver.url, event_types=[CREATED])


def _stored(endpoint_id: int) -> tuple[str, str, datetime | None]:
    """The columns as PostgreSQL has them, past the model field."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT secret, previous_secret, previous_secret_expires_at "
            "FROM notifications_callbackendpoint WHERE id = %s",
            [endpoint_id],
        )
        return cursor.fetchone()


def _emit_at(when: datetime, capture) -> CallbackDelivery:
    with time_machine.travel(when, tick=False), capture(execute=True):
        event = emit(type=CREATED, payload={"seats": 3})
    return CallbackDelivery.objects.get(event=event)


def _verifies(secret: str, request) -> bool:
    """Webhook.verify (signature and timestamp tolerance) at the time it was sent."""
    sent = datetime.fromtimestamp(int(request.headers["webhook-timestamp"]), tz=UTC)
    with time_machine.travel(sent, tick=False):
        try:
            Webhook(secret).verify(request.body, request.headers)
        except WebhookVerificationError:
            return False
    return True


def _payload(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)


# --- entropy --------------------------------------------------------------------------


def test_a_secret_is_whsec_and_the_base64_of_32_random_bytes():
    secrets = [secret_generate() for _ in range(500)]

    assert all(s.startswith("whsec_") for s in secrets)
    assert {len(_payload(s)) for s in secrets} == {32}  # 256 bits, at least 128 required
    assert len(set(secrets)) == 500
    # Every bit position takes both values: not a constant or counter in disguise.
    ored = anded = int.from_bytes(_payload(secrets[0]))
    for secret in secrets[1:]:
        value = int.from_bytes(_payload(secret))
        ored, anded = ored | value, anded & value
    assert (ored, anded) == (2**256 - 1, 0)


# --- encrypted at rest ----------------------------------------------------------------


def test_the_column_holds_a_token_that_decrypts_to_the_secret_never_the_secret(receiver):
    endpoint = _endpoint(receiver)

    stored, previous, expires = _stored(endpoint.pk)

    assert endpoint.secret.startswith("whsec_")
    assert endpoint.secret not in stored
    assert "whsec_" not in stored
    assert endpoint.secret.removeprefix("whsec_")[:12] not in stored
    assert crypto.decrypt(stored) == endpoint.secret
    # A Fernet token of the configured key (here derived from SECRET_KEY, see crypto).
    assert Fernet(crypto.configured_keys()[0]).decrypt(stored.encode()).decode() == (
        endpoint.secret
    )
    assert (previous, expires) == ("", None)
    assert CallbackEndpoint.objects.get(pk=endpoint.pk).secret == endpoint.secret


def test_every_write_stores_a_fresh_token_never_the_secret(receiver):
    endpoint = _endpoint(receiver)
    first = _stored(endpoint.pk)[0]

    endpoint.save()

    second = _stored(endpoint.pk)[0]
    assert second != first  # random IV: equal secrets are not visible
    assert crypto.decrypt(second) == endpoint.secret
    CallbackEndpoint.objects.bulk_update([endpoint], ["secret"])  # the other write path
    assert endpoint.secret not in _stored(endpoint.pk)[0]
    assert crypto.decrypt(_stored(endpoint.pk)[0]) == endpoint.secret


def test_after_rotation_both_secrets_are_stored_encrypted(receiver):
    endpoint = _endpoint(receiver)
    old = endpoint.secret

    new = callback_endpoint_rotate_secret(endpoint_id=endpoint.pk, now=ROTATED_AT)

    stored, previous, expires = _stored(endpoint.pk)
    for secret in (old, new):
        assert secret not in stored
        assert secret not in previous
    assert "whsec_" not in stored + previous
    assert (crypto.decrypt(stored), crypto.decrypt(previous)) == (new, old)
    assert expires == ROTATED_AT + GRACE


def test_with_a_different_key_the_stored_secret_is_refused_with_a_clear_message(receiver):
    with override_settings(KONTOR_ENCRYPTION_KEYS=[crypto.key_generate()]):
        endpoint = _endpoint(receiver)

    with (
        override_settings(KONTOR_ENCRYPTION_KEYS=[crypto.key_generate()]),
        pytest.raises(crypto.DecryptionError, match="cannot be decrypted with any key"),
    ):
        CallbackEndpoint.objects.get(pk=endpoint.pk)


def test_secrets_written_before_keys_were_set_stay_readable_until_rotated(receiver):
    """A first deployment without KONTOR_ENCRYPTION_KEYS encrypted with the key derived
    from SECRET_KEY; setting keys later must not make those secrets unreadable."""
    endpoint = _endpoint(receiver)  # no keys configured: the derived key
    key = crypto.key_generate()

    with override_settings(KONTOR_ENCRYPTION_KEYS=[key]):
        readable = CallbackEndpoint.objects.get(pk=endpoint.pk).secret
        call_command("rotate_encryption_key", stdout=StringIO())

    stored, _previous, _expires = _stored(endpoint.pk)
    assert readable == endpoint.secret
    assert Fernet(key).decrypt(stored.encode()).decode() == endpoint.secret


def test_without_keys_configured_the_key_is_derived_from_secret_key_by_hkdf(settings):
    settings.KONTOR_ENCRYPTION_KEYS = []
    derived = crypto.configured_keys()

    assert derived == [crypto.key_derived(settings.SECRET_KEY)]
    assert len(base64.urlsafe_b64decode(derived[0])) == 32
    settings.SECRET_KEY = settings.SECRET_KEY + "-rotated"
    assert crypto.configured_keys() != derived


# --- rotation with a grace period, checked by a verifying receiver ---------------------


def test_during_the_grace_period_a_receiver_with_either_secret_accepts_the_callback(
    receiver, django_capture_on_commit_callbacks
):
    endpoint = _endpoint(receiver)
    old = endpoint.secret
    new = callback_endpoint_rotate_secret(endpoint_id=endpoint.pk, now=ROTATED_AT)
    receiver.accept_secrets = [old]  # the merchant has not switched yet

    early = _emit_at(ROTATED_AT + timedelta(minutes=1), django_capture_on_commit_callbacks)
    late = _emit_at(ROTATED_AT + GRACE - timedelta(seconds=1), django_capture_on_commit_callbacks)

    assert [r.verified for r in receiver.requests] == [True, True]
    for delivery in (early, late):
        delivery.refresh_from_db()
        assert (delivery.status, delivery.last_status_code) == ("succeeded", 200)
    for request in receiver.requests:
        assert request.headers["webhook-signature"].count("v1,") == 2
        assert _verifies(new, request)
        assert _verifies(old, request)
        assert not _verifies(secret_generate(), request)


def test_after_the_grace_period_only_the_new_secret_verifies_and_the_old_is_erased(
    receiver, django_capture_on_commit_callbacks
):
    endpoint = _endpoint(receiver)
    old = endpoint.secret
    new = callback_endpoint_rotate_secret(endpoint_id=endpoint.pk, now=ROTATED_AT)
    receiver.accept_secrets = [old]  # the merchant missed the switch

    refused = _emit_at(ROTATED_AT + GRACE, django_capture_on_commit_callbacks)

    [request] = receiver.requests
    assert request.verified is False
    assert request.headers["webhook-signature"].count("v1,") == 1
    assert _verifies(new, request)
    assert not _verifies(old, request)
    refused.refresh_from_db()
    assert (refused.status, refused.last_status_code) == ("pending", 401)
    # Not yet erased (no sweep has run), but it no longer signs.
    assert crypto.decrypt(_stored(endpoint.pk)[1]) == old

    receiver.accept_secrets = [new]  # the merchant switches; the retry gets through
    with time_machine.travel(refused.next_attempt_at, tick=False):
        assert callback_deliveries_send_due(now=refused.next_attempt_at) == 1

    assert [r.verified for r in receiver.requests] == [False, True]
    refused.refresh_from_db()
    assert (refused.status, refused.last_status_code) == ("succeeded", 200)
    assert _stored(endpoint.pk)[1:] == ("", None)  # the sweep erased the old secret
    endpoint.refresh_from_db()
    assert (endpoint.secret, endpoint.previous_secret) == (new, "")


def test_a_retry_scheduled_in_the_grace_period_but_sent_after_it_carries_one_signature(
    receiver, django_capture_on_commit_callbacks
):
    endpoint = _endpoint(receiver)
    old = endpoint.secret
    new = callback_endpoint_rotate_secret(endpoint_id=endpoint.pk, now=ROTATED_AT)
    receiver.answer(503)  # then 200
    delivery = _emit_at(
        ROTATED_AT + GRACE - timedelta(seconds=2), django_capture_on_commit_callbacks
    )
    delivery.refresh_from_db()
    assert delivery.next_attempt_at > ROTATED_AT + GRACE

    with time_machine.travel(delivery.next_attempt_at, tick=False):
        assert callback_deliveries_send_due(now=delivery.next_attempt_at) == 1

    first, retry = receiver.requests
    assert first.headers["webhook-id"] == retry.headers["webhook-id"]
    assert (_verifies(old, first), _verifies(new, first)) == (True, True)
    assert (_verifies(old, retry), _verifies(new, retry)) == (False, True)
    assert retry.headers["webhook-signature"].count("v1,") == 1


@override_settings(KONTOR_CALLBACK_SECRET_GRACE_HOURS=2)
def test_the_grace_period_follows_the_setting_and_a_second_rotation_drops_the_oldest(
    receiver, django_capture_on_commit_callbacks
):
    endpoint = _endpoint(receiver)
    first = endpoint.secret
    second = callback_endpoint_rotate_secret(endpoint_id=endpoint.pk, now=ROTATED_AT)
    third = callback_endpoint_rotate_secret(
        endpoint_id=endpoint.pk, now=ROTATED_AT + timedelta(hours=1)
    )

    _emit_at(ROTATED_AT + timedelta(hours=2, minutes=59), django_capture_on_commit_callbacks)
    _emit_at(ROTATED_AT + timedelta(hours=3), django_capture_on_commit_callbacks)

    during, after = receiver.requests
    assert [_verifies(s, during) for s in (first, second, third)] == [False, True, True]
    assert [_verifies(s, after) for s in (first, second, third)] == [False, False, True]
    assert _stored(endpoint.pk)[2] == ROTATED_AT + timedelta(hours=3)


@override_settings(KONTOR_CALLBACK_SECRET_GRACE_HOURS=0)
def test_without_a_grace_period_rotation_keeps_no_previous_secret(receiver):
    endpoint = _endpoint(receiver)

    callback_endpoint_rotate_secret(endpoint_id=endpoint.pk, now=ROTATED_AT)

    assert _stored(endpoint.pk)[1:] == ("", None)


# --- re-encrypting with a new key ------------------------------------------------------


def test_rotate_encryption_key_reencrypts_every_secret_with_the_first_key(receiver):
    old_key, new_key = crypto.key_generate(), crypto.key_generate()
    with override_settings(KONTOR_ENCRYPTION_KEYS=[old_key]):
        endpoint = _endpoint(receiver)
        old_secret = endpoint.secret
        new_secret = callback_endpoint_rotate_secret(endpoint_id=endpoint.pk, now=ROTATED_AT)

    with override_settings(KONTOR_ENCRYPTION_KEYS=[new_key, old_key]):
        call_command("rotate_encryption_key", stdout=(out := StringIO()))
    assert out.getvalue() == "Callback endpoints re-encrypted with the first key: 1.\n"

    stored, previous, _expires = _stored(endpoint.pk)
    only_new = Fernet(new_key)
    assert only_new.decrypt(stored.encode()).decode() == new_secret
    assert only_new.decrypt(previous.encode()).decode() == old_secret
    with override_settings(KONTOR_ENCRYPTION_KEYS=[new_key]):  # the old key is gone
        reloaded = CallbackEndpoint.objects.get(pk=endpoint.pk)
    assert (reloaded.secret, reloaded.previous_secret) == (new_secret, old_secret)


def test_rotate_encryption_key_generate_prints_a_new_key_and_changes_nothing(receiver):
    endpoint = _endpoint(receiver)
    before = _stored(endpoint.pk)
    call_command("rotate_encryption_key", "--generate", stdout=(out := StringIO()))

    key = out.getvalue().strip()
    assert len(base64.urlsafe_b64decode(key)) == 32
    assert Fernet(key).decrypt(Fernet(key).encrypt(b"x")) == b"x"
    assert _stored(endpoint.pk) == before


# --- shown once: the admin, the session, the API ---------------------------------------


def _session_rows() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT session_data FROM django_session")
        return [row[0] for row in cursor.fetchall()]


def _decoded_sessions() -> list[dict]:
    from django.contrib.sessions.backends.db import SessionStore

    return [SessionStore().decode(data) for data in _session_rows()]


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


def test_until_shown_the_session_holds_the_new_secret_only_encrypted(staff_client, receiver):
    response = staff_client.post(
        reverse("admin:notifications_callbackendpoint_add"),
        {"name": "CRM", "url": receiver.url, "event_types": [CREATED], "active": "on"},
    )
    endpoint = CallbackEndpoint.objects.get()

    kept = [v for s in _decoded_sessions() for k, v in s.items() if "show_once" in k]
    assert len(kept) == 1
    assert endpoint.secret not in "".join(_session_rows()) + repr(_decoded_sessions())
    assert crypto.decrypt(kept[0]) == endpoint.secret

    shown = staff_client.get(response["Location"]).content.decode()
    assert f'value="{endpoint.secret}"' in shown
    assert not [k for s in _decoded_sessions() for k in s if "show_once" in k]
    assert endpoint.secret not in staff_client.get(response["Location"]).content.decode()


def test_after_rotation_change_page_and_list_show_both_secrets_only_masked(
    client, staff_user, receiver
):
    endpoint = _endpoint(receiver)
    old = endpoint.secret
    staff_client = client
    with time_machine.travel(ROTATED_AT, tick=True):
        staff_client.force_login(staff_user)  # staff sessions last 12 hours
        rotated = staff_client.post(_admin_url("rotate", endpoint.pk))
        new = CallbackEndpoint.objects.get().secret
        secret_page = staff_client.get(rotated["Location"]).content.decode()
        change = staff_client.get(_admin_url("change", endpoint.pk)).content.decode()
        changelist = staff_client.get(
            reverse("admin:notifications_callbackendpoint_changelist")
        ).content.decode()

    assert f'value="{new}"' in secret_page
    assert old not in secret_page
    # Berlin time: 1 March 2027, 10:00 (UTC+1), a day after the rotation.
    assert "Until March 2, 2027, 10 a.m. callbacks also carry a signature" in secret_page
    for page in (change, changelist):
        assert new not in page
        assert old not in page
        assert "whsec_" + new.removeprefix("whsec_")[:8] not in page
    assert f"<code>whsec_…{new[-4:]}</code>" in change
    assert f"<code>whsec_…{old[-4:]}</code> signs too until March 2, 2027, 10 a.m." in change

    with time_machine.travel(ROTATED_AT + GRACE, tick=True):
        staff_client.force_login(staff_user)
        expired = staff_client.get(_admin_url("change", endpoint.pk)).content.decode()
    assert "Expired, no longer signs." in expired
    assert old[-4:] + "</code>" not in expired


def _admin_url(view: str, pk: int) -> str:
    return reverse(f"admin:notifications_callbackendpoint_{view}", args=[pk])


def test_no_secret_reaches_the_log_when_creating_rotating_delivering_and_reencrypting(
    receiver, caplog, django_capture_on_commit_callbacks
):
    caplog.set_level(logging.DEBUG)
    endpoint = _endpoint(receiver)
    old = endpoint.secret
    new = callback_endpoint_rotate_secret(endpoint_id=endpoint.pk, now=ROTATED_AT)
    receiver.answer(500)  # a failed attempt and its retry log too
    delivery = _emit_at(ROTATED_AT + timedelta(minutes=1), django_capture_on_commit_callbacks)
    delivery.refresh_from_db()
    with time_machine.travel(delivery.next_attempt_at, tick=False):
        callback_deliveries_send_due(now=delivery.next_attempt_at)
    call_command("rotate_encryption_key", stdout=StringIO())

    assert len(receiver.requests) == 2
    logged = "\n".join(f"{r.getMessage()} {r.args!r}" for r in caplog.records)
    assert "deliver_callback" in logged  # the log was captured
    for secret in (old, new):
        assert secret.removeprefix("whsec_")[:12] not in logged
    assert "whsec_" not in logged


@pytest.mark.parametrize(
    ("hours", "said"),
    [
        (24, "For 24 hours callbacks, retries included, carry two signatures"),
        (1.5, "For 1.5 hours callbacks, retries included, carry two signatures"),
        (0, "A new secret replaces the current one at once"),
    ],
)
def test_the_rotation_question_states_the_grace_period(
    staff_client, receiver, settings, hours, said
):
    settings.KONTOR_CALLBACK_SECRET_GRACE_HOURS = hours
    endpoint = _endpoint(receiver)

    page = staff_client.get(_admin_url("rotate", endpoint.pk)).content.decode()

    assert said in page
    assert _stored(endpoint.pk)[1:] == ("", None)  # asking rotates nothing
