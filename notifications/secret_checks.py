"""System checks for the encryption key of callback secrets (issue 10, point 13).

`kontor.E013` (deploy): production sets KONTOR_ENCRYPTION_KEYS. Without it the key is
derived from SECRET_KEY, so rotating SECRET_KEY (or a leak of it) would also give away or
lose every callback secret. `kontor.E014` (always): every key listed is a Fernet key, so a
typo stops `runserver`/`qcluster` instead of the first callback.
"""

from __future__ import annotations

from django.conf import settings
from django.core import checks

from notifications import crypto

_HINT = "See docs/hardening.md, 'Secrets'."


@checks.register(checks.Tags.security, deploy=True)
def check_encryption_keys_set(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    if any(key.strip() for key in settings.KONTOR_ENCRYPTION_KEYS):
        return []
    return [
        checks.Error(
            "KONTOR_ENCRYPTION_KEYS is not set: callback secrets are encrypted with a key "
            "derived from SECRET_KEY, which is for development only.",
            hint=_HINT,
            id="kontor.E013",
        )
    ]


@checks.register(checks.Tags.security)
def check_encryption_keys_valid(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    return [
        checks.Error(problem, hint=_HINT, id="kontor.E014")
        for problem in crypto.key_problems(list(settings.KONTOR_ENCRYPTION_KEYS))
    ]
