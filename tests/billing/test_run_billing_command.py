"""`manage.py run_billing [--date]` and the daily schedule."""

from __future__ import annotations

from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command

from billing.models import BillingRun, Invoice
from notifications.scheduling import declared_tasks
from tests.billing.runs_factories import berlin
from tests.subscriptions.factories import SubscriptionFactory

pytestmark = pytest.mark.django_db


def test_run_billing_invoices_what_is_due_by_the_date_and_prints_the_counts():
    subscription = SubscriptionFactory()
    out = StringIO()
    with time_machine.travel(berlin(2027, 3, 10, 9), tick=False):
        call_command("run_billing", "--date", "2027-02-15", stdout=out)
    assert out.getvalue() == (
        "Billing run 2027-02-15: 1 subscriptions due, 2 invoices issued in 1/1 chunks, 0 errors.\n"
    )
    assert Invoice.objects.filter(subscription=subscription).count() == 2  # Jan, Feb
    assert BillingRun.objects.get().trigger == "command"


def test_run_billing_defaults_to_today_and_runs_again_harmlessly():
    SubscriptionFactory()
    with time_machine.travel(berlin(2027, 1, 20, 9), tick=False):
        call_command("run_billing", stdout=StringIO())
        out = StringIO()
        call_command("run_billing", stdout=out)
    assert "0 subscriptions due, 0 invoices issued in 0/0 chunks" in out.getvalue()
    assert Invoice.objects.count() == 1


def test_run_billing_refuses_a_malformed_date():
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("run_billing", "--date", "15.02.2027")
    assert not BillingRun.objects.exists()


def test_the_billing_run_is_scheduled_daily():
    task = next(t for t in declared_tasks() if t.name == "billing.run_billing")
    assert (task.func, task.minutes) == ("billing.tasks.run_billing", 1440)


def test_the_scheduled_task_runs_its_chunks_as_tasks(django_capture_on_commit_callbacks):
    from billing.tasks import run_billing

    SubscriptionFactory()
    with (
        time_machine.travel(berlin(2027, 1, 2, 3), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        run_id = run_billing()
    run = BillingRun.objects.get(pk=run_id)
    assert (run.trigger, run.run_date.isoformat(), run.status) == ("schedule", "2027-01-02", "done")
    assert run.invoices_created == 1


def test_run_billing_runs_chunks_on_several_workers_and_refuses_none():
    with pytest.raises(CommandError, match="at least 1"):
        call_command("run_billing", "--workers", "0")
    SubscriptionFactory()
    out = StringIO()
    with time_machine.travel(berlin(2027, 1, 20, 9), tick=False):
        call_command("run_billing", "--workers", "2", stdout=out)
    assert "1 invoices issued in 1/1 chunks" in out.getvalue()
