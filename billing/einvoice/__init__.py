"""E-invoices (EN 16931): the CII XML of every issued invoice and credit note, embedded
in its Factur-X / ZUGFeRD PDF and offered as an XRechnung download (docs/einvoices.md).

- `cii.py` builds the XML (drafthorse), pure: `invoice_cii_xml(invoice, lines)`;
- `checks.py` says what keeps an invoice from being an e-invoice
  (`einvoice_problems`) and validates the XML against the official XSD
  (`einvoice_validate`), which issuing calls;
- `files.py` makes the files people download: the Factur-X PDF (`facturx_pdf`, used
  by billing.pdf) and the XRechnung XML (`invoice_xrechnung_file`, for the portal,
  the admin and the API).
"""

from billing.einvoice.checks import (
    EinvoiceError,
    einvoice_problems,
    einvoice_refusal,
    einvoice_shape,
    einvoice_validate,
    xsd_errors,
)
from billing.einvoice.cii import invoice_cii_xml
from billing.einvoice.files import facturx_pdf, invoice_xrechnung_file, invoice_xrechnung_xml

__all__ = [
    "EinvoiceError",
    "einvoice_problems",
    "einvoice_refusal",
    "einvoice_shape",
    "einvoice_validate",
    "facturx_pdf",
    "invoice_cii_xml",
    "invoice_xrechnung_file",
    "invoice_xrechnung_xml",
    "xsd_errors",
]
