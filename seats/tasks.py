"""Django-Q2 tasks of the seats app: thin, safe to run twice, each calls one service."""

from seats.services.seats import user_subscriptions_end_due


def end_due() -> int:
    """End cancelled access whose end has come, and the access of ended subscriptions
    (every 5 minutes; the database says what is due)."""
    return user_subscriptions_end_due()
