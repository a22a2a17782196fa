"""Periodic work of this app, synced into Django-Q2 by `manage.py sync_schedules`."""

from notifications.scheduling import PeriodicTask, register

register(PeriodicTask(name="audit.prune", func="audit.tasks.prune", minutes=24 * 60))
