"""E-mail: messages from events, rendering, sending through anymail, retries, reports.

A MailMessage is created once per e-mail an event asks for, when the event is
dispatched. Its send is queued after commit and done by a worker (never inside a web
request); the sweep sends whatever is still due, so a lost task only delays a message.

Which template: the ACTIVE one of the message's type in the recipient's language; if
that language has no active template, the active English one (English is the house
language). With neither, the message is SKIPPED: the merchant has not opted in.

Failures: a send that raises is retried after 1 min, 5 min, 30 min, 2 h and 6 h (six
attempts in about 8.5 hours), then FAILED. A template that does not render with the
message's values fails at once (trying again cannot help); staff can retry a failed
message from the e-mail log once the cause is fixed, which gives it one more attempt.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import get_language_info
from django.utils.translation import gettext as _
from django_q.tasks import async_task

from audit.recorder import record_bulk_change
from notifications.mail_context import context_for
from notifications.models import Event, MailMessage, MailTemplate
from notifications.models.mail import LANGUAGES
from notifications.rendering import MailRenderError, render_mail

logger = logging.getLogger(__name__)

FALLBACK_LANGUAGE = "en"
RETRY_DELAYS: Sequence[timedelta] = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=6),
)
SEND_BATCH = 500
# The sweep starts no new send after this long, and after at most half the task timeout
# (KONTOR_Q_TIMEOUT): a worker the timeout kills mid-send leaves that e-mail queued though
# it went out, so it goes out again; the next sweep sends the rest.
SWEEP_TIME_BUDGET_SECONDS = 120
# Delivery reports that mean the message did not reach, or was not wanted by, the recipient.
PROBLEM_REPORTS = frozenset({"bounced", "rejected", "complained", "failed"})


class MailNotRetryable(Exception):
    """Only a failed message can be retried."""


def retry_delay(attempts: int) -> timedelta | None:
    """How long to wait after the `attempts`-th failed attempt; None: give up."""
    if 1 <= attempts <= len(RETRY_DELAYS):
        return RETRY_DELAYS[attempts - 1]
    return None


def _language(value: Any) -> str:
    code = str(value or "").split("-")[0].lower()
    return code if code in dict(LANGUAGES) else FALLBACK_LANGUAGE


def mail_messages_create_for_event(*, event: Event) -> list[int]:
    """Create one MailMessage per e-mail the event asks for (idempotent); the ids of
    those still queued."""
    ids = []
    for position, mail in enumerate(event.mails):
        message, _created = MailMessage.objects.get_or_create(
            event=event,
            position=position,
            defaults={
                "template_type": mail["template"],
                "language": _language(mail.get("language")),
                "to_email": mail["to"],
                "context": context_for(mail["template"], mail.get("context") or {}),
            },
        )
        if message.status == MailMessage.Status.QUEUED:
            ids.append(message.pk)
    return ids


def mail_messages_send_due(*, now: datetime) -> int:
    """Send every queued message whose attempt is due (a batch); how many were tried."""
    due = list(
        MailMessage.objects.filter(status=MailMessage.Status.QUEUED, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:SEND_BATCH]
    )
    started, budget = time.monotonic(), sweep_time_budget()
    tried = 0
    for message_id in due:
        if time.monotonic() - started > budget:
            logger.warning("Mail sweep out of time; %d due left.", len(due) - tried)
            break
        mail_message_send(message_id=message_id, now=now)
        tried += 1
    return tried


def sweep_time_budget() -> float:
    """Seconds a sweep may spend sending: well inside the task timeout."""
    return min(SWEEP_TIME_BUDGET_SECONDS, settings.Q_CLUSTER["timeout"] / 2)


def _active_template(mail_type: str, language: str) -> MailTemplate | None:
    templates = {
        t.language: t
        for t in MailTemplate.objects.filter(
            type=mail_type, active=True, language__in={language, FALLBACK_LANGUAGE}
        )
    }
    return templates.get(language) or templates.get(FALLBACK_LANGUAGE)


def mail_message_send(*, message_id: int, now: datetime | None = None) -> None:
    """Render and send one queued message if its attempt is due; log the outcome.
    Safe to run twice: the row is claimed under a lock and must still be queued."""
    now = now or timezone.now()
    # The row lock is the claim: a second worker (task and sweep racing) skips the row
    # while this one sends. If the process dies after the ESP accepted the message but
    # before the commit, the message is sent again later: at least once, never lost.
    with transaction.atomic():
        message = (
            MailMessage.objects.select_for_update(skip_locked=True)
            .filter(pk=message_id, status=MailMessage.Status.QUEUED, next_attempt_at__lte=now)
            .first()
        )
        if message is None:
            return
        template = _active_template(message.template_type, message.language)
        if template is None:
            _finish(message, MailMessage.Status.SKIPPED, _no_template_error(message))
            return
        message.language = template.language  # the language it is sent in
        try:
            subject, text, html = render_mail(template, message.context)
        except MailRenderError as exc:
            message.attempts += 1
            _finish(message, MailMessage.Status.FAILED, _render_error(exc))
            return
        message.subject = subject
        try:
            provider_id = _deliver(message.to_email, subject, text, html)
        except Exception as exc:
            logger.warning("E-mail %s could not be sent: %s", message.pk, exc)
            _record_failure(message, str(exc) or exc.__class__.__name__, now=now)
            return
        message.attempts += 1
        message.sent_at = timezone.now()
        message.provider_message_id = provider_id
        _finish(message, MailMessage.Status.SENT, "")


def _deliver(to: str, subject: str, text: str, html: str) -> str:
    """Send through the configured backend (anymail in production); the ESP's message
    id when the backend is anymail's, else ""."""
    email = EmailMultiAlternatives(subject=subject, body=text, to=[to])
    if html:
        email.attach_alternative(html, "text/html")
    email.send()
    status = getattr(email, "anymail_status", None)
    message_id = getattr(status, "message_id", None)
    return "" if message_id is None else str(message_id)


