"""Coupon codes from templates: pure functions, no Django (tested with Hypothesis).

A template is literal text with ``#`` placeholders, one character each. Every code of a
template has the template's length, keeps its literal text and fills only the
placeholders:

- **numeric** codes count up from ``range_start``: the number, zero-padded to the
  number of placeholders, fills them left to right. The placeholders need not be
  contiguous: all ``#`` together are the digits of one number (``A#-#`` with 12 gives
  ``A1-2``). ``coupon_##``, quantity 5, range start 87 gives ``coupon_87`` …
  ``coupon_91``. Numeric codes are guessable by design (the merchant chose a sequence);
  the unguessability rule below is for alphanumeric codes only.
- **alphanumeric** codes are random (``secrets``) over an alphabet without the
  characters people confuse: no 0/O, 1/I/l, and no lower case at all, so a code read
  out or typed from paper is either right or unknown. ``#`` cannot be escaped: a
  template's ``#`` is always a placeholder.

**Unguessable** means: someone who tries one random code of the template's shape hits
a valid one with probability at most one in a million, i.e. the code space
(``len(ALPHABET) ** placeholders``) is at least ``quantity * 10**6``. With 32 symbols,
4 placeholders suffice for 1 code, 6 for 1,000, 8 for 1,000,000.

Codes are compared case-insensitively (the database's unique index is on ``upper(code)``),
so uniqueness here is uniqueness of the upper-cased code.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Callable, Iterable
from typing import Literal

Charset = Literal["numeric", "alphanumeric"]

PLACEHOLDER = "#"
DIGITS = "0123456789"
# 8 digits and 24 capitals: no 0, 1, I, O (and no lower case, so no l). 32 symbols, so
# one random byte masked with 31 picks a symbol without bias.
ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
GUESS_FACTOR = 10**6
# How often colliding codes are drawn again before giving up (each round redraws only
# the colliding ones; with a code space of at least quantity * 10**6 the first round
# practically never collides).
MAX_ROUNDS = 10

_BYTE_TO_SYMBOL = bytes(ord(ALPHABET[b & 31]) for b in range(256))


def placeholder_count(template: str) -> int:
    return template.count(PLACEHOLDER)


def min_alphanumeric_placeholders(quantity: int) -> int:
    """The fewest placeholders that keep `quantity` random codes unguessable."""
    needed = quantity * GUESS_FACTOR
    count = max(1, math.ceil(math.log(needed, len(ALPHABET))))
    while len(ALPHABET) ** count < needed:  # guard float rounding of the logarithm
        count += 1
    while count > 1 and len(ALPHABET) ** (count - 1) >= needed:
        count -= 1
    return count


def check_template(template: str, charset: Charset, quantity: int, range_start: int = 0) -> None:
    """Raise ValueError saying why `quantity` codes cannot come from `template`."""
    if charset not in ("numeric", "alphanumeric"):
        raise ValueError(f"Unknown charset {charset!r}: use 'numeric' or 'alphanumeric'.")
    if quantity < 1:
        raise ValueError("The quantity must be at least 1.")
    if range_start < 0:
        raise ValueError("The range start cannot be negative.")
    places = placeholder_count(template)
    if places == 0:
        raise ValueError("The template needs at least one # (one # is one character of the code).")
    if charset == "numeric":
        last = range_start + quantity - 1
        if len(str(last)) > places:
            raise ValueError(
                f"The template has {places} # but the last code needs the number {last}, "
                f"which has {len(str(last))} digits: add # or lower the range start or quantity."
            )
        return
    needed = min_alphanumeric_placeholders(quantity)
    if places < needed:
        raise ValueError(
            f"{quantity} random codes need at least {needed} # to be unguessable "
            f"(the template has {places}): add # or lower the quantity."
        )


def _filler(template: str) -> Callable[[str], str]:
    """A function that puts a string of placeholder characters into the template."""
    first = template.find(PLACEHOLDER)
    places = placeholder_count(template)
    if template[first : first + places] == PLACEHOLDER * places:
        head, tail = template[:first], template[first + places :]
        return lambda chars: f"{head}{chars}{tail}"
    pattern = template.replace("{", "{{").replace("}", "}}").replace(PLACEHOLDER, "{}")
    return lambda chars: pattern.format(*chars)


def _random_symbols(count: int, length: int) -> list[str]:
    """`count` random strings of `length` symbols of ALPHABET (one CSPRNG call)."""
    raw = secrets.token_bytes(count * length).translate(_BYTE_TO_SYMBOL).decode("ascii")
    return [raw[i : i + length] for i in range(0, count * length, length)]


def _numeric(template: str, quantity: int, range_start: int) -> list[str]:
    fill = _filler(template)
    places = placeholder_count(template)
    return [fill(str(n).zfill(places)) for n in range(range_start, range_start + quantity)]


def _alphanumeric(template: str, quantity: int, avoid: Callable[[list[str]], Iterable[str]]):
    """`quantity` random codes, unique (upper-cased) among themselves and not among those
    `avoid(candidates)` names; only the rejected ones are drawn again."""
    fill = _filler(template)
    places = placeholder_count(template)
    chosen: dict[str, str] = {}  # upper-cased -> code
    for _round in range(MAX_ROUNDS):
        missing = quantity - len(chosen)
        if missing == 0:
            break
        fresh: dict[str, str] = {}
        for symbols in _random_symbols(missing, places):
            code = fill(symbols)
            key = code.upper()
            if key not in chosen:
                fresh.setdefault(key, code)
        taken = {code.upper() for code in avoid(list(fresh.values()))}
        chosen.update((key, code) for key, code in fresh.items() if key not in taken)
    if len(chosen) < quantity:
        raise ValueError("Could not draw enough unique codes: add # to the template.")
    return list(chosen.values())


def _nothing_taken(codes: list[str]) -> Iterable[str]:
    return ()


def expand_template(
    template: str, charset: Charset, quantity: int, range_start: int = 0
) -> list[str]:
    """`quantity` codes from `template`: numeric in order from `range_start`,
    alphanumeric random and unique. ValueError (with the reason) when they cannot fit."""
    check_template(template, charset, quantity, range_start)
    if charset == "numeric":
        return _numeric(template, quantity, range_start)
    return _alphanumeric(template, quantity, _nothing_taken)


def fresh_codes(
    template: str,
    quantity: int,
    taken: Callable[[list[str]], Iterable[str]],
) -> list[str]:
    """`quantity` new random alphanumeric codes that `taken` does not report as existing.

    `taken(candidates)` returns those of the candidates that already exist (the service
    asks the database in one query); only those are drawn again. The template must leave
    room (`check_template`) for the campaign's total quantity; that is the caller's job,
    since only it knows how many codes the campaign already has.
    """
    if quantity < 1:
        raise ValueError("The quantity must be at least 1.")
    if placeholder_count(template) == 0:
        raise ValueError("The template needs at least one # (one # is one character of the code).")
    return _alphanumeric(template, quantity, taken)


def literal_code(template: str, quantity: int) -> str | None:
    """A template without # is one literal code (a shared code such as "XYZ-COMPANY",
    used by many through its redemption quantity): the code itself for quantity 1, else
    None (the template must then be expanded, and `check_template` explains why not)."""
    if quantity == 1 and PLACEHOLDER not in template and template.strip():
        return template
    return None


def normalize(code: str) -> str:
    """What customers type, in the form codes are compared in (upper case, no spaces
    around it)."""
    return code.strip().upper()
