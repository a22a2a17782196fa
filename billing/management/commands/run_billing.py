"""`manage.py run_billing [--date YYYY-MM-DD]`: a billing run now, its chunks inline."""

from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from billing.services.runs import Trigger, billing_run_start


class Command(BaseCommand):
    help = (
        "Invoice everything due by the end of the given day (default: today, merchant "
        "time): corporate periods that have ended, regular periods that have started. "
        "Safe to run again: nothing is invoiced twice."
    )

    def add_arguments(self, parser):
        parser.add_argument("--date", help="the billing date, YYYY-MM-DD (default: today)")
        parser.add_argument(
            "--workers",
            type=int,
            default=1,
            help="chunks invoiced at a time, each in its own thread and connection (default 1)",
        )

    def handle(self, *args, **options):
        try:
            run_date = date.fromisoformat(options["date"]) if options["date"] else None
        except ValueError as error:
            raise CommandError(f"--date must be YYYY-MM-DD, not {options['date']!r}.") from error
        if options["workers"] < 1:
            raise CommandError("--workers must be at least 1.")
        run = billing_run_start(
            run_date=run_date or timezone.localdate(),
            trigger=Trigger.COMMAND,
            inline=True,
            workers=options["workers"],
        )
        self.stdout.write(
            f"Billing run {run.run_date}: {run.subscriptions_due} subscriptions due, "
            f"{run.invoices_created} invoices issued in {run.chunks_done}/{run.chunks_total} "
            f"chunks, {len(run.errors)} errors."
        )
        for error in run.errors:
            self.stderr.write(f"  {error}")
