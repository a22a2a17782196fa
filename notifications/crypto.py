"""Encryption at rest for values Kontor must read back in clear (callback signing
secrets): Fernet tokens (AES-128-CBC + HMAC-SHA256, from `cryptography`).

Keys come from `KONTOR_ENCRYPTION_KEYS`, a list of Fernet keys: the first encrypts, every
one decrypts (MultiFernet), so the key can be rotated: put a new key first, run
`manage.py rotate_encryption_key`, then drop the old one. Without the setting (development
and tests) one key is derived from SECRET_KEY with HKDF; production must set its own
(deploy check `kontor.E013`), or changing SECRET_KEY would make every secret unreadable.
"""

from __future__ import annotations

import base64
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

# Separates this derived key from any other use of SECRET_KEY.
_DERIVATION_INFO = b"kontor.notifications.crypto.v1"


class DecryptionError(ImproperlyConfigured):
    """A stored value none of the configured keys can read: a key was dropped too soon."""


def key_generate() -> str:
    """A new key for KONTOR_ENCRYPTION_KEYS."""
    return Fernet.generate_key().decode("ascii")


def key_derived(secret_key: str) -> str:
    """The development key: HKDF-SHA256 of SECRET_KEY, as a Fernet key."""
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_DERIVATION_INFO).derive(
        secret_key.encode()
    )
    return base64.urlsafe_b64encode(raw).decode("ascii")


def configured_keys() -> list[str]:
    """KONTOR_ENCRYPTION_KEYS, or the key derived from SECRET_KEY when none is set."""
    keys = [key.strip() for key in settings.KONTOR_ENCRYPTION_KEYS if key.strip()]
    return keys or [key_derived(settings.SECRET_KEY)]


def decryption_keys() -> list[str]:
    """The configured keys, then the key derived from SECRET_KEY (decrypt only): secrets
    written before KONTOR_ENCRYPTION_KEYS was first set stay readable until
    `manage.py rotate_encryption_key` has written them again with the first key."""
    keys = configured_keys()
    derived = key_derived(settings.SECRET_KEY)
    return keys if derived in keys else [*keys, derived]


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


def encrypt(text: str) -> str:
    """A Fernet token of `text`, made with the first key."""
    return _fernet(tuple(configured_keys())).encrypt(text.encode()).decode("ascii")


def decrypt(token: str) -> str:
    """The text of a token made with any configured key (or the development key)."""
    try:
        return _fernet(tuple(decryption_keys())).decrypt(token.encode("ascii")).decode()
    except (InvalidToken, UnicodeEncodeError) as error:
        raise DecryptionError(
            "A stored secret cannot be decrypted with any key of KONTOR_ENCRYPTION_KEYS "
            "(was a key removed before `manage.py rotate_encryption_key` ran?)."
        ) from error


def key_problems(keys: list[str]) -> list[str]:
    """What is wrong with these keys (empty: nothing). Never quotes a key."""
    problems = []
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key.strip())
        except (ValueError, TypeError):
            problems.append(
                f"KONTOR_ENCRYPTION_KEYS: key {position} is not a Fernet key (32 url-safe "
                "base64-encoded bytes); make one with `manage.py rotate_encryption_key "
                "--generate`."
            )
    return problems
