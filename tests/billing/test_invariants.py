"""Issue 10, invariant check: for each invariant, data corrupted with raw SQL (past the
services, the constraints and the immutability trigger, all inside the test's
transaction) is reported row for row, holds that account's billing while the others
are billed, and shows in the admin until staff release it."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal as D

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse

from billing.invariants import find_violations
from billing.models import BillingHold
from billing.services.holds import billing_holds_release, invariants_check
from billing.services.runs import billing_run_start
from seats.models import SeatAccount, UserSubscription
from subscriptions.roles import CUSTOMER_SUPPORT, FINANCE
from tests.billing.factories import staff_member
from tests.billing.runs_factories import berlin
from tests.coupons.factories import make_campaign
from tests.factories import OfferFactory, ProductFactory
from tests.seats.factories import UserFactory
from tests.subscriptions.factories import CustomerFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db

FEBRUARY_RUN = berlin(2027, 2, 1, 8)
MARCH_RUN = berlin(2027, 3, 1, 8)


def run(day: date):
    return billing_run_start(run_date=day, trigger="command", inline=True)


def sql(statement: str, params=None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


class World:
    """Three customers, each with a monthly 10.00 subscription from 1 January 2027 and a
    seat account for two users holding one; January and February invoiced by the run
    of 1 February. `victim` is the one whose data each test corrupts."""

    def __init__(self) -> None:
        product = ProductFactory(name="Daily news", tax_rate=D("19.00"))
        offer = OfferFactory(name="News monthly", product=product, price_amount=D("10.00"))
        self.product = product
        self.subs = {}
        self.accounts = {}
        for name in ("Victim GmbH", "Bystander AG", "Other KG"):
            sub = SubscriptionFactory(offer=offer, customer=CustomerFactory(name=name))
            account = SeatAccount.objects.create(subscription=sub, maximum_users=2)
            UserSubscription.objects.create(
                seat_account=account, user=UserFactory(), product=product,
                started_at=berlin(2027, 1, 5),
            )  # fmt: skip
            self.subs[name], self.accounts[name] = sub, account
        with time_machine.travel(FEBRUARY_RUN, tick=False):
            run(date(2027, 2, 1))

    @property
    def victim(self):
        return self.subs["Victim GmbH"]

    def invoice_counts(self) -> dict[str, int]:
        return {name: sub.invoices.count() for name, sub in self.subs.items()}


@pytest.fixture
def world() -> World:
    return World()


# --- one corruption per invariant, each returning the subject it expects --------------


def duplicate_invoice(world: World) -> str:
    """A second invoice for February: the unique index is dropped (in this transaction)."""
    sql("DROP INDEX invoice_once_per_subscription_and_period")
    february = world.victim.invoices.get(period_start=berlin(2027, 2, 1))
    [(new_id,)] = sql(
        """INSERT INTO billing_invoice (public_id, kind, number, status, customer_id,
             subscription_id, billing, period_start, period_end, currency, language,
             customer_name, customer_address, customer_country, customer_vat_id,
             reverse_charge, note, net_amount, tax_amount, gross_amount, amount_paid,
             issued_at, due_at, created_at, pdf)
           SELECT %s, kind, 'X-1', status, customer_id, subscription_id, billing,
             period_start, period_end, currency, language, customer_name,
             customer_address, customer_country, customer_vat_id, reverse_charge, note,
             0, 0, 0, 0, issued_at, due_at, created_at, ''
           FROM billing_invoice WHERE id = %s RETURNING id""",
        [uuid.uuid4(), february.pk],
    )
    return f"invoice:{new_id}"


def totals_off_by_a_cent(world: World) -> str:
    """One line's tax a cent above its rounded value: the trigger is disabled for it."""
    invoice = world.victim.invoices.get(period_start=berlin(2027, 1, 1))
    sql("SET CONSTRAINTS ALL IMMEDIATE")  # ALTER TABLE refuses pending (deferred) checks
    sql("ALTER TABLE billing_invoiceline DISABLE TRIGGER billing_invoiceline_immutable")
    sql(
        "UPDATE billing_invoiceline SET tax_amount = tax_amount + 0.01, "
        "gross_amount = gross_amount + 0.01 WHERE invoice_id = %s",
        [invoice.pk],
    )
    sql("ALTER TABLE billing_invoiceline ENABLE TRIGGER billing_invoiceline_immutable")
    sql("SET CONSTRAINTS ALL DEFERRED")
    return f"invoice:{invoice.pk}"


def user_before_parent(world: World) -> str:
    account = world.accounts["Victim GmbH"]
    [(pk,)] = sql(
        """INSERT INTO seats_usersubscription (public_id, seat_account_id, user_id,
             product_id, state, started_at, created_at)
           VALUES (%s, %s, %s, %s, 'active', %s, now()) RETURNING id""",
        [uuid.uuid4(), account.pk, UserFactory().pk, world.product.pk, berlin(2026, 12, 20)],
    )
    return f"user_subscription:{pk}"


