"""The audit log: staff changes through the admin (forms, actions, deletes) and system
changes are recorded with actor and before/after values; only Administrators read the
log; nobody edits or deletes it; its list takes a fixed number of queries."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils import timezone

from audit.tasks import prune
from billing.models import BillingHold, Invoice
from catalog.models import Product
from coupons.models import Code
from coupons.services.redemption import codes_disable
from seats.services.seats import user_subscription_cancel, user_subscription_start
from seats.tasks import end_due
from subscriptions.models import Customer
from subscriptions.roles import ADMINISTRATOR, CATALOG_MANAGER, CUSTOMER_SUPPORT, FINANCE
from tests.billing.factories import line, make_invoice, staff_member
from tests.catalog.admin_forms import page_data
from tests.coupons.factories import make_campaign
from tests.factories import ProductFactory
from tests.seats.factories import NOW, PERIOD_END, SeatAccountFactory, UserFactory
from tests.subscriptions.test_portal_pages import make_customer

pytestmark = pytest.mark.django_db

LOG_URL = reverse("admin:auditlog_logentry_changelist")
UPDATE, DELETE = LogEntry.Action.UPDATE, LogEntry.Action.DELETE


@pytest.fixture
def administrator(client, otp_force_login):
    """An Administrator signed in with a two-factor code (they must use one)."""
    user = staff_member(ADMINISTRATOR, "admin@kontor.example")
    otp_force_login(client, user)
    return user


def entries_for(obj, action=None, *, after: int = 0) -> list[LogEntry]:
    """Entries about `obj` (of one action, newer than entry `after`), oldest first."""
    entries = LogEntry.objects.get_for_object(obj).filter(pk__gt=after).order_by("pk")
    return list(entries if action is None else entries.filter(action=action))


def last_entry_pk() -> int:
    return LogEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


# --- what is recorded ----------------------------------------------------------------


def test_a_customer_changed_in_the_admin_is_recorded_with_actor_and_before_after(
    client, administrator
):
    customer = make_customer("anna@example.com", name="Anna Schmidt")
    change_url = reverse("admin:subscriptions_customer_change", args=[customer.pk])
    data = page_data(client.get(change_url)) | {"name": "Anna Schmidt-Weber", "city": "Köln"}
    before = last_entry_pk()

    response = client.post(change_url, data, REMOTE_ADDR="203.0.113.7")

    assert response.status_code == 302
    (entry,) = entries_for(customer, UPDATE, after=before)
    assert (entry.actor, entry.actor_email) == (administrator, "admin@kontor.example")
    assert entry.changes["name"] == ["Anna Schmidt", "Anna Schmidt-Weber"]
    assert entry.changes["city"] == ["", "Köln"]
    assert entry.remote_addr == "203.0.113.7"


def test_the_address_is_remote_addr_not_a_forwarded_for_header_a_client_wrote(
    client, administrator
):
    customer = make_customer("anna@example.com")
    change_url = reverse("admin:subscriptions_customer_change", args=[customer.pk])
    data = page_data(client.get(change_url)) | {"name": "Spoofed"}
    before = last_entry_pk()

    client.post(change_url, data, REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR="10.6.6.6")

    (entry,) = entries_for(customer, UPDATE, after=before)
    assert entry.remote_addr == "203.0.113.7"


def test_voiding_an_invoice_from_the_admin_is_recorded_with_the_staff_actor(client):
    finance = staff_member(FINANCE, "finance@kontor.example")
    client.force_login(finance)
    invoice = make_invoice(
        customer=make_customer("erika@example.com"), lines=[line("Plan", "1", "10.00")]
    )

    before = last_entry_pk()

    response = client.post(
        reverse("admin:billing_invoice_credit_note", args=[invoice.pk]), {"reason": "Wrong price"}
    )

    assert response.status_code == 302
    (entry,) = entries_for(invoice, UPDATE, after=before)
    assert entry.actor == finance
    assert entry.changes == {"status": ["open", "void"]}
    assert entry.additional_data == {"operation": "credit_note_issue"}
    note = Invoice.objects.get(kind=Invoice.Kind.CREDIT_NOTE)
    assert [e.actor for e in entries_for(note)] == [finance] * len(entries_for(note))


def test_an_admin_action_using_one_update_records_each_row_it_changed(client, administrator):
    campaign = make_campaign(quantity=3)
    codes = list(Code.objects.filter(campaign=campaign).order_by("pk"))
    Code.objects.filter(pk=codes[0].pk).update(disabled=True)  # already off: not changed
    before = last_entry_pk()

    client.post(
        reverse("admin:coupons_code_changelist"),
        {"action": "disable_selected", "_selected_action": [c.pk for c in codes]},
    )

    assert Code.objects.filter(campaign=campaign, disabled=True).count() == 3
    assert entries_for(codes[0], after=before) == []
    for code in codes[1:]:
        (entry,) = entries_for(code, after=before)
        assert (entry.actor, entry.changes) == (administrator, {"disabled": [False, True]})
        assert entry.additional_data == {"operation": "codes_disable"}


def test_a_delete_in_the_admin_is_recorded_with_the_values_it_had(client, administrator):
    product = ProductFactory(name="Trial product", code="trial", status="draft")
    pk = product.pk

    response = client.post(reverse("admin:catalog_product_delete", args=[pk]), {"post": "yes"})

    assert response.status_code == 302
    assert not Product.objects.filter(pk=pk).exists()
    entry = LogEntry.objects.get(
        content_type=ContentType.objects.get_for_model(Product), object_pk=str(pk), action=DELETE
    )
    assert entry.actor == administrator
    assert entry.changes["name"] == ["Trial product", None]
    assert entry.changes["code"] == ["trial", None]


def test_a_change_made_by_a_task_has_no_staff_actor():
    account = SeatAccountFactory()
    first, _second = user_subscription_start(
        account=account, user=UserFactory(), via="staff", now=NOW
    )
    user_subscription_cancel(user_subscription=first, now=NOW)

    with time_machine.travel(PERIOD_END + timedelta(minutes=3), tick=False):
        assert end_due() == 1

    ended = [e for e in entries_for(first, UPDATE) if e.changes.get("state", [None])[1] == "ended"]
    assert len(ended) == 1
    assert (ended[0].actor, ended[0].actor_email) == (None, None)


def test_entries_older_than_the_retention_are_pruned(settings):
    settings.KONTOR_AUDIT_RETENTION_DAYS = 30
    with time_machine.travel(timezone.now() - timedelta(days=31), tick=False):
        old = make_customer("old@example.com")
    new = make_customer("new@example.com")
    old_entries = len(entries_for(old)) + len(entries_for(old.main_user))

    assert prune() == old_entries == 3

    assert entries_for(old) == []
    assert [e.action for e in entries_for(new)] == [LogEntry.Action.CREATE, UPDATE]


# --- who sees it, and that it cannot be changed ----------------------------------------


@pytest.mark.parametrize("role", [FINANCE, CUSTOMER_SUPPORT, CATALOG_MANAGER])
def test_staff_other_than_administrators_cannot_see_the_log(client, role):
    customer = make_customer("anna@example.com")
    client.force_login(staff_member(role, "someone@kontor.example"))

    assert client.get(LOG_URL).status_code == 403
    entry = entries_for(customer)[0]
    assert client.get(reverse("admin:auditlog_logentry_change", args=[entry.pk])).status_code == 403
    history = client.get(reverse("admin:subscriptions_customer_history", args=[customer.pk]))
    assert history.status_code == 200
    assert 'id="audit-trail"' not in history.content.decode()


def test_administrators_see_the_log_and_each_objects_trail_on_its_history_page(
    client, administrator
):
    customer = make_customer("anna@example.com", name="Anna Schmidt")

    assert client.get(LOG_URL).status_code == 200
    html = client.get(
        reverse("admin:subscriptions_customer_history", args=[customer.pk])
    ).content.decode()

    assert 'id="audit-trail"' in html
    assert "Anna Schmidt" in html
    content_type = ContentType.objects.get_for_model(Customer)
    filtered = client.get(
        LOG_URL, {"content_type__id__exact": content_type.pk, "object_pk": customer.pk}
    )
    assert list(filtered.context["cl"].result_list) == entries_for(customer)[::-1]


@pytest.mark.parametrize("superuser", [False, True])
def test_entries_cannot_be_added_changed_or_deleted_through_the_admin(
    client, otp_force_login, superuser
):
    user = staff_member(ADMINISTRATOR, "admin@kontor.example")
    user.is_superuser = superuser
    user.save()
    otp_force_login(client, user)
    customer = make_customer("anna@example.com", name="Anna Schmidt")
    entry = entries_for(customer)[0]
    before = list(LogEntry.objects.values().order_by("pk"))

    change = reverse("admin:auditlog_logentry_change", args=[entry.pk])
    delete = reverse("admin:auditlog_logentry_delete", args=[entry.pk])
    assert client.post(change, {"object_repr": "forged", "action": 2}).status_code == 403
    assert client.get(delete).status_code == 403
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert client.get(reverse("admin:auditlog_logentry_add")).status_code == 403
    client.post(
        LOG_URL, {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"}
    )

    assert list(LogEntry.objects.values().order_by("pk")) == before
    assert 'name="object_repr"' not in client.get(change).content.decode()


@pytest.mark.parametrize("count", [1, 30])
def test_the_log_list_takes_a_fixed_number_of_queries(
    client, administrator, count, django_assert_num_queries
):
    LogEntry.objects.all().delete()  # the administrator's own creation
    for n in range(count):
        Customer.objects.create(name=f"Customer {n}", email=f"c{n}@example.com", country="DE")
    assert LogEntry.objects.count() == count

    # Session, user, the verified two-factor device, permissions (2), the staff actors
    # filter, the audited models' content types, the count, the page of entries with
    # their actors and types.
    with django_assert_num_queries(9):
        response = client.get(LOG_URL)

    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == count


def test_a_change_after_a_staff_request_does_not_inherit_its_actor(client, administrator):
    """django-auditlog's middleware leaves its context set after the response; ours
    restores it, so work done later in the same thread (a task) is the system's."""
    campaign = make_campaign(quantity=1)
    code = Code.objects.get(campaign=campaign)
    assert client.get(LOG_URL).status_code == 200  # a request by the administrator
    before = last_entry_pk()

    codes_disable(code_ids=[code.pk])

    (entry,) = entries_for(code, after=before)
    assert (entry.actor, entry.additional_data) == (None, {"operation": "codes_disable"})


