"""Periodic work of this app, synced into Django-Q2 by `manage.py sync_schedules`.

The billing run once a day. It is idempotent (one invoice per subscription and period),
so a run that was missed or crashed is simply caught up by the next one. Open invoices
past their due date are flagged overdue every hour. Payment attempts that are due
(retries on their day, first collections whose task was lost) run every 10 minutes.
The invariant check (billing.invariants) holds accounts whose data is broken, daily.
"""

from notifications.scheduling import PeriodicTask, register

register(
    PeriodicTask(name="billing.run_billing", func="billing.tasks.run_billing", minutes=24 * 60),
    PeriodicTask(name="billing.mark_overdue", func="billing.tasks.mark_overdue", minutes=60),
    PeriodicTask(
        name="billing.collect_payments", func="billing.tasks.collect_payments", minutes=10
    ),
    PeriodicTask(
        name="billing.check_invariants", func="billing.tasks.check_invariants", minutes=24 * 60
    ),
)
