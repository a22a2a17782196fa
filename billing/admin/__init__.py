"""The merchant backend for billing: invoices, credit notes and their lines, billing runs,
and the finance exports (billing.exports)."""

from . import invoices, runs

__all__ = ["invoices", "runs"]
