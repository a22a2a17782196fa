"""Django-Q2 tasks of the API app: thin, safe to run twice."""

from api.services import idempotency_records_expire


def expire_idempotency_records() -> int:
    """Forget idempotency records older than 24 hours (hourly)."""
    return idempotency_records_expire()
