"""Billing runs: corporate post-billing through three periods (time travel, line by line),
regular pre-billing with a coupon and a voucher, catch-up, errors, query counts."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D

import pytest
import time_machine

from billing.models import BillingRun, Invoice, InvoiceLine
from billing.services.runs import billing_run_start
from notifications.models import Event
from seats.services.seats import user_add_existing, user_subscription_cancel
from subscriptions.models import Charge, CouponRedemption
from tests.billing.runs_factories import access, berlin, corporate_subscription
from tests.coupons.factories import make_campaign
from tests.factories import CorporateContractFactory, OfferFactory, ProductFactory
from tests.seats.factories import UserFactory
from tests.subscriptions.factories import SubscriptionFactory

pytestmark = pytest.mark.django_db


def run(day: date, **kwargs) -> BillingRun:
    return billing_run_start(run_date=day, trigger="command", inline=True, **kwargs)


def lines_of(invoice: Invoice) -> list[tuple]:
    return [
        (
            line.kind,
            line.description,
            line.quantity,
            line.unit_price,
            line.net_amount,
            line.tax_rate,
            line.tax_amount,
            line.gross_amount,
            line.counting,
        )
        for line in invoice.lines.order_by("position")
    ]


def totals(invoice: Invoice) -> tuple:
    return invoice.net_amount, invoice.tax_amount, invoice.gross_amount


@pytest.fixture
def campus():
    """Two contracts: "Campus licence" graduated (≤2 users 10.00, then 8.00) with a base
    fee of 50.00 at 19 %, counted at any time; "E-paper" per package of 10 at 5.00,
    7 %, counted at the period end. Monthly accounting from 1 January 2027 (Berlin)."""
    campus = CorporateContractFactory(
        product=ProductFactory(name="Campus licence", tax_rate=D("19.00")),
        tiers=[(2, "10.00"), (None, "8.00")],
        tier_mode="graduated",
        base_fee_amount=D("50.00"),
    )
    epaper = CorporateContractFactory(
        product=ProductFactory(name="E-paper", tax_rate=D("7.00")),
        per_package=True,
        user_counting="period_end",
    )
    with time_machine.travel(berlin(2027, 1, 1), tick=False):
        subscription, account = corporate_subscription(
            contracts=[campus, epaper], started_at=berlin(2027, 1, 1)
        )
    return subscription, account


def test_three_accounting_periods_invoice_line_by_line(campus):
    subscription, account = campus
    users = {n: UserFactory(email=f"u{n}@uni.example") for n in range(1, 7)}

    def add(n, when):
        with time_machine.travel(when, tick=False):
            return user_add_existing(account=account, user=users[n], actor=None)

    def cancel(user_subscriptions, when):
        with time_machine.travel(when, tick=False):
            for user_subscription in user_subscriptions:
                user_subscription_cancel(user_subscription=user_subscription, mode="now")

    # January: U1, U2 from 5 Jan, U3 from 20 Jan.
    u1, u2 = add(1, berlin(2027, 1, 5)), add(2, berlin(2027, 1, 5))
    u3 = add(3, berlin(2027, 1, 20))
    with time_machine.travel(berlin(2027, 1, 31, 12), tick=False):
        assert run(date(2027, 1, 31)).invoices_created == 0  # January has not ended
    with time_machine.travel(berlin(2027, 2, 1, 6), tick=False):
        january_run = run(date(2027, 2, 1))
    # February: U2 cancelled on 10 Feb, U4 added on 15 Feb.
    cancel(u2, berlin(2027, 2, 10))
    u4 = add(4, berlin(2027, 2, 15))
    with time_machine.travel(berlin(2027, 3, 1, 6), tick=False):
        run(date(2027, 3, 1))
    # March: U1 cancelled 3 Mar, U3 10 Mar, U5 added 20 Mar, U6 on the last evening;
    # an early-cancellation penalty waits for the next invoice.
    cancel(u1, berlin(2027, 3, 3))
    cancel(u3, berlin(2027, 3, 10))
    add(5, berlin(2027, 3, 20))
    add(6, berlin(2027, 3, 31, 23))
    Charge.objects.create(
        subscription=subscription,
        kind=Charge.Kind.PENALTY,
        description="Early-cancellation fee",
        amount=D("100.00"),
        currency="EUR",
        tax_rate=D("19.00"),
    )
    with time_machine.travel(berlin(2027, 4, 1, 6), tick=False):
        run(date(2027, 4, 1))
    assert u4  # used above

    invoices = list(Invoice.objects.filter(subscription=subscription).order_by("period_start"))
    assert [(i.number, i.period_start, i.period_end) for i in invoices] == [
        ("2027-000001", berlin(2027, 1, 1), berlin(2027, 2, 1)),
        ("2027-000002", berlin(2027, 2, 1), berlin(2027, 3, 1)),
        ("2027-000003", berlin(2027, 3, 1), berlin(2027, 4, 1)),
    ]
    assert {(i.status, i.billing, i.billing_run_id) for i in invoices[:1]} == {
        ("open", "in_arrears", january_run.pk)
    }
    assert invoices[0].due_at == berlin(2027, 2, 1, 6) + timedelta(days=14)
    any_time = ("usage", "Campus licence: Users active at any time in the period")
    base_fee = ("base_fee", "Campus licence: base fee", D(1), D("50.0000"))
    epaper = ("usage", "E-paper: Users active at the end of the period")
    # January: 3 users any time (2 x 10.00 + 1 x 8.00); 3 at the end = 1 package.
    assert lines_of(invoices[0]) == [
        (*any_time, D(3), D("9.3333"), D("28.00"), D("19.00"), D("5.32"), D("33.32"), "any_time"),
        (*base_fee, D("50.00"), D("19.00"), D("9.50"), D("59.50"), ""),
        (*epaper, D(3), D("1.6667"), D("5.00"), D("7.00"), D("0.35"), D("5.35"), "period_end"),
    ]
    assert totals(invoices[0]) == (D("83.00"), D("15.17"), D("98.17"))
    # February: U1-U4 any time (20.00 + 16.00); U1, U3, U4 at the end.
    assert lines_of(invoices[1]) == [
        (*any_time, D(4), D("9.0000"), D("36.00"), D("19.00"), D("6.84"), D("42.84"), "any_time"),
        (*base_fee, D("50.00"), D("19.00"), D("9.50"), D("59.50"), ""),
        (*epaper, D(3), D("1.6667"), D("5.00"), D("7.00"), D("0.35"), D("5.35"), "period_end"),
    ]
    assert totals(invoices[1]) == (D("91.00"), D("16.69"), D("107.69"))
    # March: U1, U3, U4, U5, U6 any time (20.00 + 24.00); U4, U5, U6 at the end; penalty.
    assert lines_of(invoices[2]) == [
        (*any_time, D(5), D("8.8000"), D("44.00"), D("19.00"), D("8.36"), D("52.36"), "any_time"),
        (*base_fee, D("50.00"), D("19.00"), D("9.50"), D("59.50"), ""),
        (*epaper, D(3), D("1.6667"), D("5.00"), D("7.00"), D("0.35"), D("5.35"), "period_end"),
        (
            "penalty", "Early-cancellation fee", D(1), D("100.0000"), D("100.00"), D("19.00"),
            D("19.00"), D("119.00"), "",
        ),
    ]  # fmt: skip
    assert totals(invoices[2]) == (D("199.00"), D("37.21"), D("236.21"))
    assert Charge.objects.get(subscription=subscription).invoiced_at == berlin(2027, 4, 1, 6)
    assert Event.objects.filter(type="invoice.issued").count() == 3


def test_a_second_run_on_the_same_day_invoices_nothing_again(campus):
    subscription, _account = campus
    with time_machine.travel(berlin(2027, 2, 1, 6), tick=False):
        first = run(date(2027, 2, 1))
        second = run(date(2027, 2, 1))
    assert (first.invoices_created, second.invoices_created) == (1, 0)
    assert (second.subscriptions_due, second.status) == (0, "done")
    assert Invoice.objects.filter(subscription=subscription).count() == 1


def test_catch_up_after_downtime_invoices_every_elapsed_period_in_order(campus):
    subscription, account = campus
    access(account, UserFactory(), subscription.items.first().product, berlin(2027, 1, 10))
    with time_machine.travel(berlin(2027, 4, 15, 9), tick=False):
        done = run(date(2027, 4, 15))
    invoices = Invoice.objects.filter(subscription=subscription).order_by("period_start")
    assert done.invoices_created == 3
    assert [(i.number, i.period_start) for i in invoices] == [
        ("2027-000001", berlin(2027, 1, 1)),
        ("2027-000002", berlin(2027, 2, 1)),
        ("2027-000003", berlin(2027, 3, 1)),
    ]


def test_a_contract_without_valid_tiers_is_reported_while_others_are_invoiced(campus):
    subscription, _account = campus
    broken = CorporateContractFactory(tiers=[(10, "2.00")])  # no open last tier
    with time_machine.travel(berlin(2027, 1, 1), tick=False):
        bad, _ = corporate_subscription(contracts=[broken], started_at=berlin(2027, 1, 1))
    with time_machine.travel(berlin(2027, 2, 1, 6), tick=False):
        done = run(date(2027, 2, 1))
    assert (done.subscriptions_due, done.invoices_created, done.status) == (2, 1, "failed")
    assert done.errors == [
        {
            "subscription": str(bad.public_id),
            "customer": bad.customer.name,
            "message": f"Contract {broken.code} cannot price users: "
            "The last tier must be open-ended (up_to=None).",
        }
    ]
    assert Invoice.objects.filter(subscription=subscription).count() == 1
    assert not Invoice.objects.filter(subscription=bad).exists()
    assert done.finished_at is not None


def _redeem(subscription, kind, discount, periods):
    campaign = make_campaign(kind=kind) if kind == "voucher" else make_campaign()
    return CouponRedemption.objects.create(
        code=campaign.codes.order_by("id").first(),
        campaign=campaign,
        customer=subscription.customer,
        subscription=subscription,
        kind=kind,
        list_price=subscription.price_amount,
        discount_amount=discount,
        currency="EUR",
        periods=periods,
        redeemed_at=subscription.started_at,
    )


def test_regular_subscriptions_are_invoiced_in_advance_less_coupon_and_voucher():
    """A 20 % coupon on every period of a 9.90 monthly subscription, and a voucher that
    makes another free for two periods, after which it ends."""
    product = ProductFactory(name="Daily news", tax_rate=D("7.00"))
    offer = OfferFactory(name="News monthly", product=product)
    coupon_sub = SubscriptionFactory(offer=offer)
    coupon = _redeem(coupon_sub, "coupon", D("1.98"), None)
    voucher_sub = SubscriptionFactory(offer=offer, cancelled=True)
    voucher_sub.ends_at = berlin(2027, 3, 1)
    voucher_sub.save(update_fields=["ends_at"])
    voucher = _redeem(voucher_sub, "voucher", D("9.90"), 2)

    for day in (date(2027, 1, 1), date(2027, 2, 1), date(2027, 3, 1)):
        with time_machine.travel(berlin(day.year, day.month, day.day, 0, 30), tick=False):
            run(day)

    coupon_invoices = list(coupon_sub.invoices.order_by("period_start"))
    assert [(i.period_start, i.billing) for i in coupon_invoices] == [
        (berlin(2027, 1, 1), "in_advance"),
        (berlin(2027, 2, 1), "in_advance"),
        (berlin(2027, 3, 1), "in_advance"),
    ]
    for invoice in coupon_invoices:
        assert [line[:8] for line in lines_of(invoice)] == [
            ("subscription", "News monthly", D(1), D("9.9000"), D("9.90"), D("7.00"), D("0.69"),
             D("10.59")),
            ("discount", f"Coupon {coupon.code.code}", D(1), D("-1.9800"), D("-1.98"),
             D("7.00"), D("-0.14"), D("-2.12")),
        ]  # fmt: skip
        assert totals(invoice) == (D("7.92"), D("0.55"), D("8.47"))
        assert invoice.status == "open"
    voucher_invoices = list(voucher_sub.invoices.order_by("period_start"))
    assert [i.period_start for i in voucher_invoices] == [berlin(2027, 1, 1), berlin(2027, 2, 1)]
    for invoice in voucher_invoices:
        assert [line[:5] for line in lines_of(invoice)] == [
            ("subscription", "News monthly", D(1), D("9.9000"), D("9.90")),
            ("discount", f"Voucher {voucher.code.code}", D(1), D("-9.9000"), D("-9.90")),
        ]
        assert totals(invoice) == (D("0.00"), D("0.00"), D("0.00"))
        assert invoice.status == "paid"


def test_a_coupon_for_two_periods_stops_after_them():
    subscription = SubscriptionFactory(offer=OfferFactory(price_amount=D("10.00")))
    _redeem(subscription, "coupon", D("2.50"), 2)
    with time_machine.travel(berlin(2027, 3, 1, 8), tick=False):
        run(date(2027, 3, 1))
    nets = [i.net_amount for i in subscription.invoices.order_by("period_start")]
    assert nets == [D("7.50"), D("7.50"), D("10.00")]


def test_a_one_time_purchase_gets_one_invoice_at_purchase():
    subscription = SubscriptionFactory(offer=OfferFactory(single_product=True))
    with time_machine.travel(berlin(2027, 5, 1, 8), tick=False):
        run(date(2027, 5, 1))
        run(date(2027, 5, 1))
    invoice = subscription.invoices.get()
    assert (invoice.billing, invoice.period_start, invoice.period_end) == (
        "one_off",
        subscription.started_at,
        None,
    )
    assert invoice.lines.get().kind == InvoiceLine.Kind.SUBSCRIPTION


def test_a_penalty_of_an_ended_subscription_gets_an_invoice_of_its_own():
    subscription = SubscriptionFactory(ended=True)
    with time_machine.travel(berlin(2027, 2, 3), tick=False):
        run(date(2027, 2, 3))  # January was invoiced
        Charge.objects.create(
            subscription=subscription,
            kind=Charge.Kind.PENALTY,
            description="Early-cancellation fee",
            amount=D("20.00"),
            currency="EUR",
            tax_rate=D("19.00"),
        )
        run(date(2027, 2, 3))
    penalty = subscription.invoices.get(period_start__isnull=True)
    assert (penalty.billing, penalty.gross_amount) == ("one_off", D("23.80"))
    assert subscription.invoices.count() == 2


def test_queries_grow_with_chunks_not_subscriptions():
    """Ten, then thirty more corporate subscriptions with users, in chunks of 100: the
    same number of queries."""

    def make(n):
        contract = CorporateContractFactory()
        with time_machine.travel(berlin(2027, 1, 1), tick=False):
            for _ in range(n):
                _subscription, account = corporate_subscription(
                    contracts=[contract], started_at=berlin(2027, 1, 1)
                )
                access(account, UserFactory(), contract.product, berlin(2027, 1, 3))

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = []
    for n, day in ((1, 1), (10, 2), (30, 3)):  # the first one makes the number series
        make(n)
        with (
            time_machine.travel(berlin(2027, 2, day, 6), tick=False),
            CaptureQueriesContext(connection) as queries,
        ):
            done = run(date(2027, 2, day), chunk_size=100)
        assert done.invoices_created == n
        counts.append(len(queries))
    # 28: the first payment attempts (one INSERT … SELECT) and the chunk's payment methods
    # (the e-invoice's payment means).
    assert counts[1:] == [28, 28]


def test_each_issued_event_is_what_issued_event_builds_in_every_language():
    from dataclasses import asdict

    from billing.services.invoices import issued_event

    german = SubscriptionFactory(customer__language="de")
    english = SubscriptionFactory(customer__language="en")
    with time_machine.travel(berlin(2027, 2, 1, 6), tick=False):
        run(date(2027, 2, 1))
        now = berlin(2027, 2, 1, 6)
        invoices = Invoice.objects.filter(subscription__in=[german, english]).select_related(
            "customer", "subscription"
        )
        assert invoices.count() == 4
        for invoice in invoices:
            event = Event.objects.get(subject_id=str(invoice.public_id))
            expected = issued_event(invoice, now)
            assert event.type == "invoice.issued"
            assert event.payload == expected["payload"]
            assert event.mails == [asdict(mail) for mail in expected["mails"]]
    assert {e.mails[0]["context"]["due_date"] for e in Event.objects.all()} == {
        "Feb. 15, 2027",
        "15. Februar 2027",
    }


@pytest.mark.parametrize(
    ("counting", "users", "label"),
    [
        ("peak", 2, "Peak number of users active at the same time"),
        ("daily_average", 1, "Average number of users active per day (rounded up to a whole user)"),
        ("period_end", 1, "Users active at the end of the period"),
        ("any_time", 3, "Users active at any time in the period"),
    ],
)
def test_the_usage_line_counts_as_the_contract_says_and_says_how(counting, users, label):
    # January (31 days): A 1-10 Jan, B 5-20 Jan, C only on 31 Jan → peak 2 (5-10 Jan),
    # 10 + 16 + 1 = 27 user-days / 31 → 1, at the end C alone, any time 3.
    contract = CorporateContractFactory(
        product=ProductFactory(name="Library"), user_counting=counting
    )
    with time_machine.travel(berlin(2027, 1, 1), tick=False):
        subscription, account = corporate_subscription(
            contracts=[contract], started_at=berlin(2027, 1, 1)
        )
    access(account, UserFactory(), contract.product, berlin(2027, 1, 1), berlin(2027, 1, 11))
    access(account, UserFactory(), contract.product, berlin(2027, 1, 5), berlin(2027, 1, 21))
    access(account, UserFactory(), contract.product, berlin(2027, 1, 31, 18))
    with time_machine.travel(berlin(2027, 2, 1, 6), tick=False):
        run(date(2027, 2, 1))
    line = subscription.invoices.get().lines.get()
    assert (line.counting, line.quantity, line.description) == (
        counting,
        D(users),
        f"Library: {label}",
    )
    assert line.net_amount == D("2.50") * users


def test_invoice_rows_that_differ_from_build_fall_back_to_it(monkeypatch, caplog):
    """The run writes rows without model instances and checks the first against
    InvoiceDraft.build(); were they ever to differ, build() is used for every draft."""
    from billing.services import run_issue

    real = run_issue._draft_rows

    def drifted(draft):
        invoice, lines = real(draft)
        invoice.customer_name = "Somebody else"
        return invoice, lines

    monkeypatch.setattr(run_issue, "_draft_rows", drifted)
    subscription = SubscriptionFactory()
    with time_machine.travel(berlin(2027, 2, 1, 6), tick=False):
        run(date(2027, 2, 1))
    names = {i.customer_name for i in subscription.invoices.all()}
    assert names == {subscription.customer.name}
    assert "differ from InvoiceDraft.build()" in caplog.text


def test_a_customer_without_a_usable_address_gets_no_mail_but_the_chunk_is_invoiced():
    broken = SubscriptionFactory()
    type(broken.customer).objects.filter(pk=broken.customer_id).update(email="not-an-address")
    fine = SubscriptionFactory()
    with time_machine.travel(berlin(2027, 1, 1, 8), tick=False):
        finished = run(date(2027, 1, 1))

    assert finished.errors == []
    assert Invoice.objects.filter(subscription__in=[broken, fine]).count() == 2
    mails = {
        event.payload["subscription"]: event.mails
        for event in Event.objects.filter(type="invoice.issued")
    }
    assert mails[str(broken.public_id)] == []
    assert mails[str(fine.public_id)][0]["to"] == fine.customer.email


def test_a_run_left_open_by_a_lost_task_is_closed_by_the_next_daily_run():
    from billing.services.runs import billing_run_for_date

    started = berlin(2027, 3, 1, 6)
    lost = BillingRun.objects.create(
        run_date=date(2027, 3, 1), started_at=started, chunks_total=2, chunks_done=1
    )
    recent = BillingRun.objects.create(
        run_date=date(2027, 3, 2), started_at=berlin(2027, 3, 2, 5), chunks_total=1
    )
    with time_machine.travel(berlin(2027, 3, 2, 6), tick=False):
        billing_run_for_date()

    lost.refresh_from_db()
    recent.refresh_from_db()
    assert lost.status == BillingRun.Status.FAILED
    assert lost.finished_at == berlin(2027, 3, 2, 6)
    assert lost.errors[-1]["message"].startswith("1 chunk(s) never finished")
    assert recent.status == BillingRun.Status.RUNNING
