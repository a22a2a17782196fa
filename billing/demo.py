"""Demo invoices (`seed_demo`): one billing run for today, as the daily schedule would
make it, so the demo's subscriptions have their first invoices (regular subscriptions
are invoiced in advance; the corporate one after its first accounting period).
Idempotent: a period is invoiced once, so a second run finds nothing due.

`seed_payments` then charges the invoices whose subscriptions pay by card (the sandbox
declines Lena Hofmann's card, so her invoice is in dunning) and imports a small bank
statement: part of the Stadtwerke invoice, and a line for the review list."""

from __future__ import annotations

from django.utils import timezone

from billing.models import BankStatement, Invoice
from billing.services.bank_statements import bank_statement_import
from billing.services.collection import payments_collect_due
from billing.services.runs import Trigger, billing_run_start
from catalog.demo import SeedLog


def seed_invoices() -> SeedLog:
    log = SeedLog()
    before = Invoice.objects.count()
    billing_run_start(run_date=timezone.localdate(), trigger=Trigger.COMMAND, inline=True)
    log["created"] = Invoice.objects.count() - before
    log["unchanged"] = before
    return log


def seed_payments() -> SeedLog:
    log = SeedLog()
    log["created"] = payments_collect_due()
    if BankStatement.objects.exists():
        log["unchanged"] += 1
        return log
    invoice = (
        Invoice.objects.filter(customer__name="Stadtwerke Musterstadt GmbH", status="open")
        .order_by("issued_at")
        .first()
    )
    if invoice is None:
        return log
    today = timezone.localdate().isoformat()
    statement = "\n".join(
        [
            "date,amount,reference,payer",
            f"{today},100.00,Abschlag {invoice.number},Stadtwerke Musterstadt GmbH",
            f"{today},49.90,Abo Mai,Unbekannt",
        ]
    )
    bank_statement_import(content=statement.encode(), filename="demo-statement.csv")
    log["created"] += 1
    return log
