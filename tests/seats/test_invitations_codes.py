"""Invitation codes (seats.codes): pure functions, no database."""

import hashlib
import re

from hypothesis import given
from hypothesis import strategies as st

from seats.codes import BITS, code_hash, codes_match, new_code, normalize_code


def test_a_code_has_at_least_128_bits_in_groups_of_four():
    code = new_code()

    assert BITS >= 128
    assert re.fullmatch(r"[A-Z2-7]{4}(-[A-Z2-7]{4}){6}", code)


def test_codes_do_not_repeat():
    assert len({new_code() for _ in range(10_000)}) == 10_000


def test_the_hash_is_sha256_hex_of_the_normalised_code():
    assert code_hash("abcd-efgh") == hashlib.sha256(b"ABCDEFGH").hexdigest()
    assert len(code_hash(new_code())) == 64


def test_a_code_typed_by_hand_matches_its_hash():
    code = new_code()

    assert codes_match(code.lower().replace("-", " "), code_hash(code))
    assert not codes_match(new_code(), code_hash(code))


@given(st.text(max_size=60))
def test_normalising_is_idempotent_and_hashing_follows_it(text):
    assert normalize_code(normalize_code(text)) == normalize_code(text)
    assert code_hash(text) == code_hash(normalize_code(text))
