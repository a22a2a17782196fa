"""E-invoices of the four kinds issue 11 names: the XML is parsed back out of the stored
Factur-X PDF (as a receiver's software would), checked against the official XSD and the
EN 16931 rules (Schematron), and compared with the invoice's own figures: totals, tax
per rate, number of lines.

- a single-user subscription's invoice (a person, no postal address, paid by card, a
  coupon's discount line), made by the billing run (the bulk COPY path);
- a corporate tiered invoice (graduated users at 19 %, packages at 7 %, a base fee),
  made by the billing run, paid by SEPA direct debit;
- a reverse-charge invoice (an Austrian company with a VAT id), by `invoice_issue`;
- a credit note (type 381, positive amounts, referring to the invoice), and a
  zero-rated line.
"""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal as D

import pytest
import time_machine
from pypdf import PdfReader

from billing.einvoice import invoice_cii_xml, invoice_xrechnung_xml
from billing.models import Invoice
from billing.services.invoices import credit_note_issue
from billing.services.runs import billing_run_start
from subscriptions.models import CouponRedemption, PaymentMethod
from tests.billing.einvoicing import (
    Cii,
    assert_is_the_invoice,
    schematron_failures,
    stored_pdf,
    xml_from_pdf,
)
from tests.billing.invoicing import issue_invoice, make_customer, pdf_text
from tests.billing.runs_factories import access, berlin, corporate_subscription
from tests.coupons.factories import make_campaign
from tests.factories import CorporateContractFactory, OfferFactory, ProductFactory
from tests.seats.factories import UserFactory
from tests.subscriptions.factories import CustomerFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def standard_or_zero(rate: D) -> str:
    return "S" if rate > 0 else "Z"


def reverse_charge(_rate: D) -> str:
    return "AE"


def method(customer, kind: str, **fields) -> PaymentMethod:
    labels = {"card": "Visa •••• 4242", "sepa_debit": "DE89 •••• 3000"}
    return PaymentMethod.objects.create(
        customer=customer, kind=kind, gateway="sandbox", token=f"tok-{kind}",
        label=labels[kind], **fields,
    )  # fmt: skip


def xmp_of(pdf: bytes) -> str:
    """The PDF's XMP metadata packet (Factur-X and PDF/A identification)."""
    reader = PdfReader(io.BytesIO(pdf))
    return reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode()


def run(day: date):
    return billing_run_start(run_date=day, trigger="command", inline=True)


