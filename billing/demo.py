"""Demo invoices (`seed_demo`): one billing run for today, as the daily schedule would
make it, so the demo's subscriptions have their first invoices (regular subscriptions
are invoiced in advance; the corporate one after its first accounting period).
Idempotent: a period is invoiced once, so a second run finds nothing due."""

from __future__ import annotations

from django.utils import timezone

from billing.models import Invoice
from billing.services.runs import Trigger, billing_run_start
from catalog.demo import SeedLog


def seed_invoices() -> SeedLog:
    log = SeedLog()
    before = Invoice.objects.count()
    billing_run_start(run_date=timezone.localdate(), trigger=Trigger.COMMAND, inline=True)
    log["created"] = Invoice.objects.count() - before
    log["unchanged"] = before
    return log
