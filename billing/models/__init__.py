"""Invoices, credit notes, their lines, number series and billing runs (SPEC §4)."""

from .invoices import Invoice, InvoiceLine, NumberSeries
from .runs import BillingRun

__all__ = ["BillingRun", "Invoice", "InvoiceLine", "NumberSeries"]
