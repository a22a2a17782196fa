"""Periodic work of this app, synced into Django-Q2 by `manage.py sync_schedules`."""

from notifications.scheduling import PeriodicTask, register

register(
    PeriodicTask(name="coupons.generate_due", func="coupons.tasks.generate_due", minutes=5),
)
