"""The e-mail log in the admin: read-only, a fixed number of queries, retry of failed mails."""

from datetime import UTC, datetime

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.urls import reverse

from notifications.events import EventType, MailType
from notifications.mail_context import sample_context
from notifications.models import MailMessage
from notifications.services import Mail, emit
from notifications.services.mail import MailNotRetryable, mail_message_retry
from subscriptions.roles import sync_staff_roles

pytestmark = pytest.mark.django_db

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
LIST_URL = "admin:notifications_mailmessage_changelist"


def _messages(*statuses):
    event = emit(
        type=EventType.INVOICE_ISSUED,
        payload={},
        mails=[
            Mail(
                template=MailType.INVOICE_ISSUED,
                to=f"customer{i}@example.com",
                context=sample_context(MailType.INVOICE_ISSUED)
                | {"invoice_number": f"2027-{i:06d}"},
            )
            for i in range(len(statuses))
        ],
    )
    for position, status in enumerate(statuses):
        MailMessage.objects.create(
            event=event,
            position=position,
            template_type=MailType.INVOICE_ISSUED,
            language="en",
            to_email=f"customer{position}@example.com",
            context={"invoice_number": f"2027-{position:06d}"},
            status=status,
            attempts=6 if status == "failed" else 1,
            next_attempt_at=None if status != "queued" else NOW,
            error="[Errno 111] Connection refused" if status == "failed" else "",
            provider_message_id=f"pm-{position}",
            tracking_status="delivered" if status == "sent" else "",
        )
    return list(MailMessage.objects.filter(event=event).order_by("position"))


@pytest.mark.parametrize("rows", [3, 10])
def test_the_email_log_takes_a_fixed_number_of_queries(
    rows, client, staff_user, django_assert_num_queries
):
    _messages(*(["sent", "failed"] * rows)[:rows])
    client.force_login(staff_user)

    # session, user, the selection count, the total count, the page, the tracking filter's values
    with django_assert_num_queries(7):  # 6 + the verified TOTP device
        response = client.get(reverse(LIST_URL))

    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == rows


def test_the_log_lists_the_columns_and_filters_by_status_and_searches_provider_ids(
    client, staff_user
):
    sent, failed, _queued = _messages("sent", "failed", "queued")
    client.force_login(staff_user)

    by_status = client.get(reverse(LIST_URL), {"status__exact": "failed"})
    by_provider_id = client.get(reverse(LIST_URL), {"q": "pm-0"})
    by_recipient = client.get(reverse(LIST_URL), {"q": "customer1@"})

    assert by_status.context["cl"].list_display == [
        "action_checkbox",
        "created_at",
        "template_type",
        "language",
        "to_email",
        "status",
        "attempts",
        "tracking_status",
        "sent_at",
    ]
    assert list(by_status.context["cl"].result_list) == [failed]
    assert list(by_provider_id.context["cl"].result_list) == [sent]
    assert list(by_recipient.context["cl"].result_list) == [failed]


def test_the_log_detail_shows_the_error_and_the_context_read_only(client, staff_user):
    [failed] = _messages("failed")
    client.force_login(staff_user)

    response = client.get(reverse("admin:notifications_mailmessage_change", args=[failed.pk]))

    content = response.content.decode()
    assert response.status_code == 200
    assert "<pre>[Errno 111] Connection refused</pre>" in content
    assert "<pre>{\n  &quot;invoice_number&quot;: &quot;2027-000000&quot;\n}</pre>" in content
    assert '<input type="submit" value="Save"' not in content


def test_retry_now_queues_a_failed_message_again_and_leaves_the_others(
    client, staff_user, django_capture_on_commit_callbacks
):
    sent, failed = _messages("sent", "failed")

    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks() as queued:
        client.force_login(staff_user)  # at the travelled time, or the session has expired
        response = client.post(
            reverse(LIST_URL),
            {"action": "retry_now", "_selected_action": [sent.pk, failed.pk]},
            follow=True,
        )

    failed.refresh_from_db()
    sent.refresh_from_db()
    assert (failed.status, failed.next_attempt_at, failed.attempts) == ("queued", NOW, 6)
    assert sent.status == "sent"
    assert len(queued) == 1  # the send task, after commit
    assert [str(m) for m in response.context["messages"]] == [
        "1 e-mail queued again.",
        "1 e-mail was not retried: only failed e-mails can be.",
    ]


def test_retry_refuses_a_message_that_has_not_failed():
    [sent] = _messages("sent")

    with pytest.raises(MailNotRetryable, match=r"^Only failed e-mails can be retried\.$"):
        mail_message_retry(message_id=sent.pk)

    assert MailMessage.objects.get(pk=sent.pk).status == "sent"


def test_staff_who_may_only_view_the_log_cannot_retry(client, django_user_model):
    sync_staff_roles()  # the role groups, in case a transactional test emptied the tables
    _messages("failed")
    support = django_user_model.objects.create_user(
        email="support@kontor.example", password="pw", is_staff=True
    )
    support.groups.add(Group.objects.get(name="Customer support"))
    client.force_login(support)

    response = client.get(reverse(LIST_URL))

    assert response.status_code == 200
    assert response.context["action_form"] is None  # no action is offered
