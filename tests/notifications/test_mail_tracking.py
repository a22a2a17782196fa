"""Delivery reports from the ESP (anymail's tracking webhooks) end up in the e-mail log."""

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from anymail.signals import AnymailTrackingEvent, tracking

from notifications.events import EventType, MailType
from notifications.mail_context import sample_context
from notifications.models import MailMessage
from notifications.services import Mail, emit
from notifications.services.mail import mail_messages_create_for_event

pytestmark = pytest.mark.django_db

SENT_AT = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


def _sent(provider_message_id, to="rita@example.com"):
    event = emit(
        type=EventType.PAYMENT_FAILED,
        payload={},
        mails=[
            Mail(
                template=MailType.PAYMENT_FAILED,
                to=to,
                context=sample_context(MailType.PAYMENT_FAILED),
            )
        ],
    )
    [message_id] = mail_messages_create_for_event(event=event)
    MailMessage.objects.filter(pk=message_id).update(
        status="sent", provider_message_id=provider_message_id, sent_at=SENT_AT, attempts=1
    )
    return MailMessage.objects.get(pk=message_id)


def _report(event_type, message_id, timestamp=None, **details):
    tracking.send(
        sender=object,
        event=AnymailTrackingEvent(
            event_type=event_type, message_id=message_id, timestamp=timestamp, **details
        ),
        esp_name="Test",
    )


def test_a_bounce_marks_the_message_bounced_and_adds_the_reason_to_the_error():
    message = _sent("pm-0001")
    other = _sent("pm-0002", to="tom@example.com")

    _report(
        "bounced",
        "pm-0001",
        SENT_AT + timedelta(minutes=2),
        description="The server was unable to deliver your message.",
    )

    message.refresh_from_db()
    other.refresh_from_db()
    assert (message.tracking_status, message.tracking_at) == (
        "bounced",
        SENT_AT + timedelta(minutes=2),
    )
    assert message.error == "bounced: The server was unable to deliver your message."
    assert message.status == "sent"
    assert (other.tracking_status, other.tracking_at, other.error) == ("", None, "")


def test_a_report_without_a_time_is_dated_when_it_arrives():
    message = _sent("pm-0003")

    with time_machine.travel(SENT_AT + timedelta(hours=1), tick=False):
        _report("delivered", "pm-0003")

    message.refresh_from_db()
    assert (message.tracking_status, message.tracking_at, message.error) == (
        "delivered",
        SENT_AT + timedelta(hours=1),
        "",
    )


def test_an_older_report_arriving_late_does_not_replace_a_newer_one():
    message = _sent("pm-0004")

    _report("complained", "pm-0004", SENT_AT + timedelta(hours=2), reject_reason="spam")
    _report("delivered", "pm-0004", SENT_AT + timedelta(minutes=1))

    message.refresh_from_db()
    assert (message.tracking_status, message.tracking_at, message.error) == (
        "complained",
        SENT_AT + timedelta(hours=2),
        "complained: spam",
    )


def test_a_report_without_or_with_an_unknown_message_id_changes_nothing():
    message = _sent("")  # e.g. sent through plain SMTP: no provider id

    _report("bounced", None, SENT_AT)
    _report("bounced", "", SENT_AT)
    _report("bounced", "pm-unknown", SENT_AT)

    message.refresh_from_db()
    assert (message.tracking_status, message.tracking_at, message.error) == ("", None, "")


def test_a_postmark_bounce_webhook_reaches_the_log(client, settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": "kontor:hook-secret"}
    message = _sent("883953f4-6105-42a2-a16a-77a8eac79483")
    credentials = base64.b64encode(b"kontor:hook-secret").decode()

    response = client.post(
        "/anymail/postmark/tracking/",
        data=json.dumps(
            {
                "RecordType": "Bounce",
                "Type": "HardBounce",
                "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
                "Email": "rita@example.com",
                "BouncedAt": "2027-03-01T09:05:00Z",
                "Description": "The server was unable to deliver your message.",
                "Details": "smtp;550 5.1.1 The email account does not exist.",
            }
        ),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Basic {credentials}",
    )

    assert response.status_code == 200
    message.refresh_from_db()
    assert (message.tracking_status, message.tracking_at) == (
        "bounced",
        datetime(2027, 3, 1, 9, 5, tzinfo=UTC),
    )
    assert message.error == "bounced: The server was unable to deliver your message."
