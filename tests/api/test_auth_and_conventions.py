"""Keys, scopes, the rate limit, idempotency and the problem format."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import timezone

from api.keys import key_hash
from api.models import ApiKey, IdempotencyRecord
from api.services import api_key_revoke, idempotency_records_expire
from seats.models import Invitation
from subscriptions.models import Customer
from tests.api.conftest import ApiClient, make_key, problem

pytestmark = pytest.mark.django_db


def test_a_request_without_a_key_is_401_problem():
    body = problem(ApiClient(None).get("/api/v1/customers"), 401, "unauthenticated")
    assert body["instance"] == "/api/v1/customers"


def test_an_unknown_or_malformed_key_is_401():
    problem(ApiClient("kontor_abcdefgh_nope").get("/api/v1/customers"), 401, "unauthenticated")
    problem(ApiClient("garbage").get("/api/v1/customers"), 401, "unauthenticated")


def test_a_revoked_key_is_401():
    key = make_key("read")
    api_key_revoke(api_key=ApiKey.objects.get())
    problem(ApiClient(key).get("/api/v1/customers"), 401, "unauthenticated")


def test_a_key_without_the_scope_is_403_and_changes_nothing():
    client = ApiClient(make_key("read"))
    body = problem(client.post("/api/v1/customers", {"name": "Ada"}), 403, "scope_missing")
    assert "customers" in body["detail"]
    assert not Customer.objects.exists()
    assert client.get("/api/v1/customers").status_code == 200


def test_a_write_scope_does_not_allow_reading():
    problem(ApiClient(make_key("seats")).get("/api/v1/customers"), 403, "scope_missing")


def test_keys_are_stored_hashed_and_record_their_last_use():
    key = make_key("read")
    api_key = ApiKey.objects.get()
    assert key.startswith(f"kontor_{api_key.prefix}_")
    assert api_key.hashed_key == key_hash(key)
    assert key not in str(ApiKey.objects.values().get())
    assert api_key.last_used_at is None
    ApiClient(key).get("/api/v1/customers")
    api_key.refresh_from_db()
    assert timezone.now() - api_key.last_used_at < timedelta(seconds=30)


def test_create_api_key_prints_the_key_once():
    out, err = StringIO(), StringIO()
    call_command("create_api_key", name="Shop", scopes="read,seats", stdout=out, stderr=err)
    key = out.getvalue().strip()
    api_key = ApiKey.objects.get()
    assert api_key.name == "Shop"
    assert api_key.scopes == ["read", "seats"]
    assert api_key.hashed_key == key_hash(key)
    assert "not shown again" in err.getvalue()


def test_create_api_key_refuses_an_unknown_scope_and_creates_nothing():
    with pytest.raises(CommandError, match="Unknown scope: admin"):
        call_command("create_api_key", name="Shop", scopes="read,admin", stdout=StringIO())
    assert not ApiKey.objects.exists()


@override_settings(KONTOR_API_RATE_LIMIT="3/m")
def test_the_rate_limit_answers_429_with_retry_after_per_key():
    client, other = ApiClient(make_key("read")), ApiClient(make_key("read"))
    assert [client.get("/api/v1/customers").status_code for _ in range(3)] == [200] * 3
    response = client.get("/api/v1/customers")
    problem(response, 429, "rate_limited")
    assert 1 <= int(response["Retry-After"]) <= 60
    assert other.get("/api/v1/customers").status_code == 200


def test_validation_errors_name_the_field(api):
    body = problem(api.post("/api/v1/customers", {"name": ""}), 422, "invalid_request")
    assert body["field"] == "body.name"


def test_an_invalid_cursor_is_400(api):
    body = problem(api.get("/api/v1/customers?cursor=forged"), 400, "invalid_cursor")
    assert body["field"] == "query.cursor"


def test_cursor_pages_walk_every_item_once(api):
    for n in range(5):
        Customer.objects.create(name=f"C{n}")
    names, cursor = [], None
    while True:
        url = "/api/v1/customers?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = api.get(url).json()
        names += [item["name"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert names == ["C4", "C3", "C2", "C1", "C0"]


# --- idempotency -------------------------------------------------------------------------


def test_the_same_key_and_body_replay_the_first_response(api, world):
    url = f"/api/v1/subscriptions/{world.subscription.public_id}/seats/invitations"
    first = api.post(url, {"email": "ida@example.com"}, HTTP_IDEMPOTENCY_KEY="k-1")
    again = api.post(url, {"email": "ida@example.com"}, HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Invitation.objects.filter(email="ida@example.com").count() == 1


def test_the_same_key_with_another_body_is_409_and_changes_nothing(api, world):
    url = f"/api/v1/subscriptions/{world.subscription.public_id}/seats/invitations"
    api.post(url, {"email": "ida@example.com"}, HTTP_IDEMPOTENCY_KEY="k-1")
    body = problem(
        api.post(url, {"email": "other@example.com"}, HTTP_IDEMPOTENCY_KEY="k-1"),
        409,
        "idempotency_key_reused",
    )
    assert body["field"] == "header.Idempotency-Key"
    assert not Invitation.objects.filter(email="other@example.com").exists()


def test_a_refusal_is_replayed_too_but_a_server_side_failure_is_not_kept(api, world):
    url = f"/api/v1/subscriptions/{world.subscription.public_id}/seats/invitations"
    problem(api.post(url, {"email": "bad"}, HTTP_IDEMPOTENCY_KEY="k-2"), 422, "invalid_request")
    assert IdempotencyRecord.objects.get(key="k-2").response_status == 422
    problem(ApiClient(make_key("read")).post(url, {"email": "x@example.com"},
            HTTP_IDEMPOTENCY_KEY="k-3"), 403, "scope_missing")  # fmt: skip
    assert not IdempotencyRecord.objects.filter(key="k-3").exists()


def test_idempotency_records_expire_after_24_hours(api, world):
    url = f"/api/v1/subscriptions/{world.subscription.public_id}/seats/invitations"
    api.post(url, {"email": "ida@example.com"}, HTTP_IDEMPOTENCY_KEY="k-1")
    assert idempotency_records_expire(now=timezone.now() + timedelta(hours=23)) == 0
    assert idempotency_records_expire(now=timezone.now() + timedelta(hours=25)) == 1
    assert not IdempotencyRecord.objects.exists()


def test_an_empty_idempotency_key_is_400(api):
    problem(
        api.post("/api/v1/customers", {"name": "Ada"}, HTTP_IDEMPOTENCY_KEY=" "),
        400,
        "idempotency_key_invalid",
    )
    assert not Customer.objects.exists()


def test_the_schema_and_docs_are_served():
    client = ApiClient(None)
    schema = client.get("/api/v1/openapi.json").json()
    assert schema["openapi"].startswith("3.")
    invite = schema["paths"]["/api/v1/subscriptions/{subscription_id}/seats/invitations"]
    assert {"201", "401", "403", "409", "422", "429"} <= set(invite["post"]["responses"])
    assert any(p["name"] == "Idempotency-Key" for p in invite["post"]["parameters"])
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content


def test_the_hourly_schedule_is_declared():
    from notifications.scheduling import declared_tasks

    names = {task.name: task for task in declared_tasks()}
    assert names["api.expire_idempotency_records"].func == "api.tasks.expire_idempotency_records"


def test_the_schema_has_no_duplicate_keys():
    """Swagger UI refuses a schema with a key twice (e.g. a status as int and str)."""
    import json

    def unique(pairs):
        keys = [key for key, _value in pairs]
        assert len(keys) == len(set(keys)), keys
        return dict(pairs)

    json.loads(ApiClient(None).get("/api/v1/openapi.json").content, object_pairs_hook=unique)
