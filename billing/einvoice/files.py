"""The e-invoice files people download: the Factur-X / ZUGFeRD PDF (the invoice PDF,
PDF/A-3, with the CII XML embedded as factur-x.xml) and the XRechnung XML.

`invoice_xrechnung_file` is what the portal, the admin and the REST API serve. It builds
the XML from the invoice's snapshot each time, so it says what the embedded XML says
(only the guideline id differs) for as long as the merchant settings are unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from billing.einvoice.checks import EinvoiceError, xsd_errors
from billing.einvoice.cii import facturx_profile, invoice_cii_xml, xrechnung_guideline


def _lines(invoice) -> list:
    """The lines in order (a prefetched `lines` is used as it is: the portal orders it)."""
    cache = getattr(invoice, "_prefetched_objects_cache", {})
    if "lines" in cache:
        return list(cache["lines"])
    return list(invoice.lines.order_by("position"))


def invoice_xrechnung_xml(invoice) -> bytes:
    """The issued invoice's XRechnung XML (CII syntax, version KONTOR_XRECHNUNG_VERSION)."""
    if not invoice.number:
        raise ValueError("Only an issued invoice has an e-invoice.")
    return invoice_cii_xml(invoice, _lines(invoice), guideline=xrechnung_guideline())


def invoice_xrechnung_file(*, invoice) -> tuple[str, bytes]:
    """(file name, XML bytes) of an issued invoice's XRechnung download, e.g.
    ("2027-000001-xrechnung.xml", b"<?xml ..."). The caller scopes the invoice to the
    actor (customer or staff) first."""
    return f"{invoice.number}-xrechnung.xml", invoice_xrechnung_xml(invoice)


def facturx_pdf(*, invoice, lines: Sequence, pdf: bytes) -> bytes:
    """Embed the invoice's CII XML (profile KONTOR_EINVOICE_PROFILE) into its PDF/A-3
    rendering: a Factur-X / ZUGFeRD PDF. Refuses (EinvoiceError) XML that the XSD
    rejects rather than store an invalid e-invoice."""
    from facturx import generate_from_binary  # pypdf and friends: only when rendering

    profile = facturx_profile()
    xml = invoice_cii_xml(invoice, lines)
    errors = xsd_errors(xml, profile)
    if errors:
        raise EinvoiceError("; ".join(errors[:3]))
    language = (invoice.language or settings.LANGUAGE_CODE).split("-")[0]
    with translation.override(language):
        title = _("Credit note") if invoice.kind == "credit_note" else _("Invoice")
    merchant = settings.KONTOR_MERCHANT_NAME
    return generate_from_binary(
        pdf,
        xml,
        flavor="factur-x",
        level=profile,
        check_xsd=False,  # checked above, with the schema compiled once
        pdf_metadata={
            "author": merchant,
            "keywords": "Factur-X, ZUGFeRD, EN 16931",
            "title": f"{merchant}: {title} {invoice.number}",
            "subject": f"{title} {invoice.number} ({invoice.customer_name})",
        },
        lang=language,
    )
