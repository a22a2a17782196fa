"""Finance exports (SPEC §4, issue 7 item 7): django-import-export resources, export only.

Six exports: invoices, invoice lines, credit notes, payments, the subscription log and
coupon redemptions. The invoice admin offers the invoice-based ones on its Export page
(they follow the changelist's filters and search), the invoice line admin the lines, and
the "Finance exports" admin page (billing.admin.exports) all six with a date range and
a status, because the log's and the redemptions' admins belong to other apps.

Decisions:

- **Formula neutralisation.** A text cell that begins with `=`, `+`, `-`, `@`, a tab,
  a carriage return or NUL gets a leading `'`, in CSV and XLSX alike, so a spreadsheet shows it
  instead of running it (a customer named `=HYPERLINK(...)`). Numbers, dates and
  booleans are not text: amounts are written as numbers in XLSX and as plain decimal
  strings in CSV (`-12.50` for a credit note stays `-12.50`, parseable as a number), so
  they are never prefixed. What counts as a number is decided by the field's widget,
  never by the look of the value, so a description `-12.50` is still neutralised.
- **Codes, not labels**, for kinds and statuses (`credit_note`, `paid`): stable across
  the staff's languages, so a spreadsheet's filters and an accounting import keep
  working.
- **Reporting tags** (they belong to corporate contracts): one column on invoice lines,
  the tags of the contract that priced the line (the line's product in the invoice's
  corporate offer), sorted and joined with "; ". One column, not one per tag: the set of
  tags changes over time and the column layout of a recurring export should not.
- **Payments**: there is no payment model yet (issue 8 builds it); the payments export
  is the invoices' payment state.
- **Column headers** are fixed English identifiers (`customer_email`), not translated:
  a recurring export keeps its layout whatever the staff member's language.
- Times are in the merchant's time zone (Django's current zone): ISO-like text in CSV,
  naive date-times in XLSX (spreadsheets have no zones).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from import_export import fields, resources, widgets
from import_export.formats import base_formats

from billing.models import Invoice, InvoiceLine
from catalog.models import CorporateOfferContract
from catalog.spreadsheets import neutralise
from seats.models import LogEntry
from subscriptions.models import CouponRedemption

# Not text: written as numbers, dates or booleans, never neutralised.
NATIVE_WIDGETS = (
    widgets.NumberWidget,
    widgets.DateWidget,
    widgets.DateTimeWidget,
    widgets.BooleanWidget,
)
# Above this many rows an export runs as a task (billing.export_tasks) instead of in the
# request; tests lower it.
SYNC_EXPORT_ROWS_DEFAULT = 5000


def sync_export_rows() -> int:
    return getattr(settings, "KONTOR_EXPORT_SYNC_ROWS", SYNC_EXPORT_ROWS_DEFAULT)


# The formats offered: CSV and XLSX (openpyxl, installed with tablib[xlsx]).
EXPORT_FORMATS = (base_formats.CSV, base_formats.XLSX)


def export_format(key: str) -> base_formats.Format:
    """`"csv"` or `"xlsx"` as an import-export format instance."""
    return {"csv": base_formats.CSV, "xlsx": base_formats.XLSX}[key]()


class FinanceResource(resources.ModelResource):
    """Export-only base: neutralises text cells and reports progress to a callback."""

    progress = None  # callable(rows_done) set by the export task

    def export_field(self, field, instance, **kwargs):
        value = super().export_field(field, instance, **kwargs)
        if isinstance(field.widget, NATIVE_WIDGETS):
            return value  # a number or date, also as CSV text ("-12.50"): not a formula
        return neutralise(value)

    def export_resource(self, instance, selected_fields=None, **kwargs):
        row = super().export_resource(instance, selected_fields, **kwargs)
        self._rows = getattr(self, "_rows", 0) + 1
        if self.progress is not None and self._rows % 500 == 0:
            self.progress(self._rows)
        return row

    def export(self, queryset=None, **kwargs):
        self._rows = 0
        return super().export(queryset, **kwargs)


def _amount(column: str, attribute: str) -> fields.Field:
    return fields.Field(attribute=attribute, column_name=column, widget=widgets.DecimalWidget())


def _when(column: str, attribute: str) -> fields.Field:
    return fields.Field(
        attribute=attribute, column_name=column, widget=widgets.DateTimeWidget("%Y-%m-%d %H:%M")
    )


def _text(column: str, attribute: str) -> fields.Field:
    return fields.Field(attribute=attribute, column_name=column)


# --- invoices, credit notes, payments ------------------------------------------------


class InvoiceResource(FinanceResource):
    """Invoices and credit notes, one row each, with their totals and payment state."""

    number = _text("number", "number")
    kind = _text("kind", "kind")
    status = _text("status", "status")
    billing = _text("billing", "billing")
    customer = _text("customer", "customer_name")
    customer_email = _text("customer_email", "customer__email")
    customer_country = _text("customer_country", "customer_country")
    customer_vat_id = _text("customer_vat_id", "customer_vat_id")
    reverse_charge = fields.Field(
        attribute="reverse_charge", column_name="reverse_charge", widget=widgets.BooleanWidget()
    )
    subscription = _text("subscription", "subscription__public_id")
    credited_invoice = _text("credited_invoice", "credited_invoice__number")
    period_start = _when("period_start", "period_start")
    period_end = _when("period_end", "period_end")
    currency = _text("currency", "currency")
    net = _amount("net", "net_amount")
    tax = _amount("tax", "tax_amount")
    gross = _amount("gross", "gross_amount")
    amount_paid = _amount("amount_paid", "amount_paid")
    issued_at = _when("issued_at", "issued_at")
    due_at = _when("due_at", "due_at")
    paid_at = _when("paid_at", "paid_at")

    class Meta:
        model = Invoice
        name = _("Invoices")
        fields = (
            "number",
            "kind",
            "status",
            "billing",
            "customer",
            "customer_email",
            "customer_country",
            "customer_vat_id",
            "reverse_charge",
            "subscription",
            "credited_invoice",
            "period_start",
            "period_end",
            "currency",
            "net",
            "tax",
            "gross",
            "amount_paid",
            "issued_at",
            "due_at",
            "paid_at",
        )
        export_order = fields

    def filter_export(self, queryset: QuerySet, **kwargs) -> QuerySet:
        return queryset.select_related("customer", "subscription", "credited_invoice")


class CreditNoteResource(InvoiceResource):
    """The invoice export preset to credit notes (kind "credit_note") only."""

    class Meta(InvoiceResource.Meta):
        name = _("Credit notes")

    def filter_export(self, queryset: QuerySet, **kwargs) -> QuerySet:
        return super().filter_export(queryset.filter(kind=Invoice.Kind.CREDIT_NOTE), **kwargs)


class PaymentStateResource(FinanceResource):
    """Payments (invoice payment state). There is no payment model yet (issue 8 builds
    it): one row per issued invoice (not credit notes) with what was paid and when."""

    number = _text("number", "number")
    customer = _text("customer", "customer_name")
    currency = _text("currency", "currency")
    gross = _amount("gross", "gross_amount")
    amount_paid = _amount("amount_paid", "amount_paid")
    amount_due = _amount("amount_due", "amount_due")
    paid_at = _when("paid_at", "paid_at")
    status = _text("status", "status")
    due_at = _when("due_at", "due_at")

    class Meta:
        model = Invoice
        name = _("Payments (invoice payment state)")
        fields = (
            "number",
            "customer",
            "currency",
            "gross",
            "amount_paid",
            "amount_due",
            "paid_at",
            "status",
            "due_at",
        )
        export_order = fields

    def filter_export(self, queryset: QuerySet, **kwargs) -> QuerySet:
        return queryset.filter(kind=Invoice.Kind.INVOICE).exclude(status=Invoice.Status.DRAFT)


# --- invoice lines -------------------------------------------------------------------


class InvoiceLineResource(FinanceResource):
    """Invoice lines (of invoices and credit notes) with the invoice's number, customer
    and date, and the reporting tags of the contract that priced the line."""

    invoice = _text("invoice", "invoice__number")
    invoice_kind = _text("invoice_kind", "invoice__kind")
    invoice_status = _text("invoice_status", "invoice__status")
    issued_at = _when("issued_at", "invoice__issued_at")
    customer = _text("customer", "invoice__customer_name")
    position = fields.Field(
        attribute="position", column_name="position", widget=widgets.IntegerWidget()
    )
    kind = _text("kind", "kind")
    description = _text("description", "description")
    product = _text("product", "product__code")
    product_name = _text("product_name", "product__name")
    counting = _text("users_counted", "counting")
    quantity = _amount("quantity", "quantity")
    unit_price = _amount("unit_price", "unit_price")
    net = _amount("net", "net_amount")
    tax_rate = _amount("tax_rate", "tax_rate")
    tax = _amount("tax", "tax_amount")
    gross = _amount("gross", "gross_amount")
    currency = _text("currency", "invoice__currency")
    ledger_account = _text("ledger_account", "ledger_account")
    reporting_tags = fields.Field(column_name="reporting_tags")

    class Meta:
        model = InvoiceLine
        name = _("Invoice lines")
        fields = (
            "invoice",
            "invoice_kind",
            "invoice_status",
            "issued_at",
            "customer",
            "position",
            "kind",
            "description",
            "product",
            "product_name",
            "counting",
            "quantity",
            "unit_price",
            "net",
            "tax_rate",
            "tax",
            "gross",
            "currency",
            "ledger_account",
            "reporting_tags",
        )
        export_order = fields

    def filter_export(self, queryset: QuerySet, **kwargs) -> QuerySet:
        return queryset.select_related("invoice__subscription", "product")

    def before_export(self, queryset, **kwargs) -> None:
        self._tags = contract_tags()

    def dehydrate_reporting_tags(self, line: InvoiceLine) -> str:
        subscription = line.invoice.subscription
        if subscription is None or line.product_id is None:
            return ""
        return self._tags.get((subscription.corporate_offer_id, line.product_id), "")


def contract_tags() -> dict[tuple[int, int], str]:
    """(corporate offer, product) → the reporting tags of that offer's contract for the
    product, "; "-joined. One query, whatever the number of lines."""
    tags: dict[tuple[int, int], set[str]] = defaultdict(set)
    rows = CorporateOfferContract.objects.filter(
        contract__reporting_tags__isnull=False
    ).values_list("offer_id", "contract__product_id", "contract__reporting_tags__name")
    for offer_id, product_id, name in rows:
        tags[(offer_id, product_id)].add(name)
    return {key: "; ".join(sorted(names)) for key, names in tags.items()}


# --- subscription log and coupon redemptions -----------------------------------------


class SubscriptionLogResource(FinanceResource):
    """The subscription log (seats): every start and end of a user's access."""

    at = _when("at", "at")
    account = _text("account", "seat_account__public_id")
    subscription = _text("subscription", "seat_account__subscription__public_id")
    customer = _text("customer", "seat_account__subscription__customer__name")
    user_email = _text("user_email", "user__email")
    product = _text("product", "product__code")
    action = _text("action", "action")
    via = _text("via", "via")
    actor = _text("actor", "actor__email")

    class Meta:
        model = LogEntry
        name = _("Subscription log")
        fields = (
            "at",
            "account",
            "subscription",
            "customer",
            "user_email",
            "product",
            "action",
            "via",
            "actor",
        )
        export_order = fields

    def filter_export(self, queryset: QuerySet, **kwargs) -> QuerySet:
        return queryset.select_related(
            "seat_account__subscription__customer", "user", "product", "actor"
        )


