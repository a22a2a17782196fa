"""Collection through the gateway and the corporate retry schedule (SPEC §4, issue 8),
travelling in time through the days after a failed charge."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import close_old_connections
from django.utils import timezone

from billing.models import Dunning, Invoice, Payment, PaymentAttempt
from billing.services.collection import IN_FLIGHT, attempt_execute, payments_collect_due
from billing.services.dunning import idempotency_key
from notifications.events import EventType
from notifications.models import Event
from subscriptions.gateways import get_gateway
from subscriptions.services.payments import payment_method_add, subscription_change_payment_method
from tests.billing.invoicing import ISSUED_AT, issue_invoice, make_customer
from tests.billing.runs_factories import berlin, corporate_subscription
from tests.factories import CorporateContractFactory
from tests.seats.factories import UserFactory
from tests.subscriptions.test_payment_methods import card

pytestmark = pytest.mark.django_db

DECLINING_CARD = "4000000000000002"


def company(email="finance@uni-musterstadt.example"):
    customer = make_customer(email=email)
    customer.main_user = UserFactory(customer=customer)
    customer.save(update_fields=["main_user"])
    return customer


def corporate_invoice(number=DECLINING_CARD, interval=(1, "month")) -> Invoice:
    customer = company()
    subscription, _account = corporate_subscription(
        contracts=[CorporateContractFactory()], started_at=berlin(2027, 1, 1), customer=customer
    )
    subscription.billing_interval_count, subscription.billing_interval_unit = interval
    subscription.save()
    method = payment_method_add(customer=customer, kind="card", details=card(number))
    subscription_change_payment_method(subscription=subscription, payment_method=method)
    return issue_invoice(customer, subscription=subscription)


def sweep_every_six_hours(days: int) -> None:
    """What the 10-minute schedule does, sampled four times a day for `days` days."""
    moment = ISSUED_AT
    while moment <= ISSUED_AT + timedelta(days=days):
        with time_machine.travel(moment, tick=False):
            payments_collect_due(now=timezone.now())
        moment += timedelta(hours=6)


def attempt_days(invoice: Invoice) -> list[date]:
    return [
        timezone.localtime(at).date()
        for at in invoice.payment_attempts.exclude(attempted_at=None)
        .order_by("number")
        .values_list("attempted_at", flat=True)
    ]


@pytest.mark.parametrize(
    ("interval", "retry_on"),
    [((1, "week"), [1, 3]), ((1, "month"), [2, 5, 8]), ((1, "year"), [3, 8, 14])],
)
def test_a_card_that_always_declines_is_retried_on_the_days_then_pays_by_invoice(
    interval, retry_on
):
    invoice = corporate_invoice(interval=interval)

    sweep_every_six_hours(days=20)

    issued = ISSUED_AT.date()
    assert attempt_days(invoice) == [issued] + [issued + timedelta(days=d) for d in retry_on]
    invoice.refresh_from_db()
    subscription = invoice.subscription
    subscription.refresh_from_db()
    assert invoice.status == Invoice.Status.OPEN  # never cancelled because a payment failed
    assert subscription.payment_method.kind == "invoice"
    assert subscription.status == "active"
    dunning = invoice.dunning
    assert (dunning.status, dunning.schedule, dunning.retries_done) == (
        Dunning.Status.EXHAUSTED,
        Dunning.Schedule.CORPORATE,
        len(retry_on),
    )
    events = list(
        Event.objects.filter(
            type__in=[EventType.PAYMENT_FAILED, EventType.PAYMENT_METHOD_SWITCHED]
        ).order_by("occurred_at", "pk")
    )
    assert [e.type for e in events] == [EventType.PAYMENT_FAILED] * (len(retry_on) + 1) + [
        EventType.PAYMENT_METHOD_SWITCHED
    ]
    # The corporate customer hears once, at the end, with the bank details.
    mails = [mail for event in events for mail in event.mails]
    assert [(m["template"], m["to"]) for m in mails] == [
        ("payment_failed", "finance@uni-musterstadt.example")
    ]
    assert mails[0]["context"]["iban"] == "DE89 3704 0044 0532 0130 00"
    assert mails[0]["context"]["reference"] == invoice.number


def test_a_charge_that_succeeds_on_the_second_retry_pays_the_invoice_and_stops(scripted):
    scripted.reset("declined", "declined", "succeeded")
    invoice = corporate_invoice(number="4242424242424242")

    sweep_every_six_hours(days=20)

    issued = ISSUED_AT.date()
    assert attempt_days(invoice) == [issued, issued + timedelta(days=2), issued + timedelta(days=5)]
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid) == (Invoice.Status.PAID, Decimal("1234.50"))
    assert invoice.dunning.status == Dunning.Status.RECOVERED
    assert not invoice.payment_attempts.filter(status=PaymentAttempt.Status.PENDING).exists()
    assert scripted.ledger == [(idempotency_key(invoice, 3), Decimal("1234.50"))]
    payment = Payment.objects.get(invoice=invoice)
    assert (payment.method, payment.source, payment.reference) == ("card", "gateway", "ch_3")
    assert invoice.subscription.payment_method.kind == "card"
    assert list(
        Event.objects.filter(type=EventType.PAYMENT_SUCCEEDED).values_list("payload__attempt")
    ) == [(3,)]


def test_a_task_executed_twice_never_charges_twice(scripted):
    scripted.reset("succeeded")
    invoice = corporate_invoice(number="4242424242424242")
    attempt = invoice.payment_attempts.get()

    with time_machine.travel(ISSUED_AT, tick=False):
        first = attempt_execute(attempt_id=attempt.pk)
        second = attempt_execute(attempt_id=attempt.pk)

    assert first.status == PaymentAttempt.Status.SUCCEEDED
    assert second is None
    assert len(scripted.ledger) == 1
    assert Payment.objects.filter(invoice=invoice).count() == 1


def test_a_worker_killed_after_the_charge_is_replayed_with_the_same_key(scripted):
    """The worker asked the gateway, which charged, and died before recording it: the
    sweep takes the attempt over after IN_FLIGHT and the gateway answers from its
    idempotency record, so the customer pays once and the invoice is settled."""
    scripted.reset("succeeded")
    invoice = corporate_invoice(number="4242424242424242")
    attempt = invoice.payment_attempts.get()
    PaymentAttempt.objects.filter(pk=attempt.pk).update(sent_at=ISSUED_AT)
    get_gateway().charge(
        token=attempt.payment_method.token,
        amount=attempt.amount,
        currency="EUR",
        idempotency_key=attempt.idempotency_key,
        description="the worker that died",
    )

    payments_collect_due(now=ISSUED_AT + IN_FLIGHT / 2)  # maybe still running: left alone
    assert invoice.payment_attempts.get().status == PaymentAttempt.Status.PENDING
    payments_collect_due(now=ISSUED_AT + IN_FLIGHT + timedelta(minutes=1))

    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    assert len(scripted.ledger) == 1
    assert scripted.calls == 2
    assert Payment.objects.filter(invoice=invoice).count() == 1


@pytest.mark.django_db(transaction=True)
def test_workers_racing_for_one_attempt_charge_it_once(scripted):
    scripted.reset("succeeded")
    invoice = corporate_invoice(number="4242424242424242")
    attempt = invoice.payment_attempts.get()
    start = threading.Barrier(4)
    results = []

    def work():
        try:
            start.wait()
            results.append(attempt_execute(attempt_id=attempt.pk, now=ISSUED_AT))
        finally:
            close_old_connections()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(scripted.ledger) == 1
    assert Payment.objects.filter(invoice=invoice).count() == 1
    assert sum(result is not None for result in results) == 1
    assert Invoice.objects.get(pk=invoice.pk).status == Invoice.Status.PAID


def test_an_unreachable_gateway_leaves_the_attempt_pending_with_its_key(scripted):
    scripted.reset("down", "succeeded")
    invoice = corporate_invoice(number="4242424242424242")

    payments_collect_due(now=ISSUED_AT)
    attempt = invoice.payment_attempts.get()
    assert attempt.status == PaymentAttempt.Status.PENDING
    assert attempt.scheduled_for == ISSUED_AT + timedelta(minutes=15)
    assert not Dunning.objects.exists()
    assert not Event.objects.filter(type=EventType.PAYMENT_FAILED).exists()

    payments_collect_due(now=ISSUED_AT + timedelta(minutes=15))

    attempt.refresh_from_db()
    assert attempt.status == PaymentAttempt.Status.SUCCEEDED
    assert scripted.ledger == [(attempt.idempotency_key, Decimal("1234.50"))]


def test_an_invoice_paid_by_transfer_during_dunning_is_not_charged_again():
    from billing.services.payments import invoice_mark_paid

    invoice = corporate_invoice()
    payments_collect_due(now=ISSUED_AT)  # declined: a retry is scheduled on day 2
    assert invoice.payment_attempts.filter(status="pending").count() == 1

    invoice_mark_paid(invoice=invoice, now=ISSUED_AT + timedelta(days=1))
    sweep_every_six_hours(days=20)

    assert attempt_days(invoice) == [ISSUED_AT.date()]
    skipped = invoice.payment_attempts.get(number=2)
    assert (skipped.status, skipped.message) == ("skipped", "The invoice was paid.")
    assert Dunning.objects.get(invoice=invoice).status == Dunning.Status.RECOVERED


def test_a_subscription_switched_to_invoice_payment_stops_the_retries():
    invoice = corporate_invoice()
    payments_collect_due(now=ISSUED_AT)
    subscription = invoice.subscription
    by_invoice = payment_method_add(customer=subscription.customer, kind="invoice")
    subscription_change_payment_method(subscription=subscription, payment_method=by_invoice)

    sweep_every_six_hours(days=20)

    assert attempt_days(invoice) == [ISSUED_AT.date()]
    assert Dunning.objects.get(invoice=invoice).status == Dunning.Status.STOPPED
    assert Invoice.objects.get(pk=invoice.pk).status == Invoice.Status.OPEN


def test_an_invoice_of_a_subscription_paying_by_invoice_is_not_charged(scripted):
    customer = company()
    subscription, _account = corporate_subscription(
        contracts=[CorporateContractFactory()], started_at=berlin(2027, 1, 1), customer=customer
    )
    invoice = issue_invoice(customer, subscription=subscription)

    sweep_every_six_hours(days=3)

    assert not invoice.payment_attempts.exists()
    assert scripted.calls == 0


def test_retry_days_run_from_the_failure_across_the_daylight_saving_switch():
    """Failure on 27 March 2027 at 06:00 Berlin (CET); the retries on days 2, 5 and 8
    fall after the switch to CEST and still happen at 06:00 local time."""
    from tests.billing.invoicing import PERIOD_START

    customer = company()
    subscription, _ = corporate_subscription(
        contracts=[CorporateContractFactory()], started_at=berlin(2027, 1, 1), customer=customer
    )
    method = payment_method_add(customer=customer, kind="card", details=card(DECLINING_CARD))
    subscription_change_payment_method(subscription=subscription, payment_method=method)
    issued = datetime(2027, 3, 27, 6, 0, tzinfo=PERIOD_START.tzinfo)
    invoice = issue_invoice(customer, subscription=subscription, now=issued)
    payments_collect_due(now=issued)

    due = list(invoice.payment_attempts.filter(number=2).values_list("scheduled_for", flat=True))
    assert [timezone.localtime(moment).strftime("%d %H:%M %Z") for moment in due] == [
        "29 06:00 CEST"
    ]


def test_a_failed_manual_charge_of_an_invoice_never_collected_starts_the_schedule(scripted):
    """The subscription paid by invoice when the invoice was issued and by card later:
    staff charge it by hand, it fails, and the corporate schedule takes over from there."""
    from billing.services.collection import payment_retry_now

    scripted.reset("declined", "declined", "succeeded")
    customer = company()
    subscription, _ = corporate_subscription(
        contracts=[CorporateContractFactory()], started_at=berlin(2027, 1, 1), customer=customer
    )
    invoice = issue_invoice(customer, subscription=subscription)
    method = payment_method_add(customer=customer, kind="card", details=card())
    subscription_change_payment_method(subscription=subscription, payment_method=method)

    with time_machine.travel(ISSUED_AT, tick=False):
        manual = payment_retry_now(invoice=invoice)
    sweep_every_six_hours(days=20)

    assert (manual.number, manual.trigger, manual.status) == (1, "manual", "declined")
    issued = ISSUED_AT.date()
    assert attempt_days(invoice) == [issued, issued + timedelta(days=2), issued + timedelta(days=5)]
    assert Invoice.objects.get(pk=invoice.pk).status == Invoice.Status.PAID


def test_the_merchants_dunning_policy_does_not_apply_to_corporate_subscriptions():
    from billing.models import DunningPolicy

    DunningPolicy.objects.create(pk=1, retry_days="1", final_action="cancel")
    invoice = corporate_invoice()

    sweep_every_six_hours(days=20)

    issued = ISSUED_AT.date()
    assert attempt_days(invoice) == [issued] + [issued + timedelta(days=d) for d in (2, 5, 8)]
    subscription = invoice.subscription
    subscription.refresh_from_db()
    assert (subscription.status, subscription.payment_method.kind) == ("active", "invoice")


def test_a_charge_under_way_when_the_invoice_is_paid_by_transfer_is_recorded_for_refund(
    scripted,
):
    """The worker sent the charge; meanwhile the customer paid by transfer. The attempt
    is not dropped: its answer is recorded, and the excess is named for a refund."""
    from billing.services.payments import invoice_mark_paid

    scripted.reset("succeeded")
    invoice = corporate_invoice(number="4242424242424242")
    attempt = invoice.payment_attempts.get()
    PaymentAttempt.objects.filter(pk=attempt.pk).update(sent_at=ISSUED_AT)
    invoice_mark_paid(invoice=invoice, now=ISSUED_AT + timedelta(minutes=1))

    payments_collect_due(now=ISSUED_AT + IN_FLIGHT + timedelta(minutes=1))

    attempt.refresh_from_db()
    assert attempt.status == PaymentAttempt.Status.SUCCEEDED
    assert attempt.message == "Collected after the invoice was settled: refund 1234.50."
    assert len(scripted.ledger) == 1
    assert list(Payment.objects.filter(invoice=invoice).values_list("source")) == [("staff",)]
    assert Invoice.objects.get(pk=invoice.pk).amount_paid == Decimal("1234.50")


def test_a_declined_charge_of_an_invoice_paid_meanwhile_starts_no_dunning():
    from billing.services.payments import invoice_mark_paid

    invoice = corporate_invoice()  # the sandbox declines this card
    attempt = invoice.payment_attempts.get()
    PaymentAttempt.objects.filter(pk=attempt.pk).update(sent_at=ISSUED_AT)
    invoice_mark_paid(invoice=invoice, now=ISSUED_AT + timedelta(minutes=1))

    payments_collect_due(now=ISSUED_AT + IN_FLIGHT + timedelta(minutes=1))

    assert invoice.payment_attempts.get().status == PaymentAttempt.Status.DECLINED
    assert not Dunning.objects.exists()
    assert invoice.payment_attempts.count() == 1