def test_an_entry_page_shows_the_actor_and_before_and_after(client, administrator):
    customer = make_customer("anna@example.com", name="Anna Schmidt")
    change_url = reverse("admin:subscriptions_customer_change", args=[customer.pk])
    before = last_entry_pk()
    client.post(change_url, page_data(client.get(change_url)) | {"name": "Anna Weber"})
    (entry,) = entries_for(customer, UPDATE, after=before)

    html = client.get(reverse("admin:auditlog_logentry_change", args=[entry.pk])).content.decode()

    assert "admin@kontor.example" in html
    assert "Anna Schmidt" in html
    assert "Anna Weber" in html


def test_releasing_a_billing_hold_in_the_admin_is_recorded_with_the_staff_actor(client):
    finance = staff_member(FINANCE, "finance@kontor.example")
    client.force_login(finance)
    hold = BillingHold.objects.create(
        customer=make_customer("held@example.com"),
        invariant="invoice_total",
        subject="invoice:1",
        detail="Lines do not add up.",
        found_at=timezone.now(),
    )
    before = last_entry_pk()

    client.post(
        reverse("admin:billing_billinghold_changelist"),
        {"action": "release", "_selected_action": [hold.pk]},
    )

    hold.refresh_from_db()
    (entry,) = entries_for(hold, UPDATE, after=before)
    assert (entry.actor, entry.additional_data) == (finance, {"operation": "billing_holds_release"})
    assert entry.changes["released_by"] == [None, finance.pk]
    assert entry.changes["released_at"][0] is None
    assert entry.changes["released_at"][1] == str(hold.released_at.replace(tzinfo=None))
