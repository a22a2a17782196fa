"""Periodic work of this app, synced into Django-Q2 by `manage.py sync_schedules`."""

from notifications.scheduling import PeriodicTask, register

register(
    PeriodicTask(
        name="api.expire_idempotency_records",
        func="api.tasks.expire_idempotency_records",
        minutes=60,
    ),
)