class CouponRedemptionResource(FinanceResource):
    """Coupon and voucher redemptions with the discount they give per period."""

    redeemed_at = _when("redeemed_at", "redeemed_at")
    code = _text("code", "code__code")
    campaign = _text("campaign", "campaign__name")
    kind = _text("kind", "kind")
    customer = _text("customer", "customer__name")
    customer_email = _text("customer_email", "customer__email")
    subscription = _text("subscription", "subscription__public_id")
    list_price = _amount("list_price", "list_price")
    discount = _amount("discount_per_period", "discount_amount")
    currency = _text("currency", "currency")
    periods = fields.Field(
        attribute="periods", column_name="periods", widget=widgets.IntegerWidget()
    )
    redeemed_by = _text("redeemed_by", "redeemed_by__email")

    class Meta:
        model = CouponRedemption
        name = _("Coupon redemptions")
        fields = (
            "redeemed_at",
            "code",
            "campaign",
            "kind",
            "customer",
            "customer_email",
            "subscription",
            "list_price",
            "discount",
            "currency",
            "periods",
            "redeemed_by",
        )
        export_order = fields

    def filter_export(self, queryset: QuerySet, **kwargs) -> QuerySet:
        return queryset.select_related(
            "code", "campaign", "customer", "subscription", "redeemed_by"
        )


