"""The fixed context of each mail type: the only variables its templates can use.

Emitters pass these values in `Mail(context=...)`, already formatted for the recipient's
language (dates and money as strings: rendering does no formatting of its own). Only
plain values: str, int, or a list of str. Keys not listed for the type are dropped
before rendering, so a template can never reach anything but what is documented here.

Each variable carries a description (shown to staff beside the template) and a sample
value (used for the admin preview and to check a template when it is saved); samples
that depend on the language (dates, amounts) have a German variant.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from notifications.events import MailType

Value = str | int | list[str]


@dataclass(frozen=True)
class Variable:
    name: str
    description: str | Promise
    sample: Value
    sample_de: Value | None = None

    def sample_for(self, language: str) -> Value:
        if language == "de" and self.sample_de is not None:
            return self.sample_de
        return self.sample


MERCHANT_NAME = Variable(
    "merchant_name",
    _("Your company's name as customers know it (setting KONTOR_MERCHANT_NAME)."),
    "Kontor",
)
RECIPIENT_FIRST_NAME = Variable(
    "recipient_first_name",
    _("The recipient's first name; may be empty, so test it with an if block."),
    "Rita",
)
OFFER_NAME = Variable(
    "offer_name", _("Name of the offer the subscription is for."), "Team Pro", "Team Pro"
)
# Variables that let whoever reads them act as the recipient (redeem the invitation):
# the mail log in the admin shows them masked (they stay in the stored context, which
# sending and retrying need).
SECRET_VARIABLES = frozenset({"invitation_url", "invitation_code"})

INVITATION_URL = Variable(
    "invitation_url",
    _("Link that opens the invitation in the portal."),
    "https://portal.example.com/portal/invitations/3f2c9a1e/",
)
EXPIRES_AT = Variable(
    "expires_at",
    _("When the invitation expires, a date formatted for the recipient's language."),
    "March 31, 2027",
    "31. März 2027",
)
INVOICE_NUMBER = Variable("invoice_number", _("The invoice number."), "2027-000123")

UNCOLLECTED_AMOUNT = Variable(
    "amount",
    _("The amount that could not be collected, formatted."),
    "€1,234.50",
    "1.234,50 €",
)
FAILURE_REASON = Variable(
    "reason",
    _("Why the payment failed, as the payment provider said; may be empty."),
    "The card was declined.",
    "Die Karte wurde abgelehnt.",
)
VARIABLES: dict[str, tuple[Variable, ...]] = {
    MailType.USER_INVITED: (
        RECIPIENT_FIRST_NAME,
        Variable("recipient_email", _("The invited e-mail address."), "rita@example.com"),
        Variable(
            "inviter_name",
            _("Who invited the recipient: the customer's contact or company name."),
            "Acme Ltd.",
            "Acme GmbH",
        ),
        OFFER_NAME,
        INVITATION_URL,
        Variable(
            "invitation_code",
            _("The invitation code, for typing in by hand."),
            "K7QX-4M2P",
        ),
        EXPIRES_AT,
        MERCHANT_NAME,
    ),
    MailType.USER_ADDED: (
        RECIPIENT_FIRST_NAME,
        OFFER_NAME,
        Variable(
            "products",
            _(
                "Names of the products the user now has access to: a list, to loop over "
                'with for or to show with |join(", ").'
            ),
            ["Reports", "Archive", "Newsletter"],
            ["Berichte", "Archiv", "Newsletter"],
        ),
        Variable(
            "portal_url", _("Link to the customer portal."), "https://portal.example.com/portal/"
        ),
        MERCHANT_NAME,
    ),
    MailType.INVOICE_ISSUED: (
        INVOICE_NUMBER,
        Variable(
            "total",
            _("The invoice total with its currency, formatted."),
            "€1,234.50",
            "1.234,50 €",
        ),
        Variable(
            "due_date",
            _("When payment is due, a formatted date."),
            "April 14, 2027",
            "14. April 2027",
        ),
        Variable(
            "invoice_url",
            _("Link to the invoice (PDF) in the portal."),
            "https://portal.example.com/billing/invoices/8d41b7c2/",
        ),
        Variable(
            "customer_name",
            _("The customer's name as printed on the invoice."),
            "Acme Ltd.",
            "Acme GmbH",
        ),
        MERCHANT_NAME,
    ),
    MailType.PAYMENT_FAILED: (
        INVOICE_NUMBER,
        UNCOLLECTED_AMOUNT,
        FAILURE_REASON,
        Variable("bank_name", _("Your bank, for payment by transfer."), "Sparkasse Musterstadt"),
        Variable("iban", _("Your IBAN, for payment by transfer."), "DE89 3704 0044 0532 0130 00"),
        Variable("bic", _("Your BIC, for payment by transfer."), "COBADEFFXXX"),
        Variable(
            "reference",
            _("The payment reference the customer must give with the transfer."),
            "2027-000123",
        ),
        MERCHANT_NAME,
    ),
    MailType.PAYMENT_REMINDER: (
        INVOICE_NUMBER,
        UNCOLLECTED_AMOUNT,
        FAILURE_REASON,
        Variable(
            "next_attempt",
            _("When the payment is tried again, a formatted date."),
            "April 14, 2027",
            "14. April 2027",
        ),
        Variable(
            "payment_methods_url",
            _("Link to the portal page where the customer changes the payment method."),
            "https://portal.example.com/portal/payment-methods/",
        ),
        MERCHANT_NAME,
    ),
    MailType.INVITATION_EXPIRING: (
        RECIPIENT_FIRST_NAME,
        OFFER_NAME,
        INVITATION_URL,
        EXPIRES_AT,
        MERCHANT_NAME,
    ),
}


def variables_for(mail_type: str) -> tuple[Variable, ...]:
    return VARIABLES[mail_type]


def variable_names(mail_type: str) -> list[str]:
    return [variable.name for variable in VARIABLES[mail_type]]


def sample_context(mail_type: str, language: str = "en") -> dict[str, Value]:
    """The sample values of a type's variables, for previews and checks on save."""
    context = {v.name: v.sample_for(language) for v in VARIABLES[mail_type]}
    context[MERCHANT_NAME.name] = settings.KONTOR_MERCHANT_NAME
    return context


def context_for(mail_type: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """The values an emitter passed, reduced to the type's variables; the merchant's
    name is filled in from the settings unless the emitter gave one."""
    names = set(variable_names(mail_type))
    context = {key: value for key, value in values.items() if key in names}
    context.setdefault(MERCHANT_NAME.name, settings.KONTOR_MERCHANT_NAME)
    return context
