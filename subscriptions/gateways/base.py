"""The payment gateway interface.

Card and SEPA details never touch Kontor's database: a gateway turns what the customer
entered (for a real gateway: the client-side token of its hosted fields / Elements; for
the sandbox: the test card number or IBAN typed into Kontor's development form) into a
*token*, and Kontor stores only that token with a label a person recognises
("Visa •••• 4242"), the card's expiry and the SEPA mandate reference.

A gateway is any class with the methods of `PaymentGateway`, named by the setting
`KONTOR_PAYMENT_GATEWAY` (see `subscriptions.gateways.get_gateway`). Refusals are raised
as `subscriptions.exceptions.PaymentRefused(message, code=…, temporary=…)` with a message
the customer can read; a charge that does not go through is *not* an exception but a
`ChargeResult` (billing and dunning decide what to do with it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar, Literal, Protocol, runtime_checkable

ChargeStatus = Literal["succeeded", "declined", "failed_temporarily"]


@dataclass(frozen=True)
class GatewayMethod:
    """What the gateway tells Kontor about a payment method it now holds."""

    token: str
    label: str
    expires_month: int | None = None
    expires_year: int | None = None
    mandate_reference: str = ""  # SEPA direct debit only


@dataclass(frozen=True)
class ChargeResult:
    """The outcome of one charge. `declined` is final for this method (ask the customer
    for another one); `failed_temporarily` may succeed when retried later with a new
    idempotency key. `reference` is the gateway's id of the charge (also for failures)."""

    SUCCEEDED: ClassVar[str] = "succeeded"
    DECLINED: ClassVar[str] = "declined"
    FAILED_TEMPORARILY: ClassVar[str] = "failed_temporarily"

    status: ChargeStatus
    reference: str
    error_code: str = ""
    message: str = ""

    @property
    def succeeded(self) -> bool:
        return self.status == self.SUCCEEDED


@runtime_checkable
class PaymentGateway(Protocol):
    """A payment service provider, seen from Kontor."""

    # Stored in PaymentMethod.gateway, so a method is always charged where it lives.
    name: str

    def create_payment_method(self, *, kind: str, details: Mapping[str, str]) -> GatewayMethod:
        """Register a card (`kind="card"`) or SEPA mandate (`kind="sepa_debit"`) with the
        gateway. Raises PaymentRefused when the gateway will not accept it."""
        ...

    def charge(
        self,
        *,
        token: str,
        amount: Decimal,
        currency: str,
        idempotency_key: str,
        description: str,
    ) -> ChargeResult:
        """Charge `amount` (a positive Decimal in `currency`) to a stored method.

        The same `idempotency_key` returns the first call's result and never charges
        twice, so a retried task is safe; a retry of a failed charge needs a new key.
        Reusing a key with a different token, amount or currency raises ValueError."""
        ...

    def detach(self, token: str) -> None:
        """Forget a stored method (after the customer removed it). Safe to call twice."""
        ...
