"""Issue 10, money: 10,000 generated invoices (ties at x.xx5, tiered usage, discounts,
several tax rates, reverse charge) built by the real `InvoiceDraft.build` show line tax
rounded half up to the cent, totals that reconcile exactly, and the very same values
after a round trip through PostgreSQL (bulk writes, one batch per example).

The expected amounts come from an independent oracle: integer arithmetic in
hundred-thousandths of a cent, rounding ties away from zero by hand (no `quantize`)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from billing.models import Invoice, InvoiceLine
from billing.pricing import breakdown
from billing.services.invoices import InvoiceDraft, LineDraft
from tests.billing.strategies import schedules
from tests.subscriptions.factories import CustomerFactory

pytestmark = pytest.mark.django_db

INVOICES_PER_EXAMPLE = 100
EXAMPLES = 100  # 100 x 100 = 10,000 invoices
TAX_RATES = [Decimal(r) for r in ("0", "2.5", "5.5", "7", "7.7", "8.1", "19", "20", "21")]
ONE = Decimal(1)

# --- the oracle: exact integers ------------------------------------------------------


def _scaled(value: Decimal, places: int) -> int:
    scaled = value.scaleb(places)
    assert scaled == scaled.to_integral_value(), f"{value} has more than {places} places"
    return int(scaled)


def _divide_half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded to an integer, ties away from zero."""
    magnitude, remainder = divmod(abs(numerator), denominator)
    if 2 * remainder >= denominator:
        magnitude += 1
    return magnitude if numerator >= 0 else -magnitude


def expected_net_cents(line: LineDraft) -> int:
    if line.net is not None:
        return _divide_half_up(_scaled(line.net, 6), 10_000)
    product = _scaled(line.quantity, 3) * _scaled(line.unit_price, 4)  # 1e-7
    return _divide_half_up(product, 100_000)


def expected_tax_cents(net_cents: int, rate: Decimal) -> int:
    return _divide_half_up(net_cents * _scaled(rate, 2), 10_000)  # rate in % with 2 places


def cents(amount: Decimal) -> int:
    assert amount.as_tuple().exponent == -2, f"{amount!r} is not in whole cents"
    return _scaled(amount, 2)


# --- generated invoices -------------------------------------------------------------

tie_prices = st.integers(min_value=0, max_value=99_999).map(lambda n: Decimal(n * 10 + 5) / 1000)
unit_prices = st.one_of(
    tie_prices,  # x.xx5: the half-up tie on the net
    st.decimals(min_value=0, max_value=9999, places=4),
    st.decimals(min_value=0, max_value=500, places=2),
)
rates = st.sampled_from(TAX_RATES)


@st.composite
def subscription_lines(draw) -> list[LineDraft]:
    quantity = draw(st.one_of(st.just(ONE), st.decimals(min_value=0, max_value=999, places=3)))
    return [LineDraft("subscription", "Plan", quantity, draw(unit_prices), draw(rates))]


@st.composite
def usage_lines(draw) -> list[LineDraft]:
    """The engine's tier amounts as nets (graduated, volume, stairstep, packages)."""
    schedule = draw(schedules())
    users = draw(st.integers(min_value=0, max_value=3000))
    rate = draw(rates)
    lines = [  # the unit price is shown for information only, as the run does
        LineDraft("usage", "Users", Decimal(part.units),
                  (part.amount / part.units).quantize(Decimal("0.0001")), rate, net=part.amount)
        for part in breakdown(schedule, users)
    ]  # fmt: skip
    if schedule.base_fee:
        lines.append(LineDraft("base_fee", "Base fee", ONE, schedule.base_fee, rate))
    return lines


@st.composite
def discount_lines(draw) -> list[LineDraft]:
    """A coupon's share of a price, to four places (rounded on its own line)."""
    share = draw(st.decimals(min_value=0, max_value=1, places=3))
    net = -(draw(unit_prices) * share).quantize(Decimal("0.0001"))  # unit price column: 4
    return [LineDraft("discount", "Coupon", ONE, net, draw(rates), net=net)]


@st.composite
def penalty_lines(draw) -> list[LineDraft]:
    return [LineDraft("penalty", "Fee", ONE, draw(tie_prices), draw(rates))]


line_groups = st.one_of(subscription_lines(), usage_lines(), discount_lines(), penalty_lines())


