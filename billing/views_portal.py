"""The portal's invoice pages: a customer's own invoices only (another customer's id
answers 404, like every portal URL)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404

from billing.models import Invoice
from subscriptions.selectors.customers import customer_for_user


@login_required
def invoice_pdf(request: HttpRequest, public_id) -> HttpResponse:
    """The stored PDF of one of the customer's issued invoices (rendered and stored on
    first request if the task has not done it yet: every download is the same file)."""
    from billing.pdf import invoice_pdf_bytes  # WeasyPrint is heavy: loaded when needed

    customer = customer_for_user(user=request.user)
    invoice = get_object_or_404(
        Invoice.objects.exclude(status=Invoice.Status.DRAFT), customer=customer, public_id=public_id
    )
    if not invoice.number:
        raise Http404
    response = HttpResponse(invoice_pdf_bytes(invoice=invoice), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{invoice.number}.pdf"'
    return response
