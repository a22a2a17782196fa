"""term_values: a catalog term as the values a subscription agrees to."""

from decimal import Decimal

import pytest

from subscriptions.services.lifecycle import term_values
from subscriptions.terms import TermValues
from tests.factories import TermFactory

pytestmark = pytest.mark.django_db


def test_term_values_copies_a_penalty_term_and_names_its_renewal_term():
    monthly = TermFactory(code="monthly", billing_cycles=True, commitment_count=1)
    term = TermFactory(
        code="two-years",
        commitment_count=2,
        commitment_unit="year",
        notice_period_count=1,
        notice_period_unit="month",
        with_penalty=True,
        renewal_term=monthly,
    )

    values = term_values(term)

    assert values == TermValues(
        code="two-years",
        commitment_count=2,
        commitment_unit="year",
        commitment_basis="calendar",
        early_cancellation="penalty",
        notice_period_count=1,
        notice_period_unit="month",
        grace_period_count=14,
        grace_period_unit="day",
        penalty_fee_amount=Decimal("50.00"),
        currency="EUR",
        pro_rata_penalty=True,
        penalty_tax_rate=Decimal("19.00"),
        penalty_ledger_account="8450",
        penalty_line_type="penalty",
        renewal_term_code="monthly",
        renewal_snapshot=term_values(monthly, with_renewal=False).to_snapshot(),
    )
    assert values.renewal_snapshot["code"] == "monthly"
    assert values.renewal_snapshot["commitment_basis"] == "billing_cycles"
    assert values.renewal_snapshot["renewal_term_code"] is None
    assert values.renewal_snapshot["renewal_snapshot"] is None


def test_the_renewal_values_survive_the_snapshot_round_trip():
    monthly = TermFactory(code="monthly", billing_cycles=True, commitment_count=1)
    values = term_values(TermFactory(code="year", renewal_term=monthly))

    again = TermValues.from_snapshot(values.to_snapshot())

    assert again == values
    assert TermValues.from_snapshot(again.renewal_snapshot).code == "monthly"


def test_an_old_snapshot_without_renewal_values_still_reads():
    snapshot = term_values(TermFactory(code="year")).to_snapshot()
    del snapshot["renewal_snapshot"]

    assert TermValues.from_snapshot(snapshot).renewal_snapshot is None


def test_term_values_of_a_billing_cycles_term_without_renewal_term():
    values = term_values(TermFactory(code="cycles", billing_cycles=True))

    assert values.commitment_unit == ""
    assert values.commitment_basis == "billing_cycles"
    assert values.penalty_fee_amount is None
    assert values.renewal_term_code is None
