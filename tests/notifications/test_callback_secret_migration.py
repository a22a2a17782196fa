"""The data migration that encrypts callback secrets stored in clear before issue 10,
run for real on PostgreSQL (forwards from 0006, backwards to it) inside the test's
transaction, which rolls the schema back afterwards."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from notifications import crypto
from notifications.signing import secret_generate

pytestmark = pytest.mark.django_db

BEFORE = ("notifications", "0006_payment_events_and_reminder")


def _migrate(target: tuple[str, str]) -> None:
    executor = MigrationExecutor(connection)
    executor.migrate([target])


def _latest() -> tuple[str, str]:
    [leaf] = MigrationExecutor(connection).loader.graph.leaf_nodes("notifications")
    return leaf


def _secrets() -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, secret FROM notifications_callbackendpoint")
        return dict(cursor.fetchall())


def test_existing_clear_secrets_are_encrypted_forwards_and_decrypted_backwards():
    _migrate(BEFORE)
    clear = {"CRM": secret_generate(), "Shop": secret_generate()}
    with connection.cursor() as cursor:
        for name, secret in clear.items():
            cursor.execute(
                "INSERT INTO notifications_callbackendpoint "
                "(public_id, name, url, secret, event_types, active, created_at) "
                "VALUES (gen_random_uuid(), %s, 'https://example.com/hook', %s, '[]', true, now())",
                [name, secret],
            )

    _migrate(_latest())

    stored = _secrets()
    for name, secret in clear.items():
        assert secret not in stored[name]
        assert not stored[name].startswith("whsec_")
        assert crypto.decrypt(stored[name]) == secret

    _migrate(BEFORE)

    assert _secrets() == clear
