"""Invoices and credit notes.

An invoice is made as a draft with its lines, then **issued**: it gets the next number of
its series (gap-free: the series row is locked in the issuing transaction, so a rolled
back issue leaves no hole), its totals are the sums of its rounded lines, and from then
on the database refuses changes to what it says (a trigger, see migration 0002): only
its payment state (status open → paid / overdue / void, amount paid, paid at) and its
stored PDF may still be written. Corrections are credit notes (kind "credit_note"),
which reference the invoice and have their own number series.

Money: every line is rounded once, half up, to the currency's minor unit: net =
quantity x unit price, tax = net x rate, gross = net + tax. Invoice totals add the lines.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from catalog.models.base import amount_field


def signed_amount_field(verbose_name: str, **kwargs) -> models.DecimalField:
    """An amount that may be negative (a discount line)."""
    return models.DecimalField(verbose_name, max_digits=12, decimal_places=2, **kwargs)


class NumberSeries(models.Model):
    """The last number handed out in one series (e.g. invoices of 2026). Locked while an
    invoice of the series is issued, so numbers are gap-free and never given twice."""

    key = models.CharField(_("series"), max_length=32, unique=True)
    last_number = models.PositiveIntegerField(_("last number"), default=0)

    class Meta:
        verbose_name = _("number series")
        verbose_name_plural = _("number series")

    def __str__(self) -> str:
        return f"{self.key}: {self.last_number}"


class PaymentMeans(models.TextChoices):
    """UNTDID 4461 codes of the payment means an e-invoice names."""

    CREDIT_TRANSFER = "58", _("SEPA credit transfer")
    DIRECT_DEBIT = "59", _("SEPA direct debit")
    CARD = "48", _("Card")


class Invoice(models.Model):
    PaymentMeans = PaymentMeans

    class Kind(models.TextChoices):
        INVOICE = "invoice", _("Invoice")
        CREDIT_NOTE = "credit_note", _("Credit note")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        OPEN = "open", _("Open")
        PAID = "paid", _("Paid")
        OVERDUE = "overdue", _("Overdue")
        VOID = "void", _("Void")

    class Billing(models.TextChoices):
        IN_ADVANCE = "in_advance", _("In advance (the coming period)")
        IN_ARREARS = "in_arrears", _("After the period (by usage)")
        ONE_OFF = "one_off", _("One-off")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.INVOICE)
    number = models.CharField(_("number"), max_length=32, null=True, blank=True, unique=True)
    status = models.CharField(
        _("status"), max_length=8, choices=Status.choices, default=Status.DRAFT
    )
    customer = models.ForeignKey(
        "subscriptions.Customer",
        on_delete=models.PROTECT,
        related_name="invoices",
        verbose_name=_("customer"),
    )
    subscription = models.ForeignKey(
        "subscriptions.Subscription",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="invoices",
        verbose_name=_("subscription"),
    )
    credited_invoice = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="credit_notes",
        verbose_name=_("credited invoice"),
    )
    billing = models.CharField(
        _("billing"), max_length=12, choices=Billing.choices, default=Billing.IN_ADVANCE
    )
    period_start = models.DateTimeField(_("period from"), null=True, blank=True)
    period_end = models.DateTimeField(
        _("period until"), null=True, blank=True, help_text=_("Exclusive.")
    )
    currency = models.CharField(_("currency"), max_length=3)
    language = models.CharField(_("language"), max_length=8, default="en")
    # The buyer as they were when the invoice was made (never follows later edits).
    customer_name = models.CharField(_("customer name"), max_length=200)
    customer_address = models.TextField(_("customer address"), blank=True)
    customer_country = models.CharField(_("customer country"), max_length=2, blank=True)
    customer_vat_id = models.CharField(_("customer VAT id"), max_length=32, blank=True)
    # The same address in the parts an e-invoice needs (billing.einvoice), the billing
    # e-mail (the buyer's electronic address in XRechnung) and the buyer's reference.
    customer_street = models.CharField(
        _("customer street"), max_length=200, blank=True, default="", db_default=""
    )
    customer_street2 = models.CharField(
        _("customer street (line 2)"), max_length=200, blank=True, default="", db_default=""
    )
    customer_postal_code = models.CharField(
        _("customer postal code"), max_length=20, blank=True, default="", db_default=""
    )
    customer_city = models.CharField(
        _("customer city"), max_length=100, blank=True, default="", db_default=""
    )
    customer_email = models.CharField(
        _("customer e-mail"), max_length=254, blank=True, default="", db_default=""
    )
    buyer_reference = models.CharField(
        _("buyer reference / Leitweg-ID"), max_length=100, blank=True, default="", db_default=""
    )
    reverse_charge = models.BooleanField(_("reverse charge"), default=False)
    # How the amount is paid, as the e-invoice says it (UNTDID 4461): bank transfer to
    # the merchant, SEPA direct debit under the mandate, or card. Empty on invoices
    # issued before e-invoices (read as a transfer).
    payment_means = models.CharField(
        _("payment means"),
        max_length=2,
        choices=PaymentMeans.choices,
        blank=True,
        default="",
        db_default="",
    )
    mandate_reference = models.CharField(
        _("SEPA mandate reference"), max_length=35, blank=True, default="", db_default=""
    )
    note = models.TextField(
        _("note"), blank=True, help_text=_("Printed on the document; a credit note's reason.")
    )
    net_amount = signed_amount_field(_("net"), default=Decimal("0.00"))
    tax_amount = signed_amount_field(_("tax"), default=Decimal("0.00"))
    gross_amount = signed_amount_field(_("gross"), default=Decimal("0.00"))
    amount_paid = amount_field(_("amount paid"), default=Decimal("0.00"))
    issued_at = models.DateTimeField(_("issued"), null=True, blank=True)
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    paid_at = models.DateTimeField(_("paid"), null=True, blank=True)
    pdf = models.FileField(_("PDF"), upload_to="invoices/%Y/%m/", blank=True)
    billing_run = models.ForeignKey(
        "billing.BillingRun",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="invoices",
        verbose_name=_("billing run"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        ordering = ["-issued_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "period_start"],
                condition=Q(kind="invoice", subscription__isnull=False, period_start__isnull=False),
                name="invoice_once_per_subscription_and_period",
                violation_error_message=_("This period of the subscription is invoiced already."),
            ),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(number__isnull=False, issued_at__isnull=False),
                name="invoice_issued_has_number",
                violation_error_message=_("An issued invoice has a number and an issue date."),
            ),
            models.CheckConstraint(
                condition=~Q(kind="credit_note") | Q(credited_invoice__isnull=False),
                name="credit_note_names_its_invoice",
                violation_error_message=_("A credit note refers to the invoice it corrects."),
            ),
            models.CheckConstraint(
                condition=Q(gross_amount=models.F("net_amount") + models.F("tax_amount")),
                name="invoice_gross_is_net_plus_tax",
                violation_error_message=_("Gross is net plus tax."),
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "-issued_at"], name="invoice_customer_issued"),
            models.Index(fields=["due_at"], condition=Q(status="open"), name="invoice_open_due"),
            # For the reports dashboard (reports.selectors.dashboard): index-only scans of
            # what it sums, so a year of a million invoice lines answers in milliseconds.
            models.Index(
                fields=["issued_at"],
                include=["currency", "status", "net_amount", "gross_amount", "subscription"],
                condition=Q(issued_at__isnull=False),
                name="invoice_report_issued",
            ),
            models.Index(
                fields=["paid_at"],
                include=["currency", "amount_paid", "subscription"],
                condition=Q(paid_at__isnull=False),
                name="invoice_report_paid",
            ),
            models.Index(
                fields=["currency", "due_at"],
                include=["gross_amount", "amount_paid", "subscription"],
                condition=Q(kind="invoice", status__in=["open", "overdue"]),
                name="invoice_report_receivable",
            ),
            models.Index(
                fields=["subscription", "period_start", "id"],
                include=["issued_at", "net_amount", "status"],
                condition=Q(kind="invoice", billing="in_arrears"),
                name="invoice_report_post_billed",
            ),
        ]

    def __str__(self) -> str:
        return self.number or _("Draft %(id)s") % {"id": self.pk}

    @property
    def is_issued(self) -> bool:
        return self.status != self.Status.DRAFT

    @property
    def amount_due(self) -> Decimal:
        return max(self.gross_amount - self.amount_paid, Decimal(0))


class InvoiceLine(models.Model):
    class Kind(models.TextChoices):
        SUBSCRIPTION = "subscription", _("Subscription")
        USAGE = "usage", _("Users")
        BASE_FEE = "base_fee", _("Base fee")
        DISCOUNT = "discount", _("Discount")
        PENALTY = "penalty", _("Early-cancellation fee")
        CREDIT = "credit", _("Credit")

    invoice = models.ForeignKey(
        Invoice, on_delete=models.CASCADE, related_name="lines", verbose_name=_("invoice")
    )
    position = models.PositiveSmallIntegerField(_("position"))
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    description = models.CharField(_("description"), max_length=300)
    product = models.ForeignKey(
        "catalog.Product",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("product"),
    )
    # How users were counted for a usage line (the contract's setting), e.g. "any_time".
    counting = models.CharField(_("users counted"), max_length=16, blank=True)
    quantity = models.DecimalField(_("quantity"), max_digits=12, decimal_places=3)
    unit_price = models.DecimalField(_("unit price"), max_digits=14, decimal_places=4)
    net_amount = signed_amount_field(_("net"))
    tax_rate = models.DecimalField(_("tax rate (%)"), max_digits=5, decimal_places=2)
    tax_amount = signed_amount_field(_("tax"))
    gross_amount = signed_amount_field(_("gross"))
    ledger_account = models.CharField(_("ledger account"), max_length=32, blank=True)

    class Meta:
        verbose_name = _("invoice line")
        verbose_name_plural = _("invoice lines")
        ordering = ["invoice", "position"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "position"], name="invoice_line_position"),
            models.CheckConstraint(
                condition=Q(gross_amount=models.F("net_amount") + models.F("tax_amount")),
                name="invoice_line_gross_is_net_plus_tax",
                violation_error_message=_("Gross is net plus tax."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.description}"
