"""The merchant backend for payments: the dunning overview with "retry now", the dunning
policy, payment history on the customer, subscription and invoice pages, and the bank
statement import with its review list."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing.models import BankStatement, Dunning, DunningPolicy, Invoice, PaymentAttempt
from billing.services.collection import payments_collect_due
from subscriptions.roles import CUSTOMER_SUPPORT, FINANCE
from subscriptions.services.payments import payment_method_add, subscription_change_payment_method
from tests.billing.factories import staff_member
from tests.billing.invoicing import ISSUED_AT, issue_invoice, make_customer
from tests.billing.test_collection import corporate_invoice

pytestmark = pytest.mark.django_db


@pytest.fixture
def finance(client):
    client.force_login(staff_member(FINANCE, "finance@kontor.example"))
    return client


@pytest.fixture
def support(client):
    client.force_login(staff_member(CUSTOMER_SUPPORT, "support@kontor.example"))
    return client


def in_dunning(count: int = 1) -> list[Invoice]:
    invoices = [corporate_invoice() for _ in range(count)]
    payments_collect_due(now=ISSUED_AT)
    return invoices


def test_the_dunning_overview_lists_retries_in_a_fixed_number_of_queries(finance):
    url = reverse("admin:billing_dunning_changelist")
    counts = []
    for n in (1, 4):
        in_dunning(n if not counts else n - 1)
        with CaptureQueriesContext(connection) as queries:
            page = finance.get(url)
        counts.append(len(queries))
        assert page.status_code == 200
        assert page.content.decode().count("0 of 3") == n
    assert counts[0] == counts[1]
    assert "April 3, 2027" in page.content.decode()  # the next attempt, day 2


def test_retry_now_charges_once_more_and_settles_the_invoice(finance, scripted):
    scripted.reset("declined", "succeeded")
    (invoice,) = in_dunning()
    dunning = Dunning.objects.get(invoice=invoice)

    page = finance.post(reverse("admin:billing_dunning_retry", args=[dunning.pk]), follow=True)

    assert "Succeeded" in page.content.decode()
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    dunning.refresh_from_db()
    assert dunning.status == Dunning.Status.RECOVERED
    assert list(invoice.payment_attempts.values_list("number", "trigger", "status")) == [
        (3, "manual", "succeeded"),
        (2, "retry", "skipped"),
        (1, "issue", "declined"),
    ]


def test_retry_now_is_refused_for_a_subscription_paying_by_invoice(finance):
    (invoice,) = in_dunning()
    subscription = invoice.subscription
    by_invoice = payment_method_add(customer=subscription.customer, kind="invoice")
    subscription_change_payment_method(subscription=subscription, payment_method=by_invoice)
    attempts = PaymentAttempt.objects.count()

    page = finance.post(
        reverse("admin:billing_dunning_retry", args=[invoice.dunning.pk]), follow=True
    )

    assert "there is no card or mandate to charge" in page.content.decode()
    assert PaymentAttempt.objects.count() == attempts


def test_support_may_look_but_not_retry(support):
    (invoice,) = in_dunning()

    assert support.get(reverse("admin:billing_dunning_changelist")).status_code == 200
    refused = support.post(reverse("admin:billing_dunning_retry", args=[invoice.dunning.pk]))

    assert refused.status_code == 403
    assert PaymentAttempt.objects.count() == 2


def test_the_policy_opens_from_the_list_and_refuses_nonsense(finance):
    change_url = reverse("admin:billing_dunningpolicy_changelist")
    page = finance.get(change_url)
    assert page.status_code == 200
    assert 'value="3, 7, 14"' in page.content.decode()

    refused = finance.post(change_url, {"retry_days": "7, 3", "final_action": "cancel"})
    saved = finance.post(
        change_url, {"retry_days": "2, 4", "final_action": "cancel", "remind_customer": "on"}
    )

    assert "in increasing order" in refused.content.decode()
    assert saved.status_code == 302
    policy = DunningPolicy.objects.get()
    assert (policy.days, policy.final_action, policy.remind_customer) == ([2, 4], "cancel", True)


def test_customer_subscription_and_invoice_pages_show_payments_and_dunning(finance):
    (invoice,) = in_dunning()
    subscription = invoice.subscription

    customer_page = finance.get(
        reverse("admin:subscriptions_customer_change", args=[invoice.customer.pk])
    ).content.decode()
    subscription_page = finance.get(
        reverse("admin:subscriptions_subscription_change", args=[subscription.pk])
    ).content.decode()
    invoice_page = finance.get(
        reverse("admin:billing_invoice_change", args=[invoice.pk])
    ).content.decode()

    assert "Payment history" in customer_page
    assert "card_declined" in customer_page
    assert "Dunning" in subscription_page
    assert "0 of 3" in subscription_page
    assert "Scheduled retry" in invoice_page
    assert "Retrying" in invoice_page


def test_finance_imports_a_statement_and_reviews_a_line(finance):
    issue_invoice(make_customer(name="A"))
    issue_invoice(make_customer(name="B"))
    upload = reverse("admin:billing_bankstatement_import")
    content = (
        b"date,amount,reference,payer\n"
        b"2027-04-03,1234.50,2027-000001,A\n"
        b"2027-04-04,1234.50,Rechnung April,B\n"
    )
    from django.core.files.uploadedfile import SimpleUploadedFile

    page = finance.post(
        upload, {"file": SimpleUploadedFile("april.csv", content, "text/csv")}, follow=True
    )

    assert "1 paid in full, 0 part payments, 1 to review" in page.content.decode()
    line = BankStatement.objects.get().lines.get(status="review")
    review = reverse("admin:billing_bankstatementline_review", args=[line.pk])
    refused = finance.post(review, {"assign": "1", "invoice_number": "2027-000001"})
    assert "Only an open or overdue invoice can be paid." in refused.content.decode()
    done = finance.post(review, {"assign": "1", "invoice_number": "2027-000002"})
    assert done.status_code == 302
    assert Invoice.objects.get(number="2027-000002").amount_paid == Decimal("1234.50")


def test_a_bad_statement_upload_shows_why_and_stores_nothing(finance):
    from django.core.files.uploadedfile import SimpleUploadedFile

    page = finance.post(
        reverse("admin:billing_bankstatement_import"),
        {"file": SimpleUploadedFile("x.csv", b"date,amount,reference\n2027-04-03,abc,x\n")},
    )

    assert "Row 2: &quot;abc&quot; is not an amount." in page.content.decode()
    assert not BankStatement.objects.exists()


def test_support_may_not_import_statements(support):
    assert support.get(reverse("admin:billing_bankstatement_import")).status_code == 403
