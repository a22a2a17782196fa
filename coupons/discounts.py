"""Discount arithmetic of a coupon: pure, no Django (tested exhaustively).

Given the amounts of the lines of a purchase (one per product), a coupon's discount
and the products it targets, `line_discounts` says how much comes off each line:

- **percent**: each targeted line loses ``amount * percent / 100``, rounded half up to
  the currency's minor unit, once. At most 100 %, so a line never goes below zero; a
  100 % coupon makes the targeted lines free.
- **amount**: the amount comes off the targeted lines together, at most their total (a
  10 EUR coupon on a 6 EUR purchase makes it free, never negative). It is spread over
  the targeted lines in proportion to their amounts, because lines may carry different
  tax rates and each line's tax must follow its own discount. The shares are rounded by
  the largest-remainder method: each share is cut to the minor unit, then the cents left
  over go, one each, to the lines with the largest cut-off remainders (the earlier line
  on a tie). So the shares add up to exactly the discount, no line gets more than its
  amount, and each share is rounded once. (Rounding every share half up cannot promise
  both: four 0.01 lines and a 0.02 discount would give away 0.04.)

Rounding is the rule of `catalog.money.round_money` (half up to the minor unit); it is
written out here with the minor unit's decimal places, so this module needs nothing but
the standard library.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Mapping
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Literal, TypeVar

K = TypeVar("K", bound=Hashable)
DiscountType = Literal["percent", "amount"]

HUNDRED = Decimal(100)


def _unit(places: int) -> Decimal:
    return Decimal(1).scaleb(-places)


def round_half_up(amount: Decimal, places: int = 2) -> Decimal:
    return amount.quantize(_unit(places), rounding=ROUND_HALF_UP)


def line_discounts(
    lines: Mapping[K, Decimal],
    *,
    discount_type: DiscountType,
    value: Decimal,
    targets: Collection[K] = (),
    places: int = 2,
) -> dict[K, Decimal]:
    """The discount on each line (every key of `lines`, 0 for lines not targeted).

    `value` is the percent (0 < value <= 100) or the amount (>= 0, in the currency of
    the lines); `targets` are the keys the coupon applies to, empty meaning all lines;
    `places` the currency's decimal places (2 for EUR, 0 for JPY). Lines of zero or less
    (a free product, a credit) get no discount.
    """
    if not isinstance(value, Decimal):
        raise TypeError(f"The discount must be a Decimal, not {type(value).__name__}.")
    targeted = [key for key in lines if (not targets or key in targets) and lines[key] > 0]
    result = dict.fromkeys(lines, Decimal(0).quantize(_unit(places)))
    if discount_type == "percent":
        if not Decimal(0) < value <= HUNDRED:
            raise ValueError("A percent discount must be more than 0 and at most 100.")
        for key in targeted:
            result[key] = min(lines[key], round_half_up(lines[key] * value / HUNDRED, places))
        return result
    if discount_type == "amount":
        if value < 0:
            raise ValueError("An amount discount cannot be negative.")
        result.update(_spread(lines, targeted, value, places))
        return result
    raise ValueError(f"Unknown discount type {discount_type!r}: use 'percent' or 'amount'.")


def _spread(
    lines: Mapping[K, Decimal], targeted: list[K], value: Decimal, places: int
) -> dict[K, Decimal]:
    """`value` (capped at the targeted total) in proportion to the lines' amounts,
    by the largest-remainder method (see the module's docstring)."""
    total = sum((lines[key] for key in targeted), Decimal(0))
    if not targeted or total <= 0:
        return {}
    unit = _unit(places)
    discount = min(round_half_up(value, places), total)
    exact = {key: discount * lines[key] / total for key in targeted}
    shares = {key: exact[key].quantize(unit, rounding=ROUND_DOWN) for key in targeted}
    left = int((discount - sum(shares.values())) / unit)
    by_remainder = sorted(
        range(len(targeted)), key=lambda i: (-(exact[targeted[i]] - shares[targeted[i]]), i)
    )
    for i in by_remainder[:left]:
        key = targeted[i]
        shares[key] = min(lines[key], shares[key] + unit)
    return shares


def discounted_total(
    lines: Mapping[K, Decimal],
    *,
    discount_type: DiscountType,
    value: Decimal,
    targets: Collection[K] = (),
    places: int = 2,
) -> Decimal:
    """What the lines cost after the discount (never below zero)."""
    discounts = line_discounts(
        lines, discount_type=discount_type, value=value, targets=targets, places=places
    )
    return sum((lines[key] - discounts[key] for key in lines), Decimal(0))
