"""The merchant's dunning policy for regular subscriptions: its retry days, reminder
e-mails and final action (keep, pause access, end), in time travel."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError

from billing.models import Dunning, DunningPolicy, Invoice
from billing.services.dunning import dunning_policy
from billing.services.payments import invoice_mark_paid
from notifications.events import EventType
from notifications.models import Event
from subscriptions.services.payments import payment_method_add, subscription_change_payment_method
from tests.billing.invoicing import ISSUED_AT, issue_invoice
from tests.billing.test_collection import DECLINING_CARD, attempt_days, sweep_every_six_hours
from tests.subscriptions.test_payment_methods import card, make_customer, make_subscription

pytestmark = pytest.mark.django_db


def regular_invoice() -> Invoice:
    customer = make_customer("Anna Schmidt")
    customer.country = "DE"  # an e-invoice names the buyer's country
    customer.save(update_fields=["country"])
    subscription = make_subscription(customer)
    method = payment_method_add(customer=customer, kind="card", details=card(DECLINING_CARD))
    subscription_change_payment_method(subscription=subscription, payment_method=method)
    return issue_invoice(customer, subscription=subscription)


def event_types(*types) -> list[str]:
    return list(
        Event.objects.filter(type__in=types).order_by("occurred_at", "pk").values_list("type")
    )


def test_the_default_policy_retries_on_days_3_7_14_reminds_then_pauses_access():
    invoice = regular_invoice()

    sweep_every_six_hours(days=20)

    issued = ISSUED_AT.date()
    assert attempt_days(invoice) == [issued] + [issued + timedelta(days=d) for d in (3, 7, 14)]
    subscription = invoice.subscription
    subscription.refresh_from_db()
    assert subscription.access_paused_at == ISSUED_AT + timedelta(days=14)
    assert subscription.status == "active"
    assert subscription.payment_method.kind == "card"  # the corporate switch is not for them
    assert Invoice.objects.get(pk=invoice.pk).status == Invoice.Status.OPEN
    failures = Event.objects.filter(type=EventType.PAYMENT_FAILED).order_by("occurred_at")
    mails = [[(m["template"], m["context"].get("next_attempt")) for m in e.mails] for e in failures]
    assert mails == [
        [("payment_reminder", "April 4, 2027")],
        [("payment_reminder", "April 8, 2027")],
        [("payment_reminder", "April 15, 2027")],
        [("payment_failed", None)],
    ]
    assert event_types(EventType.PAYMENT_FAILED, EventType.SUBSCRIPTION_ACCESS_PAUSED)[-2:] == [
        (EventType.PAYMENT_FAILED,),
        (EventType.SUBSCRIPTION_ACCESS_PAUSED,),
    ]

    invoice_mark_paid(invoice=invoice, now=ISSUED_AT + timedelta(days=16))

    subscription.refresh_from_db()
    assert subscription.access_paused_at is None
    assert Dunning.objects.get(invoice=invoice).status == Dunning.Status.RECOVERED
    assert event_types(EventType.SUBSCRIPTION_ACCESS_RESUMED) == [
        (EventType.SUBSCRIPTION_ACCESS_RESUMED,)
    ]


def test_policy_that_ends_the_subscription_leaves_the_invoice_open():
    DunningPolicy.objects.create(
        pk=1, retry_days="1, 2", remind_customer=False, final_action="cancel"
    )
    invoice = regular_invoice()

    sweep_every_six_hours(days=5)

    subscription = invoice.subscription
    subscription.refresh_from_db()
    assert subscription.status == "ended"
    assert Invoice.objects.get(pk=invoice.pk).status == Invoice.Status.OPEN
    failures = Event.objects.filter(type=EventType.PAYMENT_FAILED).order_by("occurred_at")
    assert [[m["template"] for m in e.mails] for e in failures] == [[], [], ["payment_failed"]]


def test_keep_changes_nothing_but_the_dunning():
    DunningPolicy.objects.create(pk=1, retry_days="2", final_action="keep")
    invoice = regular_invoice()

    sweep_every_six_hours(days=5)

    subscription = invoice.subscription
    subscription.refresh_from_db()
    assert (subscription.status, subscription.access_paused_at) == ("active", None)
    assert invoice.dunning.status == Dunning.Status.EXHAUSTED
    assert invoice.dunning.outcome == "Subscription kept; the invoice stays open."


def test_a_policy_edited_mid_dunning_does_not_reshuffle_it():
    invoice = regular_invoice()
    sweep_every_six_hours(days=1)
    policy = dunning_policy()
    policy.retry_days = "1"
    policy.save()

    sweep_every_six_hours(days=20)

    issued = ISSUED_AT.date()
    assert attempt_days(invoice) == [issued] + [issued + timedelta(days=d) for d in (3, 7, 14)]


@pytest.mark.parametrize(
    ("days", "message"),
    [
        ("3, x", "Write whole days separated by commas"),
        ("7, 3", "in increasing order"),
        ("0", "between 1 and 60"),
        ("1,2,3,4,5,6,7", "At most 6 retries"),
        (" , ", "Give at least one day"),
        ("", "cannot be blank"),
    ],
)
def test_nonsense_retry_days_are_refused(days, message):
    policy = DunningPolicy(retry_days=days)
    with pytest.raises(ValidationError, match=message):
        policy.full_clean()