def _no_template_error(message: MailMessage) -> str:
    return _('No active template "%(type)s" in %(language)s or English: nothing was sent.') % {
        "type": message.get_template_type_display(),
        "language": get_language_info(message.language)["name_translated"],
    }


def _render_error(exc: MailRenderError) -> str:
    return _("The template could not be rendered (%(field)s): %(message)s") % {
        "field": MailTemplate._meta.get_field(exc.field).verbose_name,
        "message": exc.message,
    }


def _record_failure(message: MailMessage, error: str, *, now: datetime) -> None:
    message.attempts += 1
    delay = retry_delay(message.attempts)
    if delay is None:
        _finish(message, MailMessage.Status.FAILED, error)
    else:
        message.next_attempt_at = now + delay
        _finish(message, MailMessage.Status.QUEUED, error)


def _finish(message: MailMessage, status: str, error: str) -> None:
    message.status = status
    message.error = error
    if status != MailMessage.Status.QUEUED:
        message.next_attempt_at = None
    message.save(
        update_fields=[
            "status",
            "error",
            "attempts",
            "next_attempt_at",
            "language",
            "subject",
            "sent_at",
            "provider_message_id",
        ]
    )


def mail_message_retry(*, message_id: int, now: datetime | None = None) -> MailMessage:
    """Put a failed message back in the queue, due now, and wake a worker for it."""
    with transaction.atomic():
        message = MailMessage.objects.select_for_update().get(pk=message_id)
        if message.status != MailMessage.Status.FAILED:
            raise MailNotRetryable(_("Only failed e-mails can be retried."))
        message.status = MailMessage.Status.QUEUED
        message.next_attempt_at = now or timezone.now()
        message.save(update_fields=["status", "next_attempt_at"])
        transaction.on_commit(
            lambda: async_task("notifications.tasks.send_mail_message", message.pk)
        )
    return message


@transaction.atomic
def mail_templates_set_active(*, templates: QuerySet[MailTemplate], active: bool) -> int:
    """Switch templates on (the merchant opts in to sending them) or off; how many
    changed. The rows are locked, so the audit entries name exactly what changed."""
    changing = templates.exclude(active=active).select_for_update()
    ids = list(changing.values_list("pk", flat=True))
    updated = MailTemplate.objects.filter(pk__in=ids).update(
        active=active, updated_at=timezone.now()
    )
    record_bulk_change(
        model=MailTemplate,
        pks=ids,
        changes={"active": (not active, active)},
        operation="mail_templates_set_active",
    )
    return updated


def mail_message_track(
    *, provider_message_id: str, report: str, reported_at: datetime, description: str = ""
) -> int:
    """Record what the ESP reported about a sent message (anymail's tracking webhooks).
    A report older than the one already recorded is ignored (ESPs deliver them out of
    order); problems are added to the error. How many messages it concerned."""
    if not provider_message_id:
        return 0
    updated = 0
    with transaction.atomic():
        for message in MailMessage.objects.select_for_update().filter(
            provider_message_id=provider_message_id
        ):
            if message.tracking_at is not None and message.tracking_at > reported_at:
                continue
            message.tracking_status = report[:32]
            message.tracking_at = reported_at
            if report in PROBLEM_REPORTS:
                line = f"{report}: {description}" if description else report
                message.error = f"{message.error}\n{line}".strip()
            message.save(update_fields=["tracking_status", "tracking_at", "error"])
            updated += 1
    return updated
