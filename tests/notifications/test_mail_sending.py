"""Sending: one message per requested e-mail, only with an active template, in the
recipient's language, through a real SMTP server or anymail; retries, then failed."""

import socket
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from importlib import import_module

import pytest
import time_machine
from aiosmtpd.controller import Controller
from django.apps import apps as django_apps
from django.core import mail

from notifications import tasks
from notifications.events import EventType, MailType
from notifications.mail_context import sample_context
from notifications.models import MailMessage, MailTemplate
from notifications.services import Mail, emit, notifications_sweep
from notifications.services.mail import mail_message_send, mail_messages_create_for_event

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _default_mail_templates():
    """The defaults come from a data migration; a transactional test elsewhere in the run
    empties the tables, so put them back (the migration's own function, idempotent)."""
    migration = import_module("notifications.migrations.0002_default_mail_templates")
    migration.create_defaults(django_apps, None)


NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


def _activate(mail_type, language, **parts):
    """Activate the default template of a type and language, with other parts if given."""
    MailTemplate.objects.filter(type=mail_type, language=language).update(active=True, **parts)


def _queue(mail_type=MailType.USER_ADDED, language="en", to="rita@example.com", context=None):
    """A queued message, as dispatching an event creates it (no task run)."""
    event = emit(
        type=EventType.USER_SUBSCRIPTION_CREATED,
        payload={},
        mails=[
            Mail(
                template=mail_type,
                to=to,
                language=language,
                context=sample_context(mail_type, language) if context is None else context,
            )
        ],
    )
    [message_id] = mail_messages_create_for_event(event=event)
    return MailMessage.objects.get(pk=message_id)


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _Collector:
    def __init__(self):
        self.received = []

    async def handle_DATA(self, server, session, envelope):
        self.received.append(envelope)
        return "250 Message accepted"


