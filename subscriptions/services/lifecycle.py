"""Subscription lifecycle: billing periods, renewal, cancellation under the term's rules,
undo, end. The rules themselves are pure functions in subscriptions.terms."""

from __future__ import annotations

from catalog.models import Term
from subscriptions.terms import TermValues


def term_values(term: Term) -> TermValues:
    """The values of a catalog term as a subscription agrees to them."""
    return TermValues(
        code=term.code,
        commitment_count=term.commitment_count,
        commitment_unit=term.commitment_unit,
        commitment_basis=term.commitment_basis,
        early_cancellation=term.early_cancellation,
        notice_period_count=term.notice_period_count,
        notice_period_unit=term.notice_period_unit,
        grace_period_count=term.grace_period_count,
        grace_period_unit=term.grace_period_unit,
        penalty_fee_amount=term.penalty_fee_amount,
        currency=term.currency,
        pro_rata_penalty=term.pro_rata_penalty,
        penalty_tax_rate=term.penalty_tax_rate,
        penalty_ledger_account=term.penalty_ledger_account,
        penalty_line_type=term.penalty_line_type,
        renewal_term_code=term.renewal_term.code if term.renewal_term_id else None,
    )
