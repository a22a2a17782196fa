"""Periodic work of this app, synced into Django-Q2 by `manage.py sync_schedules`."""

from notifications.scheduling import PeriodicTask, register

register(
    PeriodicTask(
        name="security.expire_failures", func="security.tasks.expire_failures", minutes=60
    ),
)
