"""A system check that refuses an unsafe Django-Q2 cluster configuration (issue 10).

Every task here is idempotent and the database records what is due, but the queue
settings still decide whether a task runs twice *at the same time* or forever:

* `timeout` must be set and shorter than `retry`: the ORM broker hands a task to another
  worker once `retry` seconds passed without an acknowledgement, so a task still running
  then (timeout >= retry) would run twice in parallel.
* `max_attempts` must be finite (> 0): a task that always fails would otherwise be
  redelivered for ever, crowding out the rest of the queue.
* `catch_up` must be off: after downtime, a schedule would otherwise fire once for every
  missed interval (hundreds of billing runs queued at once); the sweeps pick up whatever
  is still due in one go.
* at least two `workers`: a long task (a billing chunk, a PDF) must not hold up
  mail delivery and callbacks.

Checks run before every management command (`qcluster`, `runserver`, `migrate`), so a
cluster misconfigured through KONTOR_Q_* refuses to start instead of double-billing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core import checks

MIN_WORKERS = 2


def queue_settings_problems(conf: Mapping[str, Any]) -> list[str]:
    """What is unsafe about this Q_CLUSTER dict (empty: nothing)."""
    problems = []
    timeout, retry = conf.get("timeout"), conf.get("retry")
    if not timeout or timeout <= 0:
        problems.append("Q_CLUSTER['timeout'] must be set to a positive number of seconds.")
    elif not retry or timeout >= retry:
        problems.append(
            f"Q_CLUSTER['timeout'] ({timeout}) must be shorter than Q_CLUSTER['retry'] "
            f"({retry}), or a task still running is handed to a second worker."
        )
    attempts = conf.get("max_attempts")
    if not isinstance(attempts, int) or attempts <= 0:
        problems.append("Q_CLUSTER['max_attempts'] must be a finite number above 0.")
    if conf.get("catch_up", True):
        problems.append("Q_CLUSTER['catch_up'] must be False (missed schedules pile up).")
    if (conf.get("workers") or 0) < MIN_WORKERS:
        problems.append(f"Q_CLUSTER['workers'] must be at least {MIN_WORKERS}.")
    return problems


@checks.register()
def check_queue_settings(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    return [
        checks.Error(problem, hint="See docs/hardening.md, 'Task queue'.", id="kontor.E001")
        for problem in queue_settings_problems(getattr(settings, "Q_CLUSTER", {}))
    ]
