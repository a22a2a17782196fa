"""API keys in the admin: created through the service, shown once, revoked by an action."""

from __future__ import annotations

import pytest
from django.urls import reverse

from api.keys import key_hash
from api.models import ApiKey
from tests.api.conftest import ApiClient, make_key

pytestmark = pytest.mark.django_db


def test_staff_create_a_key_and_see_it_exactly_once(client, staff_user):
    client.force_login(staff_user)
    response = client.post(
        reverse("admin:api_apikey_add"), {"name": "CRM", "scopes": ["read", "seats"]}
    )
    api_key = ApiKey.objects.get()
    assert response.url == reverse("admin:api_apikey_key", args=[api_key.pk])
    page = client.get(response.url).content.decode()
    key = page.split('id="api-key" class="vTextField" readonly value="')[1].split('"')[0]
    assert api_key.hashed_key == key_hash(key)
    assert (api_key.scopes, api_key.created_by) == (["read", "seats"], staff_user)
    again = client.get(response.url).content.decode()
    assert key not in again
    assert "was shown once" in again
    assert ApiClient(key).get("/api/v1/customers").status_code == 200


def test_a_key_without_scopes_is_refused_in_the_admin(client, staff_user):
    client.force_login(staff_user)
    response = client.post(reverse("admin:api_apikey_add"), {"name": "CRM", "scopes": []})
    assert response.status_code == 200
    assert not ApiKey.objects.exists()


def test_revoking_in_the_admin_stops_the_key(client, staff_user):
    key = make_key("read")
    client.force_login(staff_user)
    client.post(
        reverse("admin:api_apikey_changelist"),
        {"action": "revoke_selected", "_selected_action": [ApiKey.objects.get().pk]},
    )
    assert ApiKey.objects.get().revoked_at is not None
    assert ApiClient(key).get("/api/v1/customers").status_code == 401
