"""Django-Q2 tasks: thin, idempotent, each calls one service. The database records what
is due; a task only wakes a worker to do it sooner than the sweep would."""

from .services import event_dispatch, notifications_sweep


def dispatch_event(event_id: int) -> bool:
    return event_dispatch(event_id=event_id)


def sweep() -> dict[str, int]:
    return notifications_sweep()