def test_single_user_invoice_from_the_billing_run(django_capture_on_commit_callbacks):
    person = CustomerFactory(name="Erika Mustermann", email="erika@example.com")
    offer = OfferFactory(
        name="News monthly", product=ProductFactory(name="Daily news", tax_rate=D("7.00"))
    )
    subscription = SubscriptionFactory(
        customer=person, offer=offer, payment_method=method(person, "card")
    )
    campaign = make_campaign()
    CouponRedemption.objects.create(
        code=campaign.codes.order_by("id").first(), campaign=campaign, customer=person,
        subscription=subscription, kind="coupon", list_price=subscription.price_amount,
        discount_amount=D("1.98"), currency="EUR", periods=None,
        redeemed_at=subscription.started_at,
    )  # fmt: skip
    with (
        time_machine.travel(berlin(2027, 1, 1, 0, 30), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert run(date(2027, 1, 1)).errors == []
    invoice = subscription.invoices.get()

    cii = assert_is_the_invoice(invoice, xml_from_pdf(stored_pdf(invoice)), standard_or_zero)

    assert invoice.lines.count() == 2  # the subscription and the coupon's discount
    assert cii.text("//ram:BuyerTradeParty/ram:Name") == "Erika Mustermann"
    assert cii.text("//ram:BuyerTradeParty//ram:CountryID") == "DE"
    assert cii.texts("//ram:BuyerTradeParty//ram:LineOne") == []  # a person: no address
    assert cii.text("//ram:SpecifiedTradeSettlementPaymentMeans/ram:TypeCode") == "48"
    # BR-27: the discount's price is positive, its quantity negative.
    assert cii.texts("//ram:NetPriceProductTradePrice/ram:ChargeAmount")[1] == "1.9800"
    assert cii.texts("//ram:BilledQuantity")[1] == "-1.000"
    assert cii.text(f"{'//ram:BillingSpecifiedPeriod'}/ram:StartDateTime/udt:DateTimeString") == (
        "20270101"
    )
    assert cii.text("//ram:BillingSpecifiedPeriod/ram:EndDateTime/udt:DateTimeString") == (
        "20270131"
    )


def test_corporate_tiered_invoice_from_the_billing_run(django_capture_on_commit_callbacks):
    campus = CorporateContractFactory(
        product=ProductFactory(name="Campus licence", tax_rate=D("19.00")),
        tiers=[(2, "10.00"), (None, "8.00")],
        tier_mode="graduated",
        base_fee_amount=D("50.00"),
    )
    epaper = CorporateContractFactory(
        product=ProductFactory(name="E-paper", tax_rate=D("7.00")), per_package=True
    )
    with time_machine.travel(berlin(2027, 1, 1), tick=False):
        subscription, account = corporate_subscription(
            contracts=[campus, epaper], started_at=berlin(2027, 1, 1)
        )
    customer = subscription.customer
    customer.buyer_reference = "04011000-1234512345-06"  # a Leitweg-ID
    customer.save(update_fields=["buyer_reference"])
    subscription.payment_method = method(customer, "sepa_debit", mandate_reference="KONTOR-M-7")
    subscription.save(update_fields=["payment_method"])
    for n in range(1, 4):
        user = UserFactory(email=f"u{n}@uni.example")
        access(account, user, campus.product, berlin(2027, 1, 5))
        access(account, user, epaper.product, berlin(2027, 1, 5))
    with (
        time_machine.travel(berlin(2027, 2, 1, 6), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert run(date(2027, 2, 1)).errors == []
    invoice = subscription.invoices.get()

    pdf = stored_pdf(invoice)
    cii = assert_is_the_invoice(invoice, xml_from_pdf(pdf), standard_or_zero)

    text = " ".join(pdf_text(pdf).split())
    assert "Your reference 04011000-1234512345-06" in text  # printed on the page too
    # 3 users graduated: 2 x 10.00 + 1 x 8.00 = 28.00; base fee 50.00; e-paper one package.
    assert [line.net_amount for line in invoice.lines.all()] == [D("28.00"), D("50.00"), D("5.00")]
    assert cii.tax_rows == {
        ("S", D("19.00")): (D("78.00"), D("14.82")),
        ("S", D("7.00")): (D("5.00"), D("0.35")),
    }
    assert cii.text("//ram:BuyerReference") == "04011000-1234512345-06"
    assert cii.text("//ram:SpecifiedTradeSettlementPaymentMeans/ram:TypeCode") == "59"
    assert cii.text("//ram:DirectDebitMandateID") == "KONTOR-M-7"
    assert cii.text("//ram:CreditorReferenceID") == "DE98ZZZ09999999999"
    assert cii.text("//ram:BuyerTradeParty//ram:LineOne") == "Hafenstraße 1"
    assert cii.text("//ram:BuyerTradeParty//ram:PostcodeCode") == "20457"


def test_reverse_charge_invoice(django_capture_on_commit_callbacks):
    austrian = make_customer(country="AT", name="Wiener Zeitungshaus GmbH")
    with django_capture_on_commit_callbacks(execute=True):
        invoice = issue_invoice(austrian)
    assert invoice.reverse_charge

    cii = assert_is_the_invoice(invoice, xml_from_pdf(stored_pdf(invoice)), reverse_charge)

    assert cii.tax_rows == {("AE", D("0.00")): (D("1041.59"), D("0.00"))}
    assert cii.text(f"{'//ram:ApplicableHeaderTradeSettlement'}/ram:ApplicableTradeTax/"
                    "ram:ExemptionReasonCode") == "VATEX-EU-AE"  # fmt: skip
    assert cii.texts("//ram:BuyerTradeParty//ram:ID[@schemeID='VA']") == ["ATU12345678"]
    assert cii.texts("//ram:SellerTradeParty//ram:ID[@schemeID='VA']") == ["DE123456789"]
    assert cii.text("//ram:SpecifiedTradeSettlementPaymentMeans//ram:IBANID") == (
        "DE89370400440532013000"
    )


def test_credit_note_has_type_381_positive_amounts_and_names_the_invoice(
    django_capture_on_commit_callbacks,
):
    invoice = issue_invoice(make_customer())
    with django_capture_on_commit_callbacks(execute=True):
        note = credit_note_issue(invoice=invoice, reason="Cancelled in the trial")
    assert note.gross_amount == D("-1234.50")

    cii = assert_is_the_invoice(note, xml_from_pdf(stored_pdf(note)), standard_or_zero)

    assert cii.totals["GrandTotalAmount"] == D("1234.50")
    assert cii.text("//ram:InvoiceReferencedDocument/ram:IssuerAssignedID") == invoice.number
    assert cii.text("//rsm:ExchangedDocument/ram:IncludedNote/ram:Content") == (
        "Cancelled in the trial"
    )
    assert cii.texts("//ram:BilledQuantity") == ["10.000", "1.000"]


def test_zero_rated_line_is_category_z_beside_the_standard_rate(
    django_capture_on_commit_callbacks,
):
    from tests.billing.factories import line

    with django_capture_on_commit_callbacks(execute=True):
        invoice = issue_invoice(
            make_customer(),
            lines=[line("Digital edition", "2", "10.00"), line("Printed book", "1", "15.00",
                                                                tax_rate="0.00")],
        )  # fmt: skip

    cii = assert_is_the_invoice(invoice, xml_from_pdf(stored_pdf(invoice)), standard_or_zero)

    assert cii.tax_rows == {
        ("S", D("19.00")): (D("20.00"), D("3.80")),
        ("Z", D("0.00")): (D("15.00"), D("0.00")),
    }
    assert cii.totals["GrandTotalAmount"] == D("38.80")


def test_xrechnung_is_the_same_invoice_under_the_xrechnung_guideline(settings):
    customer = make_customer(buyer_reference="991-33333TEST-33")
    invoice = issue_invoice(customer)

    xml = invoice_xrechnung_xml(invoice)

    cii = assert_is_the_invoice(invoice, xml, standard_or_zero, not_factur_x=True)
    assert cii.guideline == (
        "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0"
    )
    assert cii.text("//ram:BuyerReference") == "991-33333TEST-33"
    # What XRechnung adds to EN 16931: seller contact (BR-DE-2, -5, -6, -7), electronic
    # addresses of both parties, buyer city and postal code (BR-DE-8, -9).
    assert cii.text("//ram:SellerTradeParty/ram:DefinedTradeContact/ram:PersonName")
    assert cii.text("//ram:SellerTradeParty//ram:TelephoneUniversalCommunication/"
                    "ram:CompleteNumber")  # fmt: skip
    assert cii.text("//ram:SellerTradeParty/ram:URIUniversalCommunication/ram:URIID") == (
        "billing@kontor.example"
    )
    assert cii.text("//ram:BuyerTradeParty/ram:URIUniversalCommunication/ram:URIID") == (
        customer.email
    )
    assert cii.text("//ram:BuyerTradeParty//ram:CityName") == "Musterstadt"
    # Apart from the guideline id, it is the XML embedded in the PDF.
    embedded = invoice_cii_xml(invoice, list(invoice.lines.order_by("position")))
    assert xml.replace(cii.guideline.encode(), b"") == embedded.replace(
        b"urn:cen.eu:en16931:2017<", b"<"
    )

    settings.KONTOR_XRECHNUNG_VERSION = "2.3"
    assert Cii(invoice_xrechnung_xml(invoice)).guideline.endswith("xrechnung_2.3")


def test_the_profile_setting_names_the_embedded_profile(
    settings, django_capture_on_commit_callbacks
):
    settings.KONTOR_EINVOICE_PROFILE = "extended"
    with django_capture_on_commit_callbacks(execute=True):
        invoice = issue_invoice(make_customer())

    pdf = stored_pdf(invoice)
    cii = Cii(xml_from_pdf(pdf))

    assert cii.guideline == "urn:cen.eu:en16931:2017#conformant#urn:factur-x.eu:1p0:extended"
    assert "<fx:ConformanceLevel>EXTENDED</fx:ConformanceLevel>" in xmp_of(pdf)


def test_the_stored_pdf_is_pdf_a_3_with_the_en16931_factur_x_metadata(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        invoice = issue_invoice(make_customer())
    pdf = stored_pdf(invoice)

    xmp = xmp_of(pdf)
    assert "<pdfaid:part>3</pdfaid:part>" in xmp
    assert "<pdfaid:conformance>B</pdfaid:conformance>" in xmp
    assert "<fx:ConformanceLevel>EN 16931</fx:ConformanceLevel>" in xmp
    assert "<fx:DocumentFileName>factur-x.xml</fx:DocumentFileName>" in xmp
    reader = PdfReader(io.BytesIO(pdf))
    assert list(reader.attachments) == ["factur-x.xml"]
    assert reader.trailer["/Root"]["/AF"][0].get_object()["/AFRelationship"] == "/Data"
    assert "/OutputIntents" in reader.trailer["/Root"]  # PDF/A: the sRGB output intent


def test_no_rule_of_en16931_is_broken_by_a_line_price_with_four_decimals():
    """Usage lines show net / users to four places (never re-multiplied): the XML keeps
    the invoice's net, and the rules accept the difference to quantity x price."""
    from tests.billing.factories import line

    invoice = issue_invoice(make_customer(), lines=[line("Users", "3", "9.3333")])

    xml = invoice_cii_xml(invoice, list(invoice.lines.order_by("position")))

    assert schematron_failures(xml) == []
    assert Cii(xml).line_nets == [D("28.00")]
    assert Invoice.objects.get(pk=invoice.pk).net_amount == D("28.00")


def test_a_wrong_profile_or_xrechnung_version_fails_the_system_check(settings):
    from billing.einvoice.cii import settings_check

    assert settings_check() == []
    settings.KONTOR_EINVOICE_PROFILE = "basic"
    settings.KONTOR_XRECHNUNG_VERSION = "1.2"

    errors = settings_check()

    assert [error.id for error in errors] == [
        "billing.E_KONTOR_EINVOICE_PROFILE",
        "billing.E_KONTOR_XRECHNUNG_VERSION",
    ]
    assert "must be one of en16931, extended, not 'basic'" in errors[0].msg
