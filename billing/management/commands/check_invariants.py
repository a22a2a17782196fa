"""`manage.py check_invariants`: find data that breaks a billing invariant and hold the
accounts concerned (billing.invariants, billing.services.holds). Also runs daily."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from billing import invariants
from billing.services.holds import invariants_check


class Command(BaseCommand):
    help = (
        "Check the billing invariants (one invoice per subscription and period, invoice "
        "totals, user subscriptions within their subscription, seats, coupon limits, "
        "elapsed periods invoiced). A violation holds the account's automatic billing "
        "until staff release it in the admin. Exits with status 1 when anything is wrong."
    )

    def handle(self, *args, **options):
        if not invariants.supported():
            raise CommandError("The invariant check needs PostgreSQL.")
        result = invariants_check()
        for violation in result.violations:
            self.stdout.write(
                f"{violation.invariant}\tcustomer {violation.customer_id}\t"
                f"{violation.subject}\t{violation.detail}"
            )
        self.stdout.write(
            f"{len(result.violations)} violation(s) in {len(result.customers)} account(s); "
            f"{result.holds_created} new hold(s)."
        )
        if result.violations:
            raise CommandError("Billing invariants are broken; see the list above.")
