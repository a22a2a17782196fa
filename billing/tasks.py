"""Django-Q2 tasks of the billing app: thin, safe to run twice, each calls one service."""

from __future__ import annotations


def render_pdf(invoice_id: int) -> None:
    """Render an issued invoice's PDF once and store it (skipped when stored already)."""
    from billing.pdf import invoice_pdf_store  # billing.pdf imports WeasyPrint: load lazily

    invoice_pdf_store(invoice_id=invoice_id)
