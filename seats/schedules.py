"""Periodic work of this app, synced into Django-Q2 by `manage.py sync_schedules`."""

from notifications.scheduling import PeriodicTask, register

register(
    PeriodicTask(name="seats.end_due", func="seats.tasks.end_due", minutes=5),
    PeriodicTask(name="seats.expire_invitations", func="seats.tasks.expire_invitations", minutes=5),
)
