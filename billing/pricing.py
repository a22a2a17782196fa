"""The corporate pricing engine: base fee + tiered per-user or per-package prices (SPEC §4).

Pure Python, no Django, so that it can be tested exhaustively. The admin, the price
chart and the billing run all price through `price()` / `breakdown()`.

Semantics
---------
* **Units.** Per user, a unit is one user. Per package, a unit is one package of
  `package_size` users, and a started package counts whole: 11 users in packages of 10
  are 2 units.
* **Tiers.** `Tier.up_to` is the inclusive upper bound of the tier in units; tier *k*
  covers the units after the previous tier's bound up to its own. The last tier is open
  (`up_to=None`). With tiers ``≤10, ≤50, open``: units 1-10, 11-50, 51 and more.
* **volume** — every unit at the unit price of the tier the total falls in, plus that
  tier's flat amount. 12 users at ``≤10: 2.50, ≤50: 2.00`` cost 12 x 2.00 = 24.00.
* **graduated** — each unit at the unit price of its own tier, plus the flat amount of
  every tier that holds at least one unit. 12 users cost 10 x 2.50 + 2 x 2.00 = 29.00.
* **stairstep** — the flat amount of the tier the total falls in (as in Stripe, Lago and
  Chargebee, where a stairstep tier has one price for the whole range). A stairstep
  tier may still carry a unit amount; it is then charged per unit on top of the flat
  amount, exactly as in volume mode, so that nothing a merchant entered is silently
  ignored. Stairstep tiers normally have a unit amount of 0.
* **No units** (0 users) cost the base fee alone: no tier is reached, so no tier's flat
  amount applies.
* **Rounding.** Each line of the breakdown (one per tier charged) is rounded half up to
  the cent, as an invoice line would be, so the lines of an invoice always add up to
  `price()`. Amounts with at most two decimals never round at all; the rounding matters
  only for sub-cent unit prices (0.333 x 3 = 0.999 → 1.00).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from itertools import pairwise
from typing import Literal, get_args

from catalog.money import round_money

Strategy = Literal["per_user", "per_package"]
Mode = Literal["volume", "graduated", "stairstep"]

STRATEGIES: tuple[str, ...] = get_args(Strategy)
MODES: tuple[str, ...] = get_args(Mode)


def _check_amount(name: str, value: object) -> None:
    # bool is an int and float is inexact: money is Decimal, finite and not negative.
    if not isinstance(value, Decimal):
        raise ValueError(f"{name} must be a Decimal, not {type(value).__name__} ({value!r}).")
    if not value.is_finite():
        raise ValueError(f"{name} must be a finite amount, not {value}.")
    if value < 0:
        raise ValueError(f"{name} cannot be negative ({value}).")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True, slots=True)
class Tier:
    """Units up to `up_to` (inclusive; `None` = no upper bound, only for the last tier)
    at `unit_amount` each, plus `flat_amount` once when the tier is charged."""

    up_to: int | None
    unit_amount: Decimal = Decimal(0)
    flat_amount: Decimal = Decimal(0)

    def __post_init__(self) -> None:
        if self.up_to is not None and not (_is_int(self.up_to) and self.up_to >= 1):
            raise ValueError(f"A tier's upper bound is a whole number ≥ 1, not {self.up_to!r}.")
        _check_amount("A tier's unit amount", self.unit_amount)
        _check_amount("A tier's flat amount", self.flat_amount)


@dataclass(frozen=True, slots=True)
class PriceSchedule:
    """How one corporate contract prices its users in one accounting period."""

    strategy: Strategy
    tiers: tuple[Tier, ...]
    mode: Mode = "volume"
    package_size: int = 1
    base_fee: Decimal = Decimal(0)

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ValueError(
                f"Unknown pricing strategy {self.strategy!r}; use one of {STRATEGIES}."
            )
        if self.mode not in MODES:
            raise ValueError(f"Unknown tier mode {self.mode!r}; use one of {MODES}.")
        if not (_is_int(self.package_size) and self.package_size >= 1):
            raise ValueError(f"The package size is a whole number ≥ 1, not {self.package_size!r}.")
        if self.strategy == "per_user" and self.package_size != 1:
            raise ValueError("Per-user pricing has no packages: the package size must be 1.")
        _check_amount("The base fee", self.base_fee)
        # Accept any sequence, keep a tuple: the schedule is immutable and hashable.
        object.__setattr__(self, "tiers", tuple(self.tiers))
        _check_tiers(self.tiers)

    def units(self, quantity: int) -> int:
        """Users → billed units: users, or packages with a started package counted whole."""
        if not _is_int(quantity):
            raise ValueError(f"The quantity is a whole number of users, not {quantity!r}.")
        if quantity < 0:
            raise ValueError(f"The quantity cannot be negative ({quantity}).")
        return -(-quantity // self.package_size)  # ceil without floats

    def tier_for(self, units: int) -> Tier:
        """The tier a total of `units` (≥ 1) falls in."""
        return next(t for t in self.tiers if t.up_to is None or units <= t.up_to)


def _check_tiers(tiers: tuple[Tier, ...]) -> None:
    if not tiers:
        raise ValueError("A price schedule needs at least one tier.")
    for tier in tiers:
        if not isinstance(tier, Tier):
            raise ValueError(f"Tiers must be Tier objects, not {type(tier).__name__}.")
    if tiers[-1].up_to is not None:
        raise ValueError("The last tier must be open-ended (up_to=None).")
    if any(t.up_to is None for t in tiers[:-1]):
        raise ValueError("Only the last tier may be open-ended (up_to=None).")
    bounds = [t.up_to for t in tiers[:-1] if t.up_to is not None]
    for lower, upper in pairwise(bounds):
        if upper <= lower:
            raise ValueError(f"Tier upper bounds must increase strictly: {upper} follows {lower}.")


@dataclass(frozen=True, slots=True)
class PriceLine:
    """What one tier contributes: `units` charged in `tier`, for `amount` (rounded to
    the cent, flat amount included)."""

    tier: Tier
    units: int
    amount: Decimal


def breakdown(schedule: PriceSchedule, quantity: int) -> list[PriceLine]:
    """The tier lines for `quantity` users, without the base fee; empty for 0 users."""
    units = schedule.units(quantity)
    if units == 0:
        return []
    if schedule.mode == "graduated":
        return _graduated_lines(schedule.tiers, units)
    # volume and stairstep both charge the one tier the total falls in; they differ
    # only in which amounts a merchant fills in (see the module docstring).
    tier = schedule.tier_for(units)
    return [PriceLine(tier, units, round_money(tier.unit_amount * units + tier.flat_amount))]


def _graduated_lines(tiers: tuple[Tier, ...], units: int) -> list[PriceLine]:
    lines: list[PriceLine] = []
    below = 0  # units covered by the tiers before this one
    for tier in tiers:
        in_tier = units - below if tier.up_to is None else min(units, tier.up_to) - below
        if in_tier <= 0:
            break
        amount = round_money(tier.unit_amount * in_tier + tier.flat_amount)
        lines.append(PriceLine(tier, in_tier, amount))
        if tier.up_to is None:
            break
        below = tier.up_to
    return lines


def price(schedule: PriceSchedule, quantity: int) -> Decimal:
    """The price of `quantity` users for one accounting period: base fee + tier lines,
    rounded half up to the cent."""
    lines = breakdown(schedule, quantity)
    return round_money(schedule.base_fee + sum((line.amount for line in lines), Decimal(0)))
