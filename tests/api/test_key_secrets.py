"""Secrets of the API (issue 10, point 13): a key carries 256 random bits, the database
holds only its SHA-256 (also no clear key in the session that shows it once), and the API
never hands out a callback signing secret."""

from __future__ import annotations

import base64
import json

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection
from django.urls import reverse

from api.keys import PREFIX_ALPHABET, key_hash, key_new, key_prefix
from api.models import ApiKey
from api.services import api_key_create
from notifications import crypto
from notifications.services.callbacks import (
    callback_endpoint_create,
    callback_endpoint_rotate_secret,
)
from tests.api.conftest import ApiClient, make_key

pytestmark = pytest.mark.django_db


def _secret_bytes(key: str) -> bytes:
    secret = key.split("_", 2)[2]
    return base64.urlsafe_b64decode(secret + "=" * (-len(secret) % 4))


def test_a_key_carries_256_random_bits_besides_its_40_bit_prefix():
    keys = [key_new() for _ in range(500)]

    assert {len(_secret_bytes(key)) for key, _prefix in keys} == {32}
    assert all(key_prefix(key) == prefix for key, prefix in keys)
    assert all(len(p) == 8 and set(p) <= set(PREFIX_ALPHABET) for _k, p in keys)
    assert len({key for key, _prefix in keys}) == 500
    ored, anded = 0, 2**256 - 1
    for key, _prefix in keys:
        value = int.from_bytes(_secret_bytes(key))
        ored, anded = ored | value, anded & value
    assert (ored, anded) == (2**256 - 1, 0)  # every bit varies


def test_the_row_holds_only_the_sha256_of_the_key():
    api_key, key = api_key_create(name="CRM", scopes=["read"])

    with connection.cursor() as cursor:
        cursor.execute("SELECT row_to_json(k)::text FROM api_apikey k WHERE id = %s", [api_key.pk])
        [row] = cursor.fetchone()
    secret = key.split("_", 2)[2]
    assert key not in row
    assert secret[:10] not in row
    assert json.loads(row)["hashed_key"] == key_hash(key)
    assert ApiClient(key).get("/api/v1/customers").status_code == 200


def test_until_shown_the_session_holds_the_new_key_only_encrypted(client, staff_user):
    client.force_login(staff_user)
    response = client.post(reverse("admin:api_apikey_add"), {"name": "CRM", "scopes": ["read"]})
    with connection.cursor() as cursor:
        cursor.execute("SELECT session_data FROM django_session")
        stored = [row[0] for row in cursor.fetchall()]
    decoded = [SessionStore().decode(data) for data in stored]
    [kept] = [v for session in decoded for k, v in session.items() if "show_once" in k]

    page = client.get(response.url).content.decode()

    key = page.split('id="api-key" class="vTextField" readonly value="')[1].split('"')[0]
    assert ApiKey.objects.get().hashed_key == key_hash(key)
    assert key not in "".join(stored) + repr(decoded)
    assert crypto.decrypt(kept) == key
    assert key not in client.get(response.url).content.decode()


def test_the_api_never_returns_a_callback_secret():
    endpoint = callback_endpoint_create(
        name="CRM", url="https://127.0.0.1/hooks", event_types=["user_subscription.created"]
    )
    old = endpoint.secret
    new = callback_endpoint_rotate_secret(endpoint_id=endpoint.pk)  # both sign now

    response = ApiClient(make_key("read")).get("/api/v1/callbacks/endpoints")

    assert response.status_code == 200
    assert [e["name"] for e in response.json()] == ["CRM"]
    for text in (old, new, old.removeprefix("whsec_")[:12], new.removeprefix("whsec_")[:12]):
        assert text not in response.content.decode()
    assert "whsec_" not in response.content.decode()
