"""Two billing runs at once, and a chunk that crashes: one invoice per subscription and
period, numbers without gaps, nothing half-done."""

from __future__ import annotations

from datetime import date

import pytest
import time_machine

from billing.models import BillingRun, Invoice, InvoiceLine, NumberSeries
from billing.services import run_issue
from billing.services.runs import billing_run_start
from tests.billing.runs_factories import access, berlin, corporate_subscription
from tests.concurrency import race
from tests.factories import CorporateContractFactory
from tests.seats.factories import UserFactory
from tests.subscriptions.factories import SubscriptionFactory

RUN_AT = berlin(2027, 2, 1, 6)


def _due_subscriptions():
    contract = CorporateContractFactory()
    subscriptions = []
    with time_machine.travel(berlin(2027, 1, 1), tick=False):
        for _ in range(3):
            subscription, account = corporate_subscription(
                contracts=[contract], started_at=berlin(2027, 1, 1)
            )
            access(account, UserFactory(), contract.product, berlin(2027, 1, 3))
            subscriptions.append(subscription)
    # Two regular monthly subscriptions: January and February are due by 1 February.
    subscriptions += [SubscriptionFactory(), SubscriptionFactory()]
    return subscriptions


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_make_one_invoice_per_period_and_gap_free_numbers(monkeypatch):
    monkeypatch.setattr("billing.tasks.render_pdfs", lambda invoice_ids: None)
    subscriptions = _due_subscriptions()

    def billing_run():
        with time_machine.travel(RUN_AT, tick=False):
            billing_run_start(run_date=date(2027, 2, 1), trigger="command", inline=True,
                              chunk_size=1)  # fmt: skip

    assert race([billing_run, billing_run], lambda error: None) == ["ok", "ok"]
    invoices = Invoice.objects.all()
    per_period = sorted((i.subscription_id, i.period_start) for i in invoices)
    assert len(per_period) == len(set(per_period)) == 3 + 2 * 2
    assert {i.subscription_id for i in invoices} == {s.pk for s in subscriptions}
    assert sorted(i.number for i in invoices) == [f"2027-{n:06d}" for n in range(1, 8)]
    assert NumberSeries.objects.get(key="invoice-2027").last_number == 7
    runs = BillingRun.objects.all()
    assert sum(run.invoices_created for run in runs) == 7
    assert {(run.status, run.chunks_done) for run in runs} == {("done", 5)}


@pytest.mark.django_db(transaction=True)
def test_a_crashed_chunk_leaves_nothing_and_the_next_run_picks_it_up(monkeypatch):
    monkeypatch.setattr("billing.tasks.render_pdfs", lambda invoice_ids: None)
    _due_subscriptions()

    def crash(invoices, now):
        raise RuntimeError("worker lost")

    with time_machine.travel(RUN_AT, tick=False):
        monkeypatch.setattr(run_issue, "_events", crash)
        failed = billing_run_start(run_date=date(2027, 2, 1), trigger="command", inline=True)
        assert (Invoice.objects.count(), InvoiceLine.objects.count()) == (0, 0)
        assert not NumberSeries.objects.filter(key="invoice-2027", last_number__gt=0).exists()
        monkeypatch.undo()
        monkeypatch.setattr("billing.tasks.render_pdfs", lambda invoice_ids: None)
        again = billing_run_start(run_date=date(2027, 2, 1), trigger="command", inline=True)
    assert (failed.status, failed.invoices_created, failed.chunks_done) == ("failed", 0, 1)
    assert "worker lost" in failed.errors[0]["message"]
    assert (again.status, again.invoices_created) == ("done", 7)
    assert sorted(Invoice.objects.values_list("number", flat=True)) == [
        f"2027-{n:06d}" for n in range(1, 8)
    ]


@pytest.mark.django_db(transaction=True)
def test_an_inline_run_with_two_workers_invoices_each_period_once_without_gaps(monkeypatch):
    monkeypatch.setattr("billing.tasks.render_pdfs", lambda invoice_ids: None)
    subscriptions = _due_subscriptions()
    with time_machine.travel(RUN_AT, tick=False):
        done = billing_run_start(
            run_date=date(2027, 2, 1), trigger="command", inline=True, workers=2, chunk_size=1
        )
    assert (done.status, done.chunks_done, done.invoices_created) == ("done", 5, 7)
    assert {i.subscription_id for i in Invoice.objects.all()} == {s.pk for s in subscriptions}
    assert sorted(Invoice.objects.values_list("number", flat=True)) == [
        f"2027-{n:06d}" for n in range(1, 8)
    ]
