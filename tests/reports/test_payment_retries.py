"""The dashboard's "failed payments in retry" against a hand-made dunning: three
corporate invoices of 1,234.50 whose card is declined, at three stages, and one that was
paid after a failure (not counted)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from billing.services.collection import attempt_execute, payments_collect_due
from billing.services.payments import invoice_mark_paid
from reports.selectors import dashboard
from tests.billing.invoicing import ISSUED_AT
from tests.billing.test_collection import corporate_invoice
from tests.reports.data import filters

pytestmark = pytest.mark.django_db


def retry(invoice, day: int) -> None:
    pending = invoice.payment_attempts.get(status="pending")
    attempt_execute(attempt_id=pending.pk, now=ISSUED_AT + timedelta(days=day))


def test_failed_payments_by_dunning_stage(django_assert_num_queries):
    _first, second, exhausted, paid = (corporate_invoice() for _ in range(4))
    payments_collect_due(now=ISSUED_AT)  # every first charge declined
    retry(second, 2)
    for day in (2, 5, 8):
        retry(exhausted, day)
    invoice_mark_paid(invoice=paid, now=ISSUED_AT + timedelta(days=1))

    with django_assert_num_queries(1):
        table = dashboard.failed_payments_in_retry(filters())

    assert [row[1:] for row in table.rows] == [
        (1, Decimal("1234.50")),  # first: waiting for the retry on day 2
        (1, Decimal("1234.50")),  # second: the day-2 retry failed too
        (0, Decimal("0.00")),
        (1, Decimal("1234.50")),  # exhausted: now paid by transfer, still open
    ]
    assert table.totals[0][1:] == (3, Decimal("3703.50"))
