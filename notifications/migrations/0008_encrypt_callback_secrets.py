"""Encrypt the callback secrets stored in clear before 0007 (and, backwards, decrypt them).

Raw SQL, not the historical model: its field decrypts when reading, and these rows are
not encrypted yet. A clear secret starts with "whsec_"; a Fernet token never does, so
running either direction twice changes nothing."""

from django.db import migrations

from notifications import crypto

CLEAR_PREFIX = "whsec_"
TABLE = "notifications_callbackendpoint"


def _rows(connection) -> list[tuple[int, str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, secret, previous_secret FROM {TABLE} ORDER BY id")  # noqa: S608
        return list(cursor.fetchall())


def _write(connection, pk: int, secret: str, previous: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {TABLE} SET secret = %s, previous_secret = %s WHERE id = %s",  # noqa: S608
            [secret, previous, pk],
        )


def encrypt_secrets(apps, schema_editor) -> None:
    connection = schema_editor.connection
    for pk, secret, previous in _rows(connection):
        if secret.startswith(CLEAR_PREFIX):
            _write(connection, pk, crypto.encrypt(secret), previous)


def decrypt_secrets(apps, schema_editor) -> None:
    """Back to clear text; a previous secret in its grace period is dropped (0006 had no
    column for it)."""
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {TABLE} SET previous_secret = '', previous_secret_expires_at = NULL"  # noqa: S608
        )
    for pk, secret, _previous in _rows(connection):
        if secret and not secret.startswith(CLEAR_PREFIX):
            _write(connection, pk, crypto.decrypt(secret), "")


class Migration(migrations.Migration):
    dependencies = [("notifications", "0007_callback_secret_encrypted")]

    operations = [migrations.RunPython(encrypt_secrets, decrypt_secrets)]
