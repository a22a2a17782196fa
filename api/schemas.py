"""Shared field types of the API's schemas: money as decimal strings with a currency,
timestamps in ISO 8601 with the merchant's offset, and text without NUL characters."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from django.utils import timezone
from ninja import Schema
from pydantic import AfterValidator, Field, PlainSerializer, WithJsonSchema


def _local_iso(value: datetime) -> str:
    return timezone.localtime(value).isoformat()


# An aware moment, answered in the merchant's zone with its offset
# ("2027-01-15T12:00:00+01:00").
Timestamp = Annotated[
    datetime,
    PlainSerializer(_local_iso, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("Text may not contain NUL characters.")
    return value


def text(max_length: int, min_length: int = 0, **kwargs):
    """A string field of at most `max_length` characters, without NUL."""
    return Annotated[
        str,
        AfterValidator(_no_nul),
        Field(max_length=max_length, min_length=min_length, **kwargs),
    ]


AMOUNT_PATTERN = r"^-?\d+\.\d{2,4}$"


class Money(Schema):
    amount: str = Field(
        ..., pattern=AMOUNT_PATTERN, examples=["12.34"], description="A decimal string."
    )
    currency: str = Field(..., min_length=3, max_length=3, examples=["EUR"])


def money(amount: Decimal | None, currency: str) -> Money | None:
    if amount is None:
        return None
    places = max(2, -amount.as_tuple().exponent) if isinstance(amount, Decimal) else 2
    return Money(amount=f"{Decimal(amount):.{places}f}", currency=currency)


class Problem(Schema):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    code: str = Field(..., description="Stable machine-readable error code.")
    detail: str
    instance: str | None = None
    field: str | None = Field(None, description="The request field at fault, if one is.")
    errors: list[dict] | None = None


def _email(value: str) -> str:
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    if value:
        try:
            validate_email(value)
        except ValidationError:
            raise ValueError("Enter a valid e-mail address.") from None
    return value


def email_type(required: bool = True):
    """An e-mail address (at most 254 characters); may be empty unless required."""
    return Annotated[
        str,
        AfterValidator(_no_nul),
        AfterValidator(_email),
        Field(max_length=254, min_length=3 if required else 0, examples=["ada@example.com"]),
    ]


Email = email_type()
EmailOrBlank = email_type(required=False)
