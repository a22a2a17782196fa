"""Periodic work of this app, synced into Django-Q2 by `manage.py sync_schedules`."""

from notifications.scheduling import PeriodicTask, register

register(
    PeriodicTask(
        name="subscriptions.advance",
        func="subscriptions.tasks.advance_subscriptions",
        minutes=5,
    ),
)
