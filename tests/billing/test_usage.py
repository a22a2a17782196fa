"""Counting billable users from the subscription log (billing.usage), every mode, by hand
and against the plain-Python reference; many accounts in one query."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

import pytest

from billing.usage import (
    ANY_TIME,
    DAILY_AVERAGE,
    PEAK,
    PERIOD_END,
    Interval,
    Window,
    billable_users,
    count_users,
    period_days,
    usage_for_subscription,
)
from seats.models import LogEntry
from tests.billing.runs_factories import access, berlin, corporate_subscription
from tests.factories import CorporateContractFactory
from tests.seats.factories import UserFactory

pytestmark = pytest.mark.django_db

FEB = (berlin(2027, 2, 1), berlin(2027, 3, 1))  # 28 days
MODES = (ANY_TIME, PEAK, PERIOD_END, DAILY_AVERAGE)


@pytest.fixture
def february():
    """One product's users around February 2027 (Berlin):

    A  all along (from 10 Jan, running)                  days 1-28   (28)
    B  added mid-period, 10 Feb 12:00, running           days 10-28  (19)
    C  cancelled mid-period: 5 Jan → 15 Feb 00:00        days 1-14   (14)
    D  cancelled 5 Feb 00:00, reactivated 20 Feb 00:00   days 1-4, 20-28 (13)
    E  active only on the last day: from 28 Feb 09:00    day 28      (1)
    I  12 Feb 10:00 → 14 Feb 10:00                       days 12-14  (3)
    F  ended before (1 → 31 Jan); G starts exactly at the end (1 Mar);
    H  ended exactly at the start (1 Feb 00:00): none of them counts.
    """
    contract = CorporateContractFactory()
    subscription, account = corporate_subscription(
        contracts=[contract], started_at=berlin(2027, 1, 1)
    )
    product = contract.product
    users = {name: UserFactory() for name in "ABCDEFGHI"}
    access(account, users["A"], product, berlin(2027, 1, 10))
    access(account, users["B"], product, berlin(2027, 2, 10, 12))
    access(account, users["C"], product, berlin(2027, 1, 5), berlin(2027, 2, 15))
    access(account, users["D"], product, berlin(2027, 1, 20), berlin(2027, 2, 5))
    access(account, users["D"], product, berlin(2027, 2, 20))
    access(account, users["E"], product, berlin(2027, 2, 28, 9))
    access(account, users["I"], product, berlin(2027, 2, 12, 10), berlin(2027, 2, 14, 10))
    access(account, users["F"], product, berlin(2027, 1, 1), berlin(2027, 1, 31))
    access(account, users["G"], product, berlin(2027, 3, 1))
    access(account, users["H"], product, berlin(2027, 1, 2), berlin(2027, 2, 1))
    return subscription, account, product


def _window(account, product, counting, period=FEB):
    return Window(account.pk, product.pk, period[0], period[1], counting)


def test_users_active_at_any_time_are_a_b_c_d_e_i(february):
    _subscription, account, product = february
    assert billable_users([_window(account, product, ANY_TIME)]) == [6]


def test_users_active_at_period_end_are_a_b_reactivated_d_and_e(february):
    _subscription, account, product = february
    assert billable_users([_window(account, product, PERIOD_END)]) == [4]


def test_peak_concurrent_users_are_four(february):
    # 1 Feb: A C D (3); 5 Feb: A C (2); 10 Feb: A B C (3); 12-14 Feb: A B C I (4);
    # 15 Feb: A B (2); 20 Feb: A B D (3); 28 Feb 09:00: A B D E (4).
    _subscription, account, product = february
    assert billable_users([_window(account, product, PEAK)]) == [4]


def test_daily_average_is_78_user_days_over_28_days_rounded_up(february):
    # 28 + 19 + 14 + 13 + 1 + 3 = 78 user-days / 28 days = 2.79 → 3 users.
    _subscription, account, product = february
    assert period_days(*FEB) == 28
    assert billable_users([_window(account, product, DAILY_AVERAGE)]) == [3]


def test_all_modes_of_many_windows_in_one_query(february, django_assert_num_queries):
    _subscription, account, product = february
    january = (berlin(2027, 1, 1), berlin(2027, 2, 1))
    windows = [_window(account, product, mode) for mode in MODES]
    windows += [_window(account, product, mode, january) for mode in MODES]
    with django_assert_num_queries(1):
        counts = billable_users(windows)
    # January: A C D F H (peak 5 from 20 Jan); at the end A C D H (F ended
    # 31 Jan; H ended at 1 Feb 00:00 = the end); 121 user-days / 31 → 4.
    assert counts == [6, 4, 4, 3, 5, 5, 4, 4]


def test_a_user_cancelled_and_reactivated_on_one_day_counts_once_that_day():
    contract = CorporateContractFactory(user_counting=DAILY_AVERAGE)
    _subscription, account = corporate_subscription(
        contracts=[contract], started_at=berlin(2027, 1, 1)
    )
    user = UserFactory()
    access(account, user, contract.product, berlin(2027, 2, 1), berlin(2027, 2, 5, 10))
    access(account, user, contract.product, berlin(2027, 2, 5, 15))
    # 28 user-days over 28 days: one user, not 29/28 → 2.
    assert billable_users([_window(account, contract.product, DAILY_AVERAGE)]) == [1]
    assert billable_users([_window(account, contract.product, PEAK)]) == [1]


def test_an_account_without_users_counts_zero():
    contract = CorporateContractFactory()
    _subscription, account = corporate_subscription(
        contracts=[contract], started_at=berlin(2027, 1, 1)
    )
    assert billable_users([_window(account, contract.product, m) for m in MODES]) == [0] * 4


def test_sql_agrees_with_the_python_reference_on_scattered_data_across_dst():
    """Three accounts, two products, 60 accesses at seeded pseudo-random instants;
    windows in March 2027 (Berlin moves to summer time on 28 March) and January."""
    rng = random.Random(7)
    contracts = [CorporateContractFactory(), CorporateContractFactory()]
    accounts = [
        corporate_subscription(contracts=contracts, started_at=berlin(2027, 1, 1))[1]
        for _ in range(3)
    ]
    users = [UserFactory() for _ in range(10)]
    base = berlin(2026, 12, 15)
    seen: dict[tuple, list[Interval]] = {}
    for account in accounts:
        for contract in contracts:
            for user in rng.sample(users, 6):
                moment = base + timedelta(hours=rng.randrange(24 * 120))
                for _ in range(rng.choice((1, 2))):  # some are reactivated later
                    length = timedelta(hours=rng.randrange(1, 24 * 40))
                    ended = moment + length if rng.random() < 0.7 else None
                    access(account, user, contract.product, moment, ended)
                    seen.setdefault((account.pk, contract.product_id), []).append(
                        Interval(user.pk, moment, ended)
                    )
                    if ended is None:
                        break
                    moment = ended + timedelta(hours=rng.randrange(0, 24 * 10))
    periods = [
        (berlin(2027, 3, 1), berlin(2027, 4, 1)),
        (berlin(2027, 1, 1), berlin(2027, 2, 1)),
        (berlin(2027, 3, 20, 14, 30), berlin(2027, 4, 3, 14, 30)),
    ]
    windows = [
        Window(account.pk, contract.product_id, start, end, mode)
        for account in accounts
        for contract in contracts
        for start, end in periods
        for mode in MODES
    ]
    expected = [
        count_users(seen.get((w.account_id, w.product_id), []), w.start, w.end, w.counting)
        for w in windows
    ]
    assert billable_users(windows) == expected
    assert LogEntry.objects.count() > 60


def test_usage_for_subscription_prices_each_product_with_its_contract(february):
    subscription, _account, product = february
    extra = CorporateContractFactory(
        tiers=[(2, "10.00"), (None, "8.00")],
        base_fee_amount=Decimal("50.00"),
        user_counting=PERIOD_END,
    )
    # the offer of `february` has one contract; a second subscription shows two
    subscription2, account2 = corporate_subscription(
        contracts=[extra, CorporateContractFactory(product=product)],
        started_at=berlin(2027, 1, 1),
        customer=subscription.customer,
    )
    user = UserFactory()
    access(account2, user, extra.product, berlin(2027, 2, 3))
    access(account2, UserFactory(), extra.product, berlin(2027, 2, 3))
    access(account2, UserFactory(), extra.product, berlin(2027, 2, 3), berlin(2027, 2, 4))
    access(account2, user, product, berlin(2027, 2, 3))
    usage = {
        u.product.pk: u
        for u in usage_for_subscription(subscription=subscription2, start=FEB[0], end=FEB[1])
    }
    assert (usage[extra.product_id].users, usage[extra.product_id].counting) == (2, PERIOD_END)
    assert usage[extra.product_id].amount == Decimal("70.00")  # 50 + 2 x 10.00
    assert usage[product.pk].users == 1
    assert usage[product.pk].amount == Decimal("2.50")
    assert str(usage[extra.product_id].counting_label) == "Users active at the end of the period"
