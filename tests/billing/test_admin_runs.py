"""The billing run admin (read-only list and detail with the errors) and the invoice
line list finance filters and exports from."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing.models import BillingRun
from subscriptions.roles import CUSTOMER_SUPPORT, FINANCE
from tests.billing.factories import line, make_invoice, staff_member

pytestmark = pytest.mark.django_db

STARTED = datetime(2027, 2, 1, 2, 0, tzinfo=UTC)


@pytest.fixture
def finance(client):
    client.force_login(staff_member(FINANCE, "finance@kontor.example"))
    return client


def make_run(**values) -> BillingRun:
    defaults = {
        "run_date": date(2027, 2, 1),
        "status": BillingRun.Status.DONE,
        "trigger": "schedule",
        "started_at": STARTED,
        "finished_at": datetime(2027, 2, 1, 2, 5, tzinfo=UTC),
        "subscriptions_due": 120,
        "chunks_total": 3,
        "chunks_done": 3,
        "invoices_created": 118,
    }
    return BillingRun.objects.create(**{**defaults, **values})


def get_counting_queries(client, url: str):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return response, len(queries)


def test_run_list_shows_progress_counts_and_errors(finance):
    make_run(
        status=BillingRun.Status.FAILED,
        errors=[{"subscription": 7, "error": "No contract"}, "Chunk 2 timed out"],
    )

    response = finance.get(reverse("admin:billing_billingrun_changelist"))

    assert response.status_code == 200
    cl = response.context["cl"]
    assert list(cl.list_display) == [
        "run_date",
        "status",
        "started_at",
        "finished_at",
        "subscriptions_due",
        "chunks",
        "invoices_created",
        "error_count",
    ]
    page = response.content.decode()
    assert "3 / 3" in page
    assert "Done with errors" in page
    assert '<td class="field-error_count">2</td>' in page
    assert reverse("admin:billing_finance_exports") in page


def test_run_list_runs_the_same_queries_for_one_and_ten_runs(finance):
    make_run()
    _, one = get_counting_queries(finance, reverse("admin:billing_billingrun_changelist"))
    for day in range(2, 11):
        make_run(run_date=date(2027, 2, day))
    _, ten = get_counting_queries(finance, reverse("admin:billing_billingrun_changelist"))

    assert one == ten


def test_run_detail_lists_the_errors_read_only(finance):
    run = make_run(
        status=BillingRun.Status.FAILED,
        errors=[
            {"subscription": "4f1c", "customer": "Uni <b>X</b>", "message": "No contract"},
            "Chunk 2 timed out",
        ],
    )

    response = finance.get(reverse("admin:billing_billingrun_change", args=[run.pk]))

    assert response.status_code == 200
    page = response.content.decode()
    assert "<li>No contract (customer: Uni &lt;b&gt;X&lt;/b&gt;; subscription: 4f1c)</li>" in page
    assert "<li>Chunk 2 timed out</li>" in page
    assert 'name="_save"' not in page
    assert 'name="run_date"' not in page


def test_runs_cannot_be_added_changed_or_deleted(finance):
    run = make_run()

    assert finance.get(reverse("admin:billing_billingrun_add")).status_code == 403
    assert finance.get(reverse("admin:billing_billingrun_delete", args=[run.pk])).status_code == 403
    changed = finance.post(
        reverse("admin:billing_billingrun_change", args=[run.pk]), {"invoices_created": 1}
    )
    assert changed.status_code == 403
    run.refresh_from_db()
    assert run.invoices_created == 118


def test_customer_support_reads_runs(client):
    client.force_login(staff_member(CUSTOMER_SUPPORT, "support@kontor.example"))
    run = make_run()

    assert client.get(reverse("admin:billing_billingrun_changelist")).status_code == 200
    assert client.get(reverse("admin:billing_billingrun_change", args=[run.pk])).status_code == 200


def test_invoice_line_list_renders_with_fixed_queries(finance):
    make_invoice(lines=[line("A"), line("B")])
    _, two = get_counting_queries(finance, reverse("admin:billing_invoiceline_changelist"))
    for _ in range(4):
        make_invoice(lines=[line("C"), line("D")])
    response, ten = get_counting_queries(finance, reverse("admin:billing_invoiceline_changelist"))

    assert response.context["cl"].result_count == 10
    assert two == ten