# --- the six exports of the Finance exports page -------------------------------------


@dataclass(frozen=True)
class FinanceExport:
    """One export of the Finance exports page: its resource, the model's date field the
    date range applies to, the status field (if any) and the permission it needs."""

    key: str
    label: Any
    resource: type[FinanceResource]
    date_field: str
    status_field: str | None
    permission: str

    @property
    def model(self):
        return self.resource._meta.model

    def queryset(self) -> QuerySet:
        return self.model._default_manager.all()


FINANCE_EXPORTS: dict[str, FinanceExport] = {
    export.key: export
    for export in (
        FinanceExport(
            "invoices",
            _("Invoices"),
            InvoiceResource,
            "issued_at",
            "status",
            "billing.view_invoice",
        ),
        FinanceExport(
            "invoice_lines",
            _("Invoice lines"),
            InvoiceLineResource,
            "invoice__issued_at",
            "invoice__status",
            "billing.view_invoiceline",
        ),
        FinanceExport(
            "credit_notes",
            _("Credit notes"),
            CreditNoteResource,
            "issued_at",
            "status",
            "billing.view_invoice",
        ),
        FinanceExport(
            "payments",
            _("Payments (invoice payment state)"),
            PaymentStateResource,
            "issued_at",
            "status",
            "billing.view_invoice",
        ),
        FinanceExport(
            "subscription_log",
            _("Subscription log"),
            SubscriptionLogResource,
            "at",
            None,
            "seats.view_logentry",
        ),
        FinanceExport(
            "coupon_redemptions",
            _("Coupon redemptions"),
            CouponRedemptionResource,
            "redeemed_at",
            None,
            "subscriptions.view_couponredemption",
        ),
    )
}

RESOURCES: dict[str, type[FinanceResource]] = {
    cls.__name__: cls
    for cls in (
        InvoiceResource,
        CreditNoteResource,
        PaymentStateResource,
        InvoiceLineResource,
        SubscriptionLogResource,
        CouponRedemptionResource,
    )
}
