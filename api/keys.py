"""API keys as text: making one, hashing it, reading one back. Pure functions.

A key is `kontor_<prefix>_<secret>`: an 8-character prefix (40 random bits, shown in the
admin to tell keys apart, unique, used to find the row) and a 43-character secret (256
random bits from `secrets`). The database keeps the SHA-256 of the whole key: a key this
random needs no slow hash, and a stolen table gives no usable key."""

from __future__ import annotations

import hashlib
import hmac
import secrets

PREFIX_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
PREFIX_LENGTH = 8
SECRET_BYTES = 32  # 256 bits


def key_new() -> tuple[str, str]:
    """A new (key, prefix)."""
    prefix = "".join(secrets.choice(PREFIX_ALPHABET) for _ in range(PREFIX_LENGTH))
    secret = secrets.token_urlsafe(SECRET_BYTES)
    return f"kontor_{prefix}_{secret}", prefix


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def key_prefix(key: str) -> str | None:
    """The prefix of a well-formed key, else None."""
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != "kontor" or len(parts[1]) != PREFIX_LENGTH or not parts[2]:
        return None
    return parts[1]


def key_matches(key: str, hashed: str) -> bool:
    return hmac.compare_digest(key_hash(key), hashed)
