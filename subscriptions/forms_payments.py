"""Portal forms for payment methods. They check the shape of what was typed; the gateway
(through subscriptions.services.payments) decides whether it is a usable method."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from subscriptions.exceptions import PaymentRefused
from subscriptions.models import PaymentMethod


class GatewayDetailsForm(forms.Form):
    """A form whose cleaned data is handed to the gateway as `details`."""

    # gateway refusal code -> the field its message belongs to (else a form error)
    refusal_fields: dict[str, str] = {}

    def details(self) -> dict[str, str]:
        return {name: str(value) for name, value in self.cleaned_data.items()}

    def add_refusal(self, error: PaymentRefused) -> None:
        self.add_error(self.refusal_fields.get(error.code), str(error))


class CardForm(GatewayDetailsForm):
    number = forms.CharField(
        label=_("Card number"),
        max_length=23,
        widget=forms.TextInput(
            attrs={"autocomplete": "cc-number", "inputmode": "numeric", "autofocus": True}
        ),
    )
    exp_month = forms.TypedChoiceField(
        label=_("Expiry month"),
        coerce=int,
        choices=[(m, f"{m:02d}") for m in range(1, 13)],
        widget=forms.Select(attrs={"autocomplete": "cc-exp-month"}),
    )
    exp_year = forms.TypedChoiceField(
        label=_("Expiry year"),
        coerce=int,
        widget=forms.Select(attrs={"autocomplete": "cc-exp-year"}),
    )
    cvc = forms.CharField(
        label=_("CVC"),
        max_length=4,
        min_length=3,
        widget=forms.TextInput(attrs={"autocomplete": "cc-csc", "inputmode": "numeric"}),
    )

    refusal_fields = {
        "incorrect_number": "number",
        "not_a_test_card": "number",
        "invalid_expiry": "exp_month",
        "expired_card": "exp_year",
        "incorrect_cvc": "cvc",
    }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        year = timezone.localdate().year
        self.fields["exp_year"].choices = [(y, str(y)) for y in range(year, year + 16)]

    def clean_number(self) -> str:
        number = "".join(self.cleaned_data["number"].split()).replace("-", "")
        if not number.isdigit():
            raise forms.ValidationError(_("A card number has digits only."))
        return number


class SepaForm(GatewayDetailsForm):
    account_holder = forms.CharField(
        label=_("Account holder"),
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "name", "autofocus": True}),
    )
    iban = forms.CharField(
        label=_("IBAN"),
        max_length=42,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    mandate = forms.BooleanField(label=_("I accept the SEPA direct debit mandate above."))

    refusal_fields = {
        "invalid_iban": "iban",
        "not_a_test_iban": "iban",
        "missing_holder": "account_holder",
    }

    def details(self) -> dict[str, str]:
        return {
            "account_holder": self.cleaned_data["account_holder"],
            "iban": self.cleaned_data["iban"],
        }

    @staticmethod
    def mandate_text() -> str:
        return _(
            "By providing your IBAN and confirming, you authorise %(merchant)s to send "
            "instructions to your bank to debit your account, and your bank to debit your "
            "account in accordance with those instructions. You are entitled to a refund from "
            "your bank under the terms and conditions of your agreement with your bank; a "
            "refund must be claimed within 8 weeks starting from the date on which your "
            "account was debited."
        ) % {"merchant": settings.KONTOR_MERCHANT_NAME}


class InvoiceForm(GatewayDetailsForm):
    """Invoice payment needs nothing but the customer's confirmation."""


KIND_FORMS: dict[str, type[GatewayDetailsForm]] = {
    "card": CardForm,
    "sepa_debit": SepaForm,
    "invoice": InvoiceForm,
}


class PaymentMethodChoiceForm(forms.Form):
    payment_method = forms.ModelChoiceField(
        label=_("Pay with"),
        queryset=PaymentMethod.objects.none(),
        to_field_name="public_id",
        widget=forms.RadioSelect,
        empty_label=None,
    )

    def __init__(self, *args, methods: QuerySet[PaymentMethod], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["payment_method"]
        field.queryset = methods
        field.label_from_instance = _method_label

    def add_refusal(self, error: PaymentRefused) -> None:
        self.add_error("payment_method", str(error))


def _method_label(method: PaymentMethod) -> str:
    if method.kind == "invoice":
        return str(method.get_kind_display())
    if method.expires_month:
        detail = _("expires %(month)02d/%(year)d") % {
            "month": method.expires_month,
            "year": method.expires_year,
        }
    else:
        detail = _("mandate %(reference)s") % {"reference": method.mandate_reference}
    return f"{method.label} ({method.get_kind_display()}, {detail})"
