"""Export cells (issue 10, point 10): no text cell of any export can start a formula, and
numbers stay numbers. Every export writes its cells through catalog.spreadsheets
(the finance exports through `neutralise`, the seats log and coupon codes through
`csv_cell`), so these properties hold for all of them; each export's own test checks it
uses them."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from catalog.spreadsheets import FORMULA_PREFIXES, csv_cell, neutralise

DANGEROUS = ("=", "+", "-", "@", "\t", "\r", "\0")
hostile_text = st.builds(lambda p, rest: p + rest, st.sampled_from(DANGEROUS), st.text())
any_text = st.one_of(hostile_text, st.text())
numbers = st.one_of(
    st.integers(),
    st.decimals(allow_nan=False, allow_infinity=False, places=2),
)


def test_the_prefixes_are_exactly_the_dangerous_ones():
    assert set(FORMULA_PREFIXES) == set(DANGEROUS)


@settings(max_examples=2000)
@given(any_text)
def test_no_text_cell_starts_a_formula_and_nothing_is_lost(value):
    for cell in (neutralise(value), csv_cell(value)):
        assert not cell.startswith(DANGEROUS)
        assert cell in (value, "'" + value)


@settings(max_examples=1000)
@given(numbers)
def test_numbers_stay_numbers(value):
    assert neutralise(value) == value
    assert Decimal(csv_cell(value)) == Decimal(value)


@settings(max_examples=500)
@given(st.lists(any_text, min_size=1, max_size=8))
def test_a_csv_row_of_hostile_text_reads_back_safe(row):
    buffer = io.StringIO()
    csv.writer(buffer).writerow([csv_cell(value) for value in row])
    (read,) = list(csv.reader(io.StringIO(buffer.getvalue(), newline="")))
    assert all(not cell.startswith(DANGEROUS) for cell in read)