def seats_over_maximum(world: World) -> str:
    account = world.accounts["Victim GmbH"]
    for _ in range(2):  # 1 + 2 users on a maximum of 2
        sql(
            """INSERT INTO seats_usersubscription (public_id, seat_account_id, user_id,
                 product_id, state, started_at, created_at)
               VALUES (%s, %s, %s, %s, 'active', %s, now())""",
            [uuid.uuid4(), account.pk, UserFactory().pk, world.product.pk, berlin(2027, 1, 9)],
        )
    return f"seat_account:{account.pk}"


def coupon_over_limit(world: World) -> str:
    """A single-use code redeemed by Other KG, then once more by the victim."""
    campaign = make_campaign(kind="voucher")
    code = campaign.codes.order_by("id").first()
    assert code.redemption_limit == 1
    other = world.subs["Other KG"]
    rows = []
    for sub, at in ((other, berlin(2027, 1, 1)), (world.victim, berlin(2027, 1, 2))):
        [(pk,)] = sql(
            """INSERT INTO subscriptions_couponredemption (public_id, code_id, campaign_id,
                 customer_id, subscription_id, kind, list_price, discount_amount, currency,
                 redeemed_at)
               VALUES (%s, %s, %s, %s, %s, 'voucher', 0, 0, 'EUR', %s) RETURNING id""",
            [uuid.uuid4(), code.pk, campaign.pk, sub.customer_id, sub.pk, at],
        )
        rows.append(pk)
    return f"coupon_redemption:{rows[1]}"


def period_never_billed(world: World) -> str:
    """The start moved back a month: December 2026 has no invoice, and the run, which
    continues after the last invoiced period, would never bill it."""
    sql(
        "UPDATE subscriptions_subscription SET started_at = %s WHERE id = %s",
        [berlin(2026, 12, 1), world.victim.pk],
    )
    return f"subscription:{world.victim.pk}"


CORRUPTIONS = {
    "invoice_once_per_period": duplicate_invoice,
    "invoice_totals": totals_off_by_a_cent,
    "user_subscription_in_parent": user_before_parent,
    "seats_within_maximum": seats_over_maximum,
    "coupon_redemptions_within_limit": coupon_over_limit,
    "elapsed_periods_billed": period_never_billed,
}


def test_clean_data_breaks_no_invariant(world):
    assert find_violations() == []
    assert invariants_check().holds_created == 0


@pytest.mark.parametrize("invariant", list(CORRUPTIONS))
def test_a_corrupted_row_is_reported_holds_its_account_and_shows_to_staff(world, invariant, client):
    subject = CORRUPTIONS[invariant](world)
    victim = world.victim.customer

    with time_machine.travel(MARCH_RUN - timedelta(hours=1), tick=False):
        result = invariants_check()

    assert [(v.invariant, v.customer_id, v.subject) for v in result.violations] == [
        (invariant, victim.pk, subject)
    ]
    hold = BillingHold.objects.get()
    assert (hold.customer_id, hold.invariant, hold.subject, hold.released_at) == (
        victim.pk, invariant, subject, None,
    )  # fmt: skip

    before = world.invoice_counts()
    with time_machine.travel(MARCH_RUN, tick=False):
        run(date(2027, 3, 1))
    after = world.invoice_counts()
    assert after == {
        "Victim GmbH": before["Victim GmbH"],  # held: nothing billed
        "Bystander AG": before["Bystander AG"] + 1,
        "Other KG": before["Other KG"] + 1,
    }

    client.force_login(staff_member(FINANCE, "finance@kontor.example"))
    page = client.get(reverse("admin:billing_billinghold_changelist") + "?state=open")
    assert page.status_code == 200
    assert list(page.context["cl"].result_list) == [hold]
    assert "Victim GmbH" in page.content.decode()
    assert hold.detail in page.content.decode()
    runs = client.get(reverse("admin:billing_billingrun_changelist"))
    [message] = [str(m) for m in runs.context["messages"]]
    assert message.startswith(
        "Billing is held for 1 customer account: its data breaks a billing rule."
    )
    assert reverse("admin:billing_billinghold_changelist") + "?state=open" in message


def test_the_check_records_an_open_violation_once(world):
    user_before_parent(world)
    first, second = invariants_check(), invariants_check()
    assert (len(first.violations), first.holds_created) == (1, 1)
    assert (len(second.violations), second.holds_created) == (1, 0)
    assert BillingHold.objects.count() == 1


