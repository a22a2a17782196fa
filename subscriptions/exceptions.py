"""Domain errors of this app. Views map them to form errors or messages; each carries a
message a customer or staff member can read."""

from __future__ import annotations

from datetime import datetime


class SubscriptionError(Exception):
    """A subscription operation the rules refuse; str(error) says why."""


class PurchaseRefused(SubscriptionError):
    """The purchase cannot be made as asked (offer not sellable, add-on not compatible,
    payment method not supported, coupon rejected, ...)."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field  # the form field the message belongs to, if any


class CancellationRefused(SubscriptionError):
    """Cancelling now is not allowed; `earliest_end` says when it can end."""

    def __init__(self, message: str, *, earliest_end: datetime | None = None) -> None:
        super().__init__(message)
        self.earliest_end = earliest_end


class PaymentRefused(SubscriptionError):
    """The gateway declined or could not process a payment method or charge."""

    def __init__(self, message: str, *, code: str = "", temporary: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.temporary = temporary