def invoice_specs(groups: list[list[LineDraft]], count: int) -> list[tuple[int, list[LineDraft]]]:
    """`count` invoices combining 1-4 of the drawn line groups each (so a few hundred
    draws make a hundred invoices; Hypothesis still shrinks the groups), for the three
    customers in turn."""
    specs = []
    for i in range(count):
        picks = [groups[(i * 7 + j * 13 + i * j) % len(groups)] for j in range(1 + i % 4)]
        specs.append((i % 3, [line for group in picks for line in group]))
    return specs


def check_invoice(invoice: Invoice, lines: list[InvoiceLine], drafts: list[LineDraft]) -> None:
    reverse_charge = invoice.reverse_charge
    for line, draft in zip(lines, drafts, strict=True):
        net = expected_net_cents(draft)
        rate = Decimal(0) if reverse_charge else draft.tax_rate
        assert (cents(line.net_amount), line.tax_rate) == (net, rate), draft
        assert cents(line.tax_amount) == expected_tax_cents(net, rate), draft
        assert cents(line.gross_amount) == net + expected_tax_cents(net, rate)
    assert cents(invoice.net_amount) == sum(cents(line.net_amount) for line in lines)
    assert cents(invoice.tax_amount) == sum(cents(line.tax_amount) for line in lines)
    assert cents(invoice.gross_amount) == sum(cents(line.gross_amount) for line in lines)
    assert invoice.gross_amount == invoice.net_amount + invoice.tax_amount


AMOUNTS = ("net_amount", "tax_amount", "gross_amount")
LINE_VALUES = ("quantity", "unit_price", "tax_rate", *AMOUNTS)


def stored(invoice: tuple, lines: list[tuple]) -> tuple:
    """Every amount as text (equal text: equal value *and* cents), the inputs by value
    (their columns give them their own scale: 1 → 1.000)."""
    return (
        [str(value) for value in invoice],
        [(*line[:3], *(str(value) for value in line[3:])) for line in lines],
    )


def as_built(invoice: Invoice, lines: list[InvoiceLine]) -> tuple:
    return stored(
        tuple(getattr(invoice, name) for name in AMOUNTS),
        [tuple(getattr(line, name) for name in LINE_VALUES) for line in lines],
    )


def test_ten_thousand_generated_invoices_round_half_up_reconcile_and_survive_the_database():
    customers = [
        CustomerFactory(),  # German person: tax
        CustomerFactory(company=True),  # German company: tax
        CustomerFactory(company=True, country="AT", vat_id="ATU12345678"),  # reverse charge
    ]
    built = []

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,  # the same 10,000 invoices on every run
        database=None,
        phases=[Phase.explicit, Phase.reuse, Phase.generate],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(st.lists(line_groups, min_size=4, max_size=16))
    def property_holds(groups):
        batch = []
        for customer_index, drafts in invoice_specs(groups, INVOICES_PER_EXAMPLE):
            invoice, lines = InvoiceDraft(
                customer=customers[customer_index], currency="EUR", lines=drafts
            ).build()
            check_invoice(invoice, lines, drafts)
            batch.append((invoice, lines))
        built.append(len(batch))
        with transaction.atomic():
            Invoice.objects.bulk_create([invoice for invoice, _ in batch])
            for invoice, lines in batch:
                for line in lines:
                    line.invoice_id = invoice.pk
            InvoiceLine.objects.bulk_create([line for _, lines in batch for line in lines])
            ids = [invoice.pk for invoice, _ in batch]
            invoices = {
                pk: values
                for pk, *values in Invoice.objects.filter(pk__in=ids).values_list("pk", *AMOUNTS)
            }
            lines_by_invoice = {}
            rows = InvoiceLine.objects.filter(invoice_id__in=ids).order_by("position")
            for invoice_id, *values in rows.values_list("invoice_id", *LINE_VALUES):
                lines_by_invoice.setdefault(invoice_id, []).append(values)
            for invoice, lines in batch:
                read_back = stored(invoices[invoice.pk], lines_by_invoice.get(invoice.pk, []))
                assert read_back == as_built(invoice, lines)
            transaction.set_rollback(True)  # the next batch starts from an empty table

    property_holds()

    assert sum(built) >= EXAMPLES * INVOICES_PER_EXAMPLE
    assert Invoice.objects.count() == 0
