"""An issued invoice or credit note as EN 16931 XML in the CII syntax (UN/CEFACT Cross
Industry Invoice), built with drafthorse.

One builder serves both documents: the XML embedded in the Factur-X / ZUGFeRD PDF (its
guideline id names the profile, KONTOR_EINVOICE_PROFILE) and the XRechnung download
(guideline id of KONTOR_XRECHNUNG_VERSION); the figures are the same.

What it says, and why:

* **Figures are the invoice's own**: line nets, the tax per category and rate (sums of
  the rounded lines, within the ±1 tolerance of BR-CO-17) and the totals are copied,
  never recomputed, so the XML and the PDF cannot disagree. Prepaid is 0 and the amount
  due is the total: the XML is the document as issued (like the stored PDF); payments
  after it do not change it.
* **Credit notes** (type code 381) carry positive amounts (the type says it is a
  credit), so every amount of a credit note, stored negative, is negated; they refer
  to the invoice they correct (BT-25).
* **No negative prices** (BR-27): a discount line's price is positive and its quantity
  negative, so quantity x price is still its (negative) net.
* **Tax categories**: reverse charge is "AE" with the exemption reason (VATEX-EU-AE);
  a 0 % line otherwise is zero rated ("Z"); anything else is standard rated ("S").
* **Payment means** as snapshotted at issue: SEPA credit transfer to the merchant's
  account (58), SEPA direct debit with mandate reference and creditor id (59), card
  (48).
* The seller's contact and both parties' e-mail addresses (electronic address, scheme
  "EM") are included: XRechnung requires them, EN 16931 allows them.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from drafthorse.models.accounting import ApplicableTradeTax
from drafthorse.models.document import Document
from drafthorse.models.note import IncludedNote
from drafthorse.models.party import TaxRegistration
from drafthorse.models.payment import PaymentMeans, PaymentTerms
from drafthorse.models.tradelines import LineItem

TYPE_INVOICE = "380"
TYPE_CREDIT_NOTE = "381"
STANDARD, ZERO_RATED, REVERSE_CHARGE = "S", "Z", "AE"
UNIT = "C62"  # "one" (UN/ECE recommendation 20): users, periods, fees
TRANSFER, DIRECT_DEBIT, CARD = "58", "59", "48"

# The Factur-X profiles the PDF may embed (their XSDs ship with the factur-x library).
# Both take every element this builder writes; BASIC and below do not.
PROFILES = {
    "en16931": "urn:cen.eu:en16931:2017",
    "extended": "urn:cen.eu:en16931:2017#conformant#urn:factur-x.eu:1p0:extended",
}
XRECHNUNG_VERSIONS = {
    "2.3": "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_2.3",
    "3.0": "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0",
}
# BT-23, the business process: XRechnung and Peppol use this one for invoicing.
BILLING_PROCESS = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"


def facturx_profile() -> str:
    """The configured Factur-X profile (KONTOR_EINVOICE_PROFILE), lower case."""
    profile = settings.KONTOR_EINVOICE_PROFILE.lower().replace(" ", "")
    if profile not in PROFILES:
        raise ImproperlyConfigured(
            f"KONTOR_EINVOICE_PROFILE must be one of {', '.join(PROFILES)}, not {profile!r}."
        )
    return profile


def xrechnung_guideline() -> str:
    version = settings.KONTOR_XRECHNUNG_VERSION
    if version not in XRECHNUNG_VERSIONS:
        raise ImproperlyConfigured(
            f"KONTOR_XRECHNUNG_VERSION must be one of {', '.join(XRECHNUNG_VERSIONS)}, "
            f"not {version!r}."
        )
    return XRECHNUNG_VERSIONS[version]


def settings_check(app_configs=None, **kwargs) -> list:
    """Django system check (billing.apps): a wrong profile or XRechnung version shows at
    start-up, not at the first invoice."""
    from django.core import checks

    errors = []
    for setting, check in (
        ("KONTOR_EINVOICE_PROFILE", facturx_profile),
        ("KONTOR_XRECHNUNG_VERSION", xrechnung_guideline),
    ):
        try:
            check()
        except ImproperlyConfigured as error:
            errors.append(checks.Error(str(error), id=f"billing.E_{setting}"))
    return errors


@dataclass(frozen=True)
class Seller:
    """The merchant as the e-invoice names it (settings KONTOR_MERCHANT_*)."""

    name: str
    street: str
    postal_code: str
    city: str
    country: str
    vat_id: str
    contact: str
    phone: str
    email: str
    iban: str
    bic: str
    creditor_id: str

    @classmethod
    def from_settings(cls) -> Seller:
        return cls(
            name=settings.KONTOR_MERCHANT_NAME,
            street=settings.KONTOR_MERCHANT_STREET,
            postal_code=settings.KONTOR_MERCHANT_POSTAL_CODE,
            city=settings.KONTOR_MERCHANT_CITY,
            country=settings.KONTOR_MERCHANT_COUNTRY.upper(),
            vat_id=settings.KONTOR_MERCHANT_VAT_ID,
            contact=settings.KONTOR_MERCHANT_CONTACT_NAME,
            phone=settings.KONTOR_MERCHANT_PHONE,
            email=settings.KONTOR_MERCHANT_EMAIL,
            iban=settings.KONTOR_MERCHANT_IBAN.replace(" ", ""),
            bic=settings.KONTOR_MERCHANT_BIC,
            creditor_id=settings.KONTOR_MERCHANT_CREDITOR_ID,
        )


# --- small rules --------------------------------------------------------------------


def is_credit_note(invoice) -> bool:
    return invoice.kind == "credit_note"


def tax_category(invoice, line) -> str:
    if invoice.reverse_charge:
        return REVERSE_CHARGE
    return STANDARD if line.tax_rate > 0 else ZERO_RATED


def payment_means_code(invoice) -> str:
    """The snapshotted payment means; invoices from before e-invoices are transfers."""
    return invoice.payment_means or TRANSFER


def _local_date(value: datetime | None) -> date | None:
    return timezone.localtime(value).date() if value else None


def _last_day(period_end: datetime | None) -> date | None:
    """The last day of a half-open period [start, end)."""
    if period_end is None:
        return None
    return (timezone.localtime(period_end) - timedelta(microseconds=1)).date()


@dataclass
class TaxRow:
    category: str
    rate: Decimal
    basis: Decimal
    tax: Decimal


def tax_rows(invoice, lines: Sequence) -> list[TaxRow]:
    """The tax breakdown (BG-23): per category and rate, the sums of the lines' rounded
    nets and taxes, in the document's sign (positive on a credit note)."""
    sign = -1 if is_credit_note(invoice) else 1
    sums: dict[tuple[str, Decimal], list[Decimal]] = defaultdict(lambda: [Decimal(0)] * 2)
    for line in lines:
        row = sums[(tax_category(invoice, line), line.tax_rate)]
        row[0] += sign * line.net_amount
        row[1] += sign * line.tax_amount
    return [
        TaxRow(category, rate, basis, tax)
        for (category, rate), (basis, tax) in sorted(sums.items(), key=lambda kv: -kv[0][1])
    ]


