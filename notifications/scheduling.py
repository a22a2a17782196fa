"""Periodic tasks, declared in code by each app and synced into Django-Q2 schedules.

An app declares its periodic work in `<app>/schedules.py` with `register(...)`;
`manage.py sync_schedules` (run by `make demo` and on every deploy) finds those modules
with Django's autodiscovery (so this app imports none of the apps above it) and makes
the Schedule rows match: created, updated, and removed when no longer declared. Only
schedules whose name starts with "kontor:" are managed; others staff add stay.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils.module_loading import autodiscover_modules

PREFIX = "kontor:"


@dataclass(frozen=True)
class PeriodicTask:
    name: str
    func: str
    minutes: int

    @property
    def schedule_name(self) -> str:
        return PREFIX + self.name


_registry: dict[str, PeriodicTask] = {}


def register(*tasks: PeriodicTask) -> None:
    for task in tasks:
        _registry[task.name] = task


def declared_tasks() -> list[PeriodicTask]:
    autodiscover_modules("schedules")
    return sorted(_registry.values(), key=lambda task: task.name)


@transaction.atomic
def sync_schedules() -> dict[str, int]:
    """Make Django-Q2's schedules match the declared tasks; idempotent."""
    from django_q.models import Schedule

    counts = {"created": 0, "updated": 0, "unchanged": 0, "removed": 0}
    declared = declared_tasks()
    for task in declared:
        wanted = {
            "func": task.func,
            "schedule_type": Schedule.MINUTES,
            "minutes": task.minutes,
            "repeats": -1,
        }
        schedule = Schedule.objects.filter(name=task.schedule_name).first()
        if schedule is None:
            Schedule.objects.create(name=task.schedule_name, **wanted)
            counts["created"] += 1
        elif any(getattr(schedule, key) != value for key, value in wanted.items()):
            Schedule.objects.filter(pk=schedule.pk).update(**wanted)
            counts["updated"] += 1
        else:
            counts["unchanged"] += 1
    stale = Schedule.objects.filter(name__startswith=PREFIX).exclude(
        name__in=[task.schedule_name for task in declared]
    )
    counts["removed"] = stale.delete()[0]
    return counts