def test_staff_release_a_hold_and_the_next_run_bills_the_account(world, client):
    seats_over_maximum(world)
    invariants_check()
    hold = BillingHold.objects.get()
    finance = staff_member(FINANCE, "finance@kontor.example")
    client.force_login(finance)

    response = client.post(
        reverse("admin:billing_billinghold_changelist"),
        {"action": "release", "_selected_action": [hold.pk]},
        follow=True,
    )

    assert "1 hold released" in response.content.decode()
    hold.refresh_from_db()
    assert (hold.released_by, hold.released_at is not None) == (finance, True)
    with time_machine.travel(MARCH_RUN, tick=False):
        run(date(2027, 3, 1))
    assert world.invoice_counts() == {"Victim GmbH": 3, "Bystander AG": 3, "Other KG": 3}
    # Still broken: the next check holds the account again, as a new row.
    assert invariants_check().holds_created == 1
    assert BillingHold.objects.filter(released_at__isnull=True).count() == 1


def test_support_staff_see_holds_but_cannot_release_them(world, client):
    seats_over_maximum(world)
    invariants_check()
    hold = BillingHold.objects.get()
    client.force_login(staff_member(CUSTOMER_SUPPORT, "support@kontor.example"))

    page = client.get(reverse("admin:billing_billinghold_changelist"))
    assert page.status_code == 200
    assert page.context["action_form"] is None  # no action they may take
    client.post(
        reverse("admin:billing_billinghold_changelist"),
        {"action": "release", "_selected_action": [hold.pk]},
    )
    hold.refresh_from_db()
    assert hold.released_at is None


def test_release_leaves_released_holds_alone(world):
    seats_over_maximum(world)
    invariants_check()
    hold = BillingHold.objects.get()
    assert billing_holds_release(hold_ids=[hold.pk], actor=None) == 1
    assert billing_holds_release(hold_ids=[hold.pk], actor=None) == 0


def test_a_hold_placed_while_a_run_is_under_way_skips_the_account_in_its_chunk(world):
    """The chunk re-checks holds under its lock (a run's ids were found before)."""
    from billing.services.runs import billing_run_chunk, due_subscription_ids, run_cutoff

    with time_machine.travel(MARCH_RUN, tick=False):
        ids = due_subscription_ids(cutoff=run_cutoff(date(2027, 3, 1)), now=MARCH_RUN)
        assert len(ids) == 3
        seats_over_maximum(world)
        invariants_check()
        started = billing_run_start(run_date=date(2027, 3, 1), inline=False)
        assert started.subscriptions_due == 2  # the held one is not even due
        issued = billing_run_chunk(run_id=started.pk, subscription_ids=ids)
    assert issued == 2
    assert world.invoice_counts()["Victim GmbH"] == 2


def test_the_command_lists_violations_and_fails(world, capsys):
    call_command("check_invariants")
    assert "0 violation(s) in 0 account(s); 0 new hold(s)." in capsys.readouterr().out

    subject = coupon_over_limit(world)
    with pytest.raises(CommandError, match="Billing invariants are broken"):
        call_command("check_invariants")
    out = capsys.readouterr().out
    assert f"coupon_redemptions_within_limit\tcustomer {world.victim.customer_id}\t{subject}" in out
    assert "Redemption 2 of code" in out
    assert "1 violation(s) in 1 account(s); 1 new hold(s)." in out


def test_the_check_is_a_daily_schedule():
    from notifications.scheduling import declared_tasks

    tasks = {task.name: task for task in declared_tasks()}
    check = tasks["billing.check_invariants"]
    assert (check.func, check.minutes) == ("billing.tasks.check_invariants", 24 * 60)


def test_a_run_after_downtime_catches_up_before_anything_counts_as_unbilled(world):
    """Measured against the last finished run: months without a run are not reported
    until a run has had the chance to bill them, and then they are billed."""
    with time_machine.travel(berlin(2027, 6, 1, 8), tick=False):
        assert find_violations() == []
        run(date(2027, 6, 1))
        assert find_violations() == []
    assert world.invoice_counts() == {"Victim GmbH": 6, "Bystander AG": 6, "Other KG": 6}


def test_the_holds_list_runs_the_same_queries_for_one_and_five_holds(world, client):
    from django.test.utils import CaptureQueriesContext

    client.force_login(staff_member(FINANCE, "finance@kontor.example"))
    url = reverse("admin:billing_billinghold_changelist")

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    user_before_parent(world)
    invariants_check()
    one = count()
    first = BillingHold.objects.get()
    for n in range(4):  # as the check records them, for other customers
        BillingHold.objects.create(
            customer=CustomerFactory(), invariant=first.invariant, subject=f"x:{n}",
            detail=first.detail, found_at=first.found_at,
        )  # fmt: skip
    assert BillingHold.objects.count() == 5
    assert count() == one


def test_the_demo_data_after_a_billing_run_breaks_no_invariant():
    """No false alarms on data the services made (seed_demo: every kind of customer)."""
    from io import StringIO

    from django.utils import timezone

    call_command("seed_demo", stdout=StringIO())
    run(timezone.localdate())

    assert [(v.invariant, v.subject, v.detail) for v in find_violations()] == []
