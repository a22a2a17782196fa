"""Django-Q2 tasks of the billing app: thin, safe to run twice, each calls one service."""

from __future__ import annotations


def render_pdf(invoice_id: int) -> None:
    """Render an issued invoice's PDF once and store it (skipped when stored already)."""
    from billing.pdf import invoice_pdf_store  # billing.pdf imports WeasyPrint: load lazily

    invoice_pdf_store(invoice_id=invoice_id)


def render_pdfs(invoice_ids: list[int]) -> None:
    """Render and store the PDFs of a billing-run chunk's invoices (one task per chunk);
    ones stored already are skipped, so running it twice is harmless."""
    from billing.pdf import invoice_pdf_store  # billing.pdf imports WeasyPrint: load lazily

    for invoice_id in invoice_ids:
        invoice_pdf_store(invoice_id=invoice_id)


def dispatch_events(event_ids: list[int]) -> int:
    """Dispatch the INVOICE_ISSUED events of a billing-run chunk; ones dispatched already
    are skipped, and the notifications sweep does any this task loses."""
    from notifications.services import event_dispatch

    return sum(event_dispatch(event_id=event_id) for event_id in event_ids)


def chunk_issued(invoice_ids: list[int], event_ids: list[int]) -> None:
    """After a billing-run chunk committed: dispatch its events (the e-mails go out at
    once), then render its PDFs (the e-mail's link renders a missing one on demand)."""
    dispatch_events(event_ids)
    render_pdfs(invoice_ids)


def bill_chunk(run_id: int, subscription_ids: list[int]) -> int:
    """Invoice one chunk of a billing run (billing.services.runs); safe to run twice."""
    from billing.services.runs import billing_run_chunk

    return billing_run_chunk(run_id=run_id, subscription_ids=subscription_ids)


def run_billing() -> int:
    """The daily billing run for today (merchant time); its chunks become tasks."""
    from billing.services.runs import billing_run_for_date

    return billing_run_for_date()


def mark_overdue() -> int:
    """Flag open invoices past their due date as overdue (hourly)."""
    from billing.services.invoices import invoices_mark_overdue

    return invoices_mark_overdue()


def execute_attempts(attempt_ids: list[int]) -> int:
    """Charge freshly issued invoices (or a retry) right after commit; attempts done
    already, or held by another worker, are skipped (the collect_payments sweep does
    any this task loses)."""
    from billing.services.collection import attempt_execute

    return sum(attempt_execute(attempt_id=pk) is not None for pk in attempt_ids)


def collect_payments() -> int:
    """Execute the payment attempts that are due: scheduled retries, replays after a
    gateway outage, first collections whose task was lost."""
    from billing.services.collection import payments_collect_due

    return payments_collect_due()


def check_invariants() -> int:
    """Daily: hold the accounts whose data breaks a billing invariant (PostgreSQL only;
    the SQLite demo has nothing to check with)."""
    from billing import invariants
    from billing.services.holds import invariants_check

    if not invariants.supported():
        return 0
    return invariants_check().holds_created
