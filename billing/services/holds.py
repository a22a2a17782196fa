"""Billing holds (issue 10): the invariant check holds the accounts whose data breaks a
rule (billing/invariants.py), the billing run skips held accounts, staff release them.

`invariants_check` runs daily (billing/schedules.py) and on demand
(`manage.py check_invariants`). A violation is recorded once while it is open (the
partial unique constraint `billing_hold_open_once`); a released one that is still there
is recorded, and held, anew by the next check.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from audit.recorder import record_bulk_change
from billing import invariants
from billing.models import BillingHold

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckResult:
    violations: list[invariants.Violation]
    holds_created: int

    @property
    def customers(self) -> set[int]:
        return {violation.customer_id for violation in self.violations}


def held_customer_ids() -> QuerySet:
    """The customers on hold, as a subquery (the billing run filters with it)."""
    return BillingHold.objects.filter(released_at__isnull=True).values("customer_id")


@transaction.atomic
def invariants_check(*, now: datetime | None = None) -> CheckResult:
    """Find every violation and hold the accounts concerned (new violations only)."""
    now = now or timezone.now()
    violations = invariants.find_violations()
    open_ones = set(
        BillingHold.objects.filter(released_at__isnull=True).values_list("invariant", "subject")
    )
    new = [
        BillingHold(
            customer_id=violation.customer_id,
            invariant=violation.invariant,
            subject=violation.subject,
            detail=violation.detail,
            found_at=now,
        )
        for violation in violations
        if (violation.invariant, violation.subject) not in open_ones
    ]
    BillingHold.objects.bulk_create(new, ignore_conflicts=True)  # a concurrent check
    for hold in new:
        logger.warning(
            "Billing held for customer %s: %s (%s) %s",
            hold.customer_id, hold.invariant, hold.subject, hold.detail,
        )  # fmt: skip
    return CheckResult(violations=violations, holds_created=len(new))


@transaction.atomic
def billing_holds_release(*, hold_ids: list[int], actor, now: datetime | None = None) -> int:
    """Release open holds (staff looked and fixed, or accept, the data); returns how many.
    The account is billed again by the next run once none of its holds is open."""
    now = now or timezone.now()
    open_ids = list(
        BillingHold.objects.select_for_update()
        .filter(pk__in=hold_ids, released_at__isnull=True)
        .values_list("pk", flat=True)
    )
    released = BillingHold.objects.filter(pk__in=open_ids).update(
        released_at=now, released_by=actor
    )
    record_bulk_change(
        model=BillingHold,
        pks=open_ids,
        changes={"released_at": (None, now), "released_by": (None, getattr(actor, "pk", None))},
        operation="billing_holds_release",
    )
    return released
