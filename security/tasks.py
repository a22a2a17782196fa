"""Django-Q2 tasks of the security app: thin, safe to run twice."""

from security.throttle import failures_expire


def expire_failures() -> int:
    """Forget failed attempts older than every throttling window (hourly)."""
    return failures_expire()
