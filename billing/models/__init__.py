"""Invoices, credit notes, their lines, number series and billing runs (SPEC §4)."""

from .holds import BillingHold
from .invoices import Invoice, InvoiceLine, NumberSeries
from .payments import (
    BankStatement,
    BankStatementLine,
    Dunning,
    DunningPolicy,
    FinalAction,
    Payment,
    PaymentAttempt,
)
from .runs import BillingRun

__all__ = [
    "BankStatement",
    "BankStatementLine",
    "BillingHold",
    "BillingRun",
    "Dunning",
    "DunningPolicy",
    "FinalAction",
    "Invoice",
    "InvoiceLine",
    "NumberSeries",
    "Payment",
    "PaymentAttempt",
]
