"""Money: one value type and the one rounding helper.

Amounts are `Decimal` everywhere; a `Money` refuses to mix currencies. Rounding is
half up to the currency's minor unit (ISO 4217, from babel) and happens once per
invoice line; sums of rounded lines need no further rounding.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from babel.numbers import format_currency, get_currency_precision


def decimal_places(currency: str) -> int:
    """2 for EUR, 0 for JPY (ISO 4217)."""
    return get_currency_precision(currency)


def minor_unit(currency: str) -> Decimal:
    """The smallest amount of a currency: Decimal('0.01') for EUR, Decimal('1') for JPY."""
    return Decimal(1).scaleb(-decimal_places(currency))


def round_money(amount: Decimal, currency: str = "EUR") -> Decimal:
    """Round half up to the currency's minor unit (2.345 EUR -> 2.35, -2.345 -> -2.35).
    Never a negative zero: the tax of a discount line at 0 % would otherwise be -0.00,
    printed as such, and read back from the database as 0.00."""
    if not isinstance(amount, Decimal):
        raise TypeError(f"Money amounts must be Decimal, not {type(amount).__name__}.")
    rounded = amount.quantize(minor_unit(currency), rounding=ROUND_HALF_UP)
    return rounded if rounded else abs(rounded)


def has_valid_precision(amount: Decimal, currency: str) -> bool:
    """True when the amount has no more decimal places than the currency allows."""
    return amount == amount.quantize(minor_unit(currency))


def format_money(amount: Decimal, currency: str, locale: str = "en") -> str:
    """Show an amount in the viewer's locale: 2.5 EUR is '€2.50' in en, '2,50 €' in de."""
    return format_currency(amount, currency, locale=locale)


@dataclass(frozen=True, slots=True)
class Money:
    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal):
            raise TypeError(f"Money amounts must be Decimal, not {type(self.amount).__name__}.")
        if len(self.currency) != 3 or not self.currency.isupper():
            raise ValueError(f"{self.currency!r} is not an ISO 4217 currency code.")

    def _same_currency(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError("Money can only be combined with Money.")
        if other.currency != self.currency:
            raise ValueError(f"Cannot combine {self.currency} with {other.currency}.")

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount - other.amount, self.currency)

    def __mul__(self, factor: int | Decimal) -> Money:
        if isinstance(factor, float):
            raise TypeError("Multiply money by an int or a Decimal, never a float.")
        return Money(self.amount * factor, self.currency)

    __rmul__ = __mul__

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.amount <= other.amount

    def rounded(self) -> Money:
        return Money(round_money(self.amount, self.currency), self.currency)

    def format(self, locale: str = "en") -> str:
        return format_money(self.amount, self.currency, locale)

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"