@pytest.fixture
def smtp_server(settings):
    collector = _Collector()
    controller = Controller(collector, hostname="127.0.0.1", port=_free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    yield collector
    controller.stop()


@pytest.fixture
def dead_smtp_server(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", _free_port()  # nothing listens
    settings.EMAIL_TIMEOUT = 2


def test_dispatching_creates_one_message_per_requested_mail_once():
    event = emit(
        type=EventType.INVITATION_CREATED,
        payload={},
        mails=[
            Mail(
                template=MailType.USER_INVITED,
                to="rita@example.com",
                language="de-AT",
                context={**sample_context(MailType.USER_INVITED), "password": "not kept"},
            ),
            Mail(
                template=MailType.USER_ADDED,
                to="tom@example.com",
                language="fr",
                context=sample_context(MailType.USER_ADDED),
            ),
        ],
    )

    first = mail_messages_create_for_event(event=event)
    second = mail_messages_create_for_event(event=event)

    assert first == second
    messages = list(MailMessage.objects.order_by("position"))
    assert [m.pk for m in messages] == first
    assert [(m.position, m.template_type, m.language, m.to_email, m.status) for m in messages] == [
        (0, "user_invited", "de", "rita@example.com", "queued"),
        (1, "user_added", "en", "tom@example.com", "queued"),
    ]
    assert messages[0].context == sample_context(MailType.USER_INVITED)  # no "password"


def test_an_inactive_template_sends_nothing_and_the_message_is_skipped():
    message = _queue(MailType.USER_ADDED, "de")  # the default templates are all inactive

    tasks.send_mail_message(message.pk)

    message.refresh_from_db()
    assert mail.outbox == []
    assert (message.status, message.attempts, message.sent_at, message.next_attempt_at) == (
        "skipped",
        0,
        None,
        None,
    )
    assert (
        message.error == 'No active template "User added" in German or English: nothing was sent.'
    )


@pytest.mark.parametrize(
    ("language", "subject"),
    [("de", "Sie haben jetzt Zugang zu Team Pro"), ("en", "You now have access to Team Pro")],
)
def test_the_recipients_language_chooses_the_template(language, subject):
    _activate(MailType.USER_ADDED, "de")
    _activate(MailType.USER_ADDED, "en")
    message = _queue(MailType.USER_ADDED, language)

    tasks.send_mail_message(message.pk)

    message.refresh_from_db()
    assert [m.subject for m in mail.outbox] == [subject]
    assert (message.status, message.language, message.subject) == ("sent", language, subject)


def test_without_an_active_template_in_the_recipients_language_english_is_sent():
    _activate(MailType.USER_ADDED, "en")
    message = _queue(MailType.USER_ADDED, "de", context=sample_context(MailType.USER_ADDED, "de"))

    tasks.send_mail_message(message.pk)

    message.refresh_from_db()
    assert [m.subject for m in mail.outbox] == ["You now have access to Team Pro"]
    assert (message.status, message.language) == ("sent", "en")


def test_an_emitted_invitation_is_sent_once_in_german_with_an_html_part(
    django_capture_on_commit_callbacks,
):
    _activate(MailType.USER_INVITED, "de")

    with django_capture_on_commit_callbacks(execute=True):
        emit(
            type=EventType.INVITATION_CREATED,
            payload={},
            mails=[
                Mail(
                    template=MailType.USER_INVITED,
                    to="rita@example.com",
                    language="de",
                    context={
                        "recipient_first_name": "Rita",
                        "recipient_email": "rita@example.com",
                        "inviter_name": "Müller & Söhne",
                        "offer_name": "Team Pro",
                        "invitation_url": "https://portal.example.com/i/abc/",
                        "invitation_code": "K7QX-4M2P",
                        "expires_at": "31. März 2027",
                    },
                )
            ],
        )

    [sent] = mail.outbox
    assert sent.to == ["rita@example.com"]
    assert sent.subject == "Müller & Söhne lädt Sie zu Team Pro ein"
    assert sent.body == (
        "Hallo Rita,\n\n"
        "Müller & Söhne hat Sie eingeladen, Team Pro von Kontor zu nutzen.\n\n"
        "Nehmen Sie die Einladung hier an:\nhttps://portal.example.com/i/abc/\n\n"
        "Oder geben Sie im Portal den Einladungscode K7QX-4M2P ein. Die Einladung gilt für "
        "rita@example.com und läuft am 31. März 2027 ab.\n\n"
        "Falls Sie diese Einladung nicht erwartet haben, können Sie diese E-Mail ignorieren.\n\n"
        "Mit freundlichen Grüßen\nKontor"
    )
    [(html, mimetype)] = sent.alternatives
    assert mimetype == "text/html"
    assert "Müller &amp; Söhne hat Sie eingeladen" in html
    assert '<a href="https://portal.example.com/i/abc/"' in html
    message = MailMessage.objects.get()
    assert (message.status, message.attempts, message.provider_message_id) == ("sent", 1, "")


def test_a_message_reaches_a_real_smtp_server_with_text_and_html(smtp_server, settings):
    settings.DEFAULT_FROM_EMAIL = "Kontor <noreply@kontor.example>"
    _activate(MailType.INVOICE_ISSUED, "en")
    message = _queue(MailType.INVOICE_ISSUED, "en", to="billing@acme.example")

    tasks.send_mail_message(message.pk)

    [envelope] = smtp_server.received
    assert (envelope.mail_from, envelope.rcpt_tos) == (
        "noreply@kontor.example",
        ["billing@acme.example"],
    )
    received = message_from_bytes(envelope.original_content, policy=policy.default)
    assert received["To"] == "billing@acme.example"
    assert received["Subject"] == "Your invoice 2027-000123 from Kontor"
    text = received.get_body(("plain",)).get_content().replace("\r\n", "\n")
    html = received.get_body(("html",)).get_content()
    assert text == (
        "Hello,\n\nYour invoice 2027-000123 for Acme Ltd. is ready.\n\n"
        "Total: €1,234.50\nDue date: April 14, 2027\n\n"
        "You can view and download the invoice here:\n"
        "https://portal.example.com/billing/invoices/8d41b7c2/\n\n"
        "Thank you for your business.\n\nKind regards\nKontor"
    )
    assert '<a href="https://portal.example.com/billing/invoices/8d41b7c2/"' in html
    assert "View the invoice</a>" in html
    message.refresh_from_db()
    assert (message.status, message.attempts, message.provider_message_id) == ("sent", 1, "")


def test_a_refused_connection_leaves_the_message_queued_for_a_retry(dead_smtp_server):
    _activate(MailType.USER_ADDED, "en")
    message = _queue()

    with time_machine.travel(NOW, tick=False):
        tasks.send_mail_message(message.pk)

    message.refresh_from_db()
    assert (message.status, message.attempts, message.sent_at) == ("queued", 1, None)
    assert message.next_attempt_at == NOW + timedelta(minutes=1)
    assert message.error == "[Errno 111] Connection refused"


def test_a_message_is_retried_with_backoff_and_then_failed(dead_smtp_server):
    _activate(MailType.USER_ADDED, "en")
    with time_machine.travel(NOW, tick=False):
        message = _queue()
        tasks.send_mail_message(message.pk)

    waits = []
    for _ in range(5):
        message.refresh_from_db()
        due = message.next_attempt_at
        with time_machine.travel(due - timedelta(seconds=1), tick=False):
            assert notifications_sweep()["mails"] == 0  # not due yet
        with time_machine.travel(due, tick=False):
            assert notifications_sweep()["mails"] == 1
        waits.append(due)

    message.refresh_from_db()
    assert [w - NOW for w in waits] == [
        timedelta(minutes=1),
        timedelta(minutes=6),
        timedelta(minutes=36),
        timedelta(hours=2, minutes=36),
        timedelta(hours=8, minutes=36),
    ]
    assert (message.status, message.attempts, message.next_attempt_at) == ("failed", 6, None)
    assert message.error == "[Errno 111] Connection refused"
    with time_machine.travel(NOW + timedelta(days=1), tick=False):
        assert notifications_sweep()["mails"] == 0


def test_sending_twice_sends_once():
    _activate(MailType.USER_ADDED, "en")
    message = _queue()

    tasks.send_mail_message(message.pk)
    tasks.send_mail_message(message.pk)

    message.refresh_from_db()
    assert len(mail.outbox) == 1
    assert (message.status, message.attempts) == ("sent", 1)


def test_a_message_not_yet_due_is_not_sent():
    _activate(MailType.USER_ADDED, "en")
    message = _queue()
    MailMessage.objects.filter(pk=message.pk).update(next_attempt_at=NOW + timedelta(hours=1))

    with time_machine.travel(NOW, tick=False):
        mail_message_send(message_id=message.pk)

    assert mail.outbox == []
    assert MailMessage.objects.get(pk=message.pk).status == "queued"


def test_the_sweep_sends_a_message_whose_task_was_lost():
    _activate(MailType.USER_ADDED, "en")
    message = _queue()  # created, but its task never ran

    assert notifications_sweep()["mails"] == 1

    assert [m.to for m in mail.outbox] == [["rita@example.com"]]
    assert MailMessage.objects.get(pk=message.pk).status == "sent"


def test_the_esps_message_id_is_stored_from_anymail(settings):
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    _activate(MailType.PAYMENT_FAILED, "de")
    message = _queue(MailType.PAYMENT_FAILED, "de")

    tasks.send_mail_message(message.pk)

    message.refresh_from_db()
    [sent] = mail.outbox
    assert sent.anymail_status.message_id is not None
    assert message.provider_message_id == str(sent.anymail_status.message_id) == "0"
    assert message.status == "sent"
    assert sent.subject == "Zahlung für Rechnung 2027-000123 fehlgeschlagen"


def test_a_template_that_does_not_render_with_the_messages_values_fails_at_once():
    _activate(MailType.USER_ADDED, "en")
    message = _queue(context=sample_context(MailType.USER_ADDED))
    # emit() refuses a missing variable; an event recorded before the variable was added
    # to the type still lacks it.
    context = sample_context(MailType.USER_ADDED)
    del context["portal_url"]
    MailMessage.objects.filter(pk=message.pk).update(context=context)

    tasks.send_mail_message(message.pk)

    message.refresh_from_db()
    assert mail.outbox == []
    assert (message.status, message.attempts, message.next_attempt_at) == ("failed", 1, None)
    assert message.error == (
        "The template could not be rendered (text body): "
        "No value was given for the variable 'portal_url'."
    )
