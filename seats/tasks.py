"""Django-Q2 tasks of the seats app: thin, safe to run twice, each calls one service."""

from notifications.services import event_dispatch
from seats.services.invitations import invitations_expire_due
from seats.services.seats import user_subscriptions_end_due


def end_due() -> int:
    """End cancelled access whose end has come, and the access of ended subscriptions
    (every 5 minutes; the database says what is due)."""
    return user_subscriptions_end_due()


def expire_invitations() -> int:
    """Mark pending invitations past their expiry as expired (every 5 minutes)."""
    return invitations_expire_due()


def dispatch_events(event_ids: list[int]) -> int:
    """Dispatch a batch of events recorded together (a CSV import); ones already
    dispatched are skipped, and the notifications sweep does any this task loses."""
    return sum(event_dispatch(event_id=event_id) for event_id in event_ids)
