"""Forms of the customer portal's subscription and account pages. They validate input;
services change the data."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from subscriptions.models import Customer

CANCEL_MODES = [
    ("period_end", _("At the end of the period")),
    ("now", _("Now")),
]


class CancelForm(forms.Form):
    """The chosen way to end, with the date and fee the page quoted for each way (hidden
    fields `end_<mode>` and `penalty_<mode>`), so the service applies only what the
    customer saw. A post without them (an older page) is quoted afresh."""

    mode = forms.ChoiceField(label=_("When should it end?"), choices=CANCEL_MODES)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for mode, _label in CANCEL_MODES:
            self.fields[f"end_{mode}"] = forms.DateTimeField(
                required=False, widget=forms.HiddenInput
            )
            self.fields[f"penalty_{mode}"] = forms.DecimalField(
                required=False, max_digits=12, decimal_places=2, widget=forms.HiddenInput
            )

    def expected(self) -> dict:
        """The keyword arguments for subscription_cancel: mode and what was confirmed."""
        mode = self.cleaned_data["mode"]
        return {
            "mode": mode,
            "expected_end": self.cleaned_data.get(f"end_{mode}"),
            "expected_penalty": self.cleaned_data.get(f"penalty_{mode}"),
        }


class CustomerDetailsForm(forms.Form):
    """The account's details, with the model's labels, help texts and limits. Only a
    company has the VAT id and buyer reference (e-invoice) fields."""

    PERSON_FIELDS = (
        "name",
        "email",
        "address_line1",
        "address_line2",
        "postal_code",
        "city",
        "country",
        "language",
    )

    def __init__(self, *args, customer: Customer, **kwargs) -> None:
        names = list(self.PERSON_FIELDS)
        if customer.kind == Customer.Kind.COMPANY:
            names += ["vat_id", "buyer_reference"]
        kwargs.setdefault("initial", {name: getattr(customer, name) for name in names})
        super().__init__(*args, **kwargs)
        self.fields.update(forms.fields_for_model(Customer, fields=names))
        self.fields["name"].label = (
            _("Company name") if customer.kind == Customer.Kind.COMPANY else _("Full name")
        )
        self.fields["name"].help_text = ""
        self.fields["email"].help_text = _("Invoices and reminders go to this address.")
        self.fields["language"].help_text = _("The language of your invoices and e-mails.")
