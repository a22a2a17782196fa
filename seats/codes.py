"""Invitation codes: generation, normalisation and hashing. Pure (no Django imports).

A code is 28 characters of base32 (RFC 4648 alphabet A-Z, 2-7: no 0/1/8/9, so no O/0 or
I/1 confusion) drawn with `secrets`, shown in groups of four: 28 x 5 = 140 bits from a
CSPRNG, above the 128 the spec asks for, yet short enough to type from a printed letter
("K7QX-4M2P-…"). It is URL-safe as it is, so it goes into links unescaped.

Only `code_hash(code)` (SHA-256 hex of the normalised code) is stored. The lookup is an
indexed equality on that hash: a timing difference there could at most tell an attacker
something about a *hash* prefix, which does not help them find a code (they would need a
SHA-256 preimage), so it is not a leak worth guarding. `codes_match` compares in constant
time for the places that hold a code and a hash side by side.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
LENGTH = 28
GROUP = 4
BITS = LENGTH * 5


def new_code() -> str:
    """A fresh code, grouped for reading: 'ABCD-EFGH-…' (7 groups of 4)."""
    # 20 random bytes are 32 base32 characters, each 5 uniform bits; keep 28 of them.
    raw = base64.b32encode(secrets.token_bytes(20)).decode()[:LENGTH]
    return "-".join(raw[i : i + GROUP] for i in range(0, LENGTH, GROUP))


_SEPARATORS = str.maketrans("", "", "- \t\r\n")


def normalize_code(code: str) -> str:
    """What a person may type: any case, with or without dashes and spaces."""
    return code.upper().translate(_SEPARATORS)


def code_hash(code: str) -> str:
    """The stored form: SHA-256 hex of the normalised code."""
    return hashlib.sha256(normalize_code(code).encode()).hexdigest()


def codes_match(code: str, stored_hash: str) -> bool:
    """Whether `code` is the one behind `stored_hash`, in constant time."""
    return hmac.compare_digest(code_hash(code), stored_hash)