# --- the document -------------------------------------------------------------------


# Characters XML 1.0 cannot hold (C0 controls but tab, LF and CR, and two non-characters).
# Names and descriptions typed or imported by people may contain them (a vertical tab
# pasted from a spreadsheet); the e-invoice shows a space where the PDF shows nothing.
XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_text(value: str) -> str:
    """Free text as an XML document can hold it."""
    return XML_ILLEGAL.sub(" ", value)


def build_document(invoice, lines: Sequence, *, guideline: str) -> Document:
    """The drafthorse document of an issued invoice (call under the invoice's
    language: the payment terms and exemption texts are written in it)."""
    seller = Seller.from_settings()
    doc = Document()
    doc.context.business_parameter.id = BILLING_PROCESS
    doc.context.guideline_parameter.id = guideline
    doc.header.id = invoice.number
    doc.header.type_code = TYPE_CREDIT_NOTE if is_credit_note(invoice) else TYPE_INVOICE
    doc.header.issue_date_time = _local_date(invoice.issued_at)
    if invoice.note:
        doc.header.notes.add(IncludedNote(content=xml_text(invoice.note)))
    for position, line in enumerate(lines, start=1):
        doc.trade.items.add(_line_item(invoice, line, position))
    _agreement(doc, invoice, seller)
    if invoice.period_start is None:  # BT-72: a one-off is delivered when invoiced
        doc.trade.delivery.event.occurrence = _local_date(invoice.issued_at)
    _settlement(doc, invoice, lines, seller)
    return doc


def _line_item(invoice, line, position: int) -> LineItem:
    sign = -1 if is_credit_note(invoice) else 1
    price, quantity = line.unit_price, sign * line.quantity
    if price < 0:  # BR-27: the price is never negative; the quantity carries the sign
        price, quantity = -price, -quantity
    item = LineItem()
    item.document.line_id = str(position)
    item.product.name = xml_text(line.description)
    item.agreement.net.amount = price
    item.delivery.billed_quantity = (quantity, UNIT)
    item.settlement.trade_tax.type_code = "VAT"
    item.settlement.trade_tax.category_code = tax_category(invoice, line)
    item.settlement.trade_tax.rate_applicable_percent = line.tax_rate
    item.settlement.monetary_summation.total_amount = sign * line.net_amount
    return item


def _address(party, street: str, street2: str, postal_code: str, city: str, country: str):
    if street:
        party.address.line_one = street
    if street2:
        party.address.line_two = street2
    if postal_code:
        party.address.postcode = postal_code
    if city:
        party.address.city_name = city
    party.address.country_id = country


