"""The merchant backend for billing: invoices, credit notes and their lines, billing runs,
the finance exports (billing.exports), payments, charge attempts, dunning and bank
statements, and the accounts on billing hold."""

from . import bank_statements, holds, invoices, payments, runs

__all__ = ["bank_statements", "holds", "invoices", "payments", "runs"]
