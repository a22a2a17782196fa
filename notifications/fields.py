"""A model field whose column holds only a Fernet token of the text (notifications/crypto.py).

In Python the attribute is the clear text (the signing code needs it); the database sees
only ciphertext, also in `update()` and `bulk_update()`. Tokens are random, so the field
cannot be filtered on, except for the empty string, which is stored as is (no secret).
"""

from __future__ import annotations

from django.db import models

from notifications import crypto


class EncryptedTextField(models.TextField):
    description = "Text encrypted at rest"

    def from_db_value(self, value, expression, connection):
        if not value:
            return value
        return crypto.decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if not value:
            return value
        return crypto.encrypt(value)