def _agreement(doc: Document, invoice, seller: Seller) -> None:
    agreement = doc.trade.agreement
    if invoice.buyer_reference:
        agreement.buyer_reference = xml_text(invoice.buyer_reference)
    party = agreement.seller
    party.name = seller.name
    party.contact.person_name = seller.contact
    party.contact.telephone.number = seller.phone
    party.contact.email.address = seller.email
    _address(party, seller.street, "", seller.postal_code, seller.city, seller.country)
    party.electronic_address.uri_ID = ("EM", seller.email)
    party.tax_registrations.add(TaxRegistration(id=("VA", seller.vat_id)))
    buyer = agreement.buyer
    buyer.name = xml_text(invoice.customer_name)
    _address(
        buyer,
        xml_text(invoice.customer_street),
        xml_text(invoice.customer_street2),
        xml_text(invoice.customer_postal_code),
        xml_text(invoice.customer_city),
        invoice.customer_country.upper(),
    )
    if invoice.customer_email:
        buyer.electronic_address.uri_ID = ("EM", xml_text(invoice.customer_email))
    if invoice.customer_vat_id:
        buyer.tax_registrations.add(TaxRegistration(id=("VA", xml_text(invoice.customer_vat_id))))


def _settlement(doc: Document, invoice, lines: Sequence, seller: Seller) -> None:
    settlement = doc.trade.settlement
    currency = invoice.currency
    sign = -1 if is_credit_note(invoice) else 1
    settlement.currency_code = currency
    settlement.payment_reference = invoice.number
    code = payment_means_code(invoice)
    if code == DIRECT_DEBIT:
        settlement.creditor_reference_id = seller.creditor_id
    means = PaymentMeans()
    means.type_code = code
    if code == TRANSFER:
        means.payee_account.iban = seller.iban
        means.payee_account.account_name = seller.name
        if seller.bic:
            means.payee_institution.bic = seller.bic
    settlement.payment_means.add(means)
    for row in tax_rows(invoice, lines):
        tax = ApplicableTradeTax()
        tax.calculated_amount = row.tax
        tax.type_code = "VAT"
        if row.category == REVERSE_CHARGE:
            tax.exemption_reason = _("Reverse charge: the recipient is liable for the VAT.")
            tax.exemption_reason_code = "VATEX-EU-AE"
        tax.basis_amount = row.basis
        tax.category_code = row.category
        tax.rate_applicable_percent = row.rate
        settlement.trade_tax.add(tax)
    if invoice.period_start is not None:
        settlement.period.start = _local_date(invoice.period_start)
        settlement.period.end = _last_day(invoice.period_end) or _local_date(invoice.period_start)
    settlement.terms.add(_terms(invoice, code))
    total = settlement.monetary_summation
    total.line_total = sign * invoice.net_amount
    total.charge_total = Decimal("0.00")
    total.allowance_total = Decimal("0.00")
    total.tax_basis_total = (sign * invoice.net_amount, None)
    total.tax_total = (sign * invoice.tax_amount, currency)
    total.grand_total = (sign * invoice.gross_amount, None)
    total.prepaid_total = Decimal("0.00")
    total.due_amount = sign * invoice.gross_amount
    if is_credit_note(invoice):
        credited = invoice.credited_invoice
        settlement.invoice_referenced_document.issuer_assigned_id = credited.number
        settlement.invoice_referenced_document.issue_date_time = _local_date(credited.issued_at)


def _terms(invoice, code: str) -> PaymentTerms:
    terms = PaymentTerms()
    due = _local_date(invoice.due_at)
    if is_credit_note(invoice):
        terms.description = _("The amount is credited to you.")
    elif code == DIRECT_DEBIT:
        terms.description = _("The amount is collected by SEPA direct debit.")
        terms.debit_mandate_id = xml_text(invoice.mandate_reference)
    elif code == CARD:
        terms.description = _("The amount is charged to your card.")
    else:
        terms.description = _("Payable without deduction by %(date)s.") % {
            "date": formats.date_format(due, "DATE_FORMAT")
        }
    if due:
        terms.due = due
    return terms


def serialize(doc: Document) -> bytes:
    """The XML as UTF-8 bytes (not validated here: see billing.einvoice.checks)."""
    return doc.serialize(schema=None)


def invoice_cii_xml(invoice, lines: Sequence, *, guideline: str | None = None) -> bytes:
    """The invoice's EN 16931 CII XML, as embedded in its Factur-X PDF (profile
    KONTOR_EINVOICE_PROFILE), in the invoice's language. Pure: reads the invoice, its
    lines and the merchant settings, writes nothing. Unvalidated: issuing validates
    (billing.einvoice.checks.einvoice_validate)."""
    guideline = guideline or PROFILES[facturx_profile()]
    language = (invoice.language or settings.LANGUAGE_CODE).split("-")[0]
    with translation.override(language):
        return serialize(build_document(invoice, lines, guideline=guideline))
