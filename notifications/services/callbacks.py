"""Callbacks: endpoints and their secrets, deliveries from events, sending, retries.

A delivery is one event for one endpoint, created once when the event is dispatched
(unique on endpoint and event). `callback_delivery_send` claims it with
`select_for_update(skip_locked=True)`, so two workers never POST it at the same time,
and holds the lock for the attempt (at most a few timeouts). Every attempt is logged.
Failures are retried on RETRY_DELAYS by the sweep; after the last one the delivery is
failed, until staff replay it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import requests
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_q.tasks import async_task

from notifications import signing, url_safety
from notifications.events import EventType
from notifications.models import CallbackAttempt, CallbackDelivery, CallbackEndpoint, Event

logger = logging.getLogger(__name__)

# The wait after each failed attempt: ten attempts over about three days (2 d 23 h 35 min
# 5 s from the first to the last), then the delivery is failed. The sweep runs every
# minute, so each retry happens up to a minute (plus the scheduler's 30 s) after its time.
RETRY_DELAYS: tuple[timedelta, ...] = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=14),
    timedelta(hours=18),
    timedelta(hours=22),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1

SEND_BATCH = 500
# The sweep stops starting new attempts after this long (and after half the task timeout,
# KONTOR_Q_TIMEOUT), so a backlog of receivers that time out cannot outlast the task
# timeout; the next sweep goes on.
SWEEP_TIME_BUDGET_SECONDS = 120
RESPONSE_EXCERPT_CHARS = 1000


class CallbackError(Exception):
    """A callback operation that may not happen; the message says why, for staff."""


def retry_delay(attempts: int) -> timedelta | None:
    """The wait after the `attempts`-th failed attempt of a schedule, or None: give up."""
    if 1 <= attempts <= len(RETRY_DELAYS):
        return RETRY_DELAYS[attempts - 1]
    return None


# --- endpoints ------------------------------------------------------------------------


def callback_endpoint_create(
    *, name: str, url: str, event_types: list[str], active: bool = True
) -> CallbackEndpoint:
    """A new endpoint with a new secret (show it to staff once: `endpoint.secret`).
    Raises ValidationError for a URL or event types that may not be used."""
    endpoint = CallbackEndpoint(
        name=name,
        url=url,
        event_types=list(event_types),
        active=active,
        secret=signing.secret_generate(),
    )
    endpoint.full_clean()
    endpoint.save()
    return endpoint


def callback_endpoint_rotate_secret(*, endpoint_id: int, now: datetime | None = None) -> str:
    """Replace the endpoint's secret; the new one, to show to staff once. From now on
    every attempt (retries too) is signed with it, and for
    KONTOR_CALLBACK_SECRET_GRACE_HOURS also with the secret it replaces, so the receiver
    can switch over without rejecting callbacks. A secret still in its grace period from
    an earlier rotation is dropped: only the last two secrets sign."""
    now = now or timezone.now()
    grace = timedelta(hours=settings.KONTOR_CALLBACK_SECRET_GRACE_HOURS)
    with transaction.atomic():
        endpoint = CallbackEndpoint.objects.select_for_update().get(pk=endpoint_id)
        keep_previous = grace > timedelta(0)
        endpoint.previous_secret = endpoint.secret if keep_previous else ""
        endpoint.previous_secret_expires_at = now + grace if keep_previous else None
        endpoint.secret = signing.secret_generate()
        endpoint.secret_rotated_at = now
        endpoint.save(
            update_fields=[
                "secret",
                "secret_rotated_at",
                "previous_secret",
                "previous_secret_expires_at",
            ]
        )
    return endpoint.secret


def callback_endpoint_secrets_expire(*, now: datetime) -> int:
    """Erase previous secrets whose grace period is over (signing already ignores them;
    this removes them from the database). How many were erased."""
    return CallbackEndpoint.objects.filter(previous_secret_expires_at__lte=now).update(
        previous_secret="", previous_secret_expires_at=None
    )


def callback_secrets_reencrypt() -> int:
    """Encrypt every stored secret again with the first key of KONTOR_ENCRYPTION_KEYS
    (after a new key was put first); how many endpoints. Each row under its lock, so a
    rotation at the same time is not undone."""
    done = 0
    for endpoint_id in CallbackEndpoint.objects.order_by("pk").values_list("pk", flat=True):
        with transaction.atomic():
            endpoint = CallbackEndpoint.objects.select_for_update().get(pk=endpoint_id)
            # Saving writes fresh tokens: the field encrypts with the first key.
            endpoint.save(update_fields=["secret", "previous_secret"])
        done += 1
    return done


def callback_endpoint_ping(*, endpoint_id: int, now: datetime | None = None) -> CallbackDelivery:
    """Send a test event to one endpoint (active or not, so staff can try one out before
    switching it on). It is not emitted: dispatching would offer it to every endpoint."""
    now = now or timezone.now()
    with transaction.atomic():
        endpoint = CallbackEndpoint.objects.get(pk=endpoint_id)
        event = Event.objects.create(
            type=EventType.PING,
            payload={"endpoint": endpoint.name},
            occurred_at=now,
            dispatched_at=now,
        )
        delivery = CallbackDelivery.objects.create(endpoint=endpoint, event=event)
        transaction.on_commit(lambda: _queue(delivery.pk))
    return delivery


# --- deliveries -----------------------------------------------------------------------


def callback_deliveries_create_for_event(*, event: Event) -> list[int]:
    """Create one delivery per active endpoint subscribed to the event's type
    (idempotent); their ids."""
    if event.type == EventType.PING:
        return []  # a ping goes to the one endpoint staff chose, see callback_endpoint_ping
    endpoints = [
        endpoint
        # Filtered here, not with a JSON lookup: a merchant has a handful of endpoints,
        # and `event_types__contains` does not exist on SQLite (the demo's database).
        for endpoint in CallbackEndpoint.objects.filter(active=True).order_by("pk")
        if event.type in endpoint.event_types
    ]
    return [
        CallbackDelivery.objects.get_or_create(endpoint=endpoint, event=event)[0].pk
        for endpoint in endpoints
    ]


def callback_deliveries_send_due(*, now: datetime) -> int:
    """Attempt every pending delivery whose attempt is due; how many were tried."""
    due = list(
        CallbackDelivery.objects.filter(
            status=CallbackDelivery.Status.PENDING, next_attempt_at__lte=now
        )
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:SEND_BATCH]
    )
    callback_endpoint_secrets_expire(now=now)
    started = time.monotonic()
    budget = min(SWEEP_TIME_BUDGET_SECONDS, settings.Q_CLUSTER["timeout"] / 2)
    tried = 0
    for delivery_id in due:
        if time.monotonic() - started > budget:
            logger.warning("Callback sweep out of time; %d due left.", len(due) - tried)
            break
        tried += callback_delivery_send(delivery_id=delivery_id)
    return tried


def callback_delivery_send(*, delivery_id: int) -> bool:
    """POST one pending delivery if its attempt is due and no one else is at it; log the
    attempt. False when there was nothing to do."""
    with transaction.atomic():
        now = timezone.now()
        delivery = (
            CallbackDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("event", "endpoint")
            .filter(
                pk=delivery_id,
                status=CallbackDelivery.Status.PENDING,
                next_attempt_at__lte=now,
            )
            .first()
        )
        if delivery is None:
            return False
        outcome = _attempt(delivery, now=now)
        _record(delivery, outcome, now=now)
    return True


def callback_delivery_replay(*, delivery_id: int, now: datetime | None = None) -> CallbackDelivery:
    """Send a delivery again, now, with a full schedule of retries; earlier attempts stay
    in its log. Raises CallbackError when its endpoint is inactive."""
    now = now or timezone.now()
    with transaction.atomic():
        delivery = (
            CallbackDelivery.objects.select_for_update(of=("self",))
            .select_related("event", "endpoint")
            .get(pk=delivery_id)
        )
        if not delivery.endpoint.active and delivery.event.type != EventType.PING:
            raise CallbackError(
                _("%(endpoint)s is inactive: activate it before replaying its callbacks.")
                % {"endpoint": delivery.endpoint.name}
            )
        delivery.status = CallbackDelivery.Status.PENDING
        delivery.attempts = 0
        delivery.next_attempt_at = now
        delivery.succeeded_at = None
        delivery.save(update_fields=["status", "attempts", "next_attempt_at", "succeeded_at"])
        transaction.on_commit(lambda: _queue(delivery.pk))
    return delivery


def _queue(delivery_id: int) -> None:
    async_task("notifications.tasks.deliver_callback", delivery_id)


# --- one attempt ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Outcome:
    succeeded: bool
    status_code: int | None = None
    excerpt: str = ""
    error: str = ""
    duration_ms: int = 0
    # No retries: the delivery fails now (staff replay it once the cause is gone).
    final: bool = False


def _attempt(delivery: CallbackDelivery, *, now: datetime) -> _Outcome:
    endpoint, event = delivery.endpoint, delivery.event
    if not endpoint.active and event.type != EventType.PING:
        return _Outcome(False, error=_("The endpoint is inactive; nothing was sent."), final=True)
    try:
        # Checked again at every attempt: DNS may now answer differently than at save.
        checked = url_safety.check_url(
            endpoint.url, allowed_hosts=settings.KONTOR_CALLBACK_ALLOWED_HOSTS
        )
    except url_safety.UnsafeURLError as error:
        nothing_sent = _("Nothing was sent.")
        return _Outcome(False, error=f"{error.message} {nothing_sent}")
    body = signing.callback_body(
        event_type=event.type,
        event_id=str(event.event_id),
        occurred_at=event.occurred_at,
        subject_type=event.subject_type,
        subject_id=event.subject_id,
        payload=event.payload,
    )
    current, *previous = endpoint.signing_secrets(now=now)
    headers = signing.callback_headers(
        secret=current,
        previous_secrets=previous,
        msg_id=str(event.event_id),
        sent_at=now,
        body=body,
    )
    timeout = settings.KONTOR_CALLBACK_TIMEOUT_SECONDS
    started = time.monotonic()
    try:
        answer = url_safety.post_pinned(
            checked, body=body.encode("ascii"), headers=headers, timeout=timeout
        )
    except requests.Timeout:
        error = _("No answer within %(seconds)s s.") % {"seconds": f"{timeout:g}"}
        return _Outcome(False, error=error, duration_ms=_ms_since(started))
    except requests.RequestException as exc:
        error = _("No answer: %(error)s") % {"error": _root_cause(exc)}
        return _Outcome(False, error=error, duration_ms=_ms_since(started))
    return _Outcome(
        succeeded=200 <= answer.status_code < 300,
        status_code=answer.status_code,
        excerpt=answer.excerpt[:RESPONSE_EXCERPT_CHARS],
        error=_answer_error(answer.status_code),
        duration_ms=_ms_since(started),
    )


def _answer_error(status_code: int) -> str:
    if 200 <= status_code < 300:
        return ""
    if 300 <= status_code < 400:
        return _("The receiver answered with a redirect; callbacks do not follow redirects.")
    return _("The receiver answered %(status)d; only 2xx counts as received.") % {
        "status": status_code
    }


def _root_cause(error: BaseException) -> str:
    """The innermost reason ("[Errno 111] Connection refused"), not the wrapping."""
    seen = error
    for _depth in range(10):
        inner = getattr(seen, "reason", None) or seen.__cause__ or seen.__context__
        if not isinstance(inner, BaseException) or inner is seen:
            break
        seen = inner
    return str(seen)[:500] or type(seen).__name__


def _ms_since(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


def _record(delivery: CallbackDelivery, outcome: _Outcome, *, now: datetime) -> None:
    """Log the attempt and move the delivery on: succeeded, retry later, or failed.
    The delivery is locked, so plain assignments are safe."""
    CallbackAttempt.objects.create(
        delivery=delivery,
        attempted_at=now,
        status_code=outcome.status_code,
        response_excerpt=outcome.excerpt,
        duration_ms=outcome.duration_ms,
        error=outcome.error,
        succeeded=outcome.succeeded,
    )
    delivery.attempts += 1
    delivery.last_status_code = outcome.status_code
    if outcome.succeeded:
        delivery.status = CallbackDelivery.Status.SUCCEEDED
        delivery.succeeded_at = now
        delivery.next_attempt_at = None
    elif not outcome.final and (delay := retry_delay(delivery.attempts)) is not None:
        delivery.next_attempt_at = now + delay
    else:
        delivery.status = CallbackDelivery.Status.FAILED
        delivery.next_attempt_at = None
        logger.warning("Callback delivery %s failed for good.", delivery.pk)
    delivery.save(
        update_fields=[
            "attempts",
            "last_status_code",
            "status",
            "succeeded_at",
            "next_attempt_at",
        ]
    )
