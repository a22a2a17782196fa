"""Forms of the hosted checkout: the purchase form and the "create an account" form.

They validate input and build choices from the purchase service's own reads
(`purchase_options`, `payment_methods_for_purchase`); the service decides.
"""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.contrib.auth.password_validation import validate_password
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from catalog.models import Bundle, Offer, Product
from catalog.money import format_money
from subscriptions.models import Customer, User, normalize_email
from subscriptions.services.purchase import (
    INVOICE,
    accepts_payment_kind,
    payment_methods_for_purchase,
    purchase_options,
)


class ProductChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj) -> str:
        return obj.name


class CheckoutForm(forms.Form):
    optional_products = ProductChoiceField(
        label=_("Optional products"),
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    addon_bundles = ProductChoiceField(
        label=_("Add-ons"),
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    coupon_code = forms.CharField(
        label=_("Coupon code"),
        max_length=64,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    payment_method = forms.ChoiceField(
        label=_("Payment method"), required=False, widget=forms.RadioSelect
    )
    # The purchase's idempotency key: new for every page shown, sent back with the order,
    # so a double click or a resubmitted page buys once (see subscription_purchase).
    # A form without a valid key (one rendered before keys existed, or tampered with)
    # still buys, under a fresh key: refusing it would only cost a paying customer.
    purchase_key = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, offer: Offer, customer: Customer | None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.offer = offer
        self.fields["purchase_key"].initial = uuid.uuid4
        options = purchase_options(offer=offer)
        products = [item.product_id for item in options.optional_items]
        bundles = [bundle.pk for bundle in options.addon_bundles]
        self.fields["optional_products"].queryset = Product.objects.filter(pk__in=products)
        self.fields["addon_bundles"].queryset = Bundle.objects.filter(pk__in=bundles)
        self._methods = {
            str(m.public_id): m
            for m in payment_methods_for_purchase(customer=customer, offer=offer)
        }
        choices = [(key, method.label) for key, method in self._methods.items()]
        if accepts_payment_kind(offer, INVOICE):
            choices.append((INVOICE, _("Invoice / bank transfer")))
        self.fields["payment_method"].choices = choices
        if len(choices) == 1:
            self.fields["payment_method"].initial = choices[0][0]
        if not products:
            del self.fields["optional_products"]
        if not bundles:
            del self.fields["addon_bundles"]

    @property
    def is_free(self) -> bool:
        return self.offer.price_amount == 0

    def clean_purchase_key(self) -> uuid.UUID:
        try:
            return uuid.UUID(self.cleaned_data["purchase_key"])
        except (TypeError, ValueError):
            return uuid.uuid4()

    def purchase_kwargs(self) -> dict[str, Any]:
        """The service's arguments from the cleaned data."""
        data = self.cleaned_data
        chosen = data.get("payment_method") or ""
        return {
            "optional_products": list(data.get("optional_products") or ()),
            "addon_bundles": list(data.get("addon_bundles") or ()),
            "coupon_code": data.get("coupon_code", ""),
            "payment_method": INVOICE if chosen == INVOICE else self._methods.get(chosen),
            "purchase_key": data["purchase_key"],
        }

    def price_label(self) -> str:
        return format_money(self.offer.price_amount, self.offer.currency, get_language() or "en")


class RegisterForm(forms.Form):
    """A new customer's portal login: e-mail, name and a password."""

    email = forms.EmailField(
        label=_("E-mail address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    first_name = forms.CharField(
        label=_("First name"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "given-name"}),
    )
    last_name = forms.CharField(
        label=_("Last name"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "family-name"}),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean_email(self) -> str:
        email = normalize_email(self.cleaned_data["email"])
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError(
                _("An account with this e-mail address exists already. Please log in."),
                code="unique",
            )
        return email

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        password = data.get("password")
        if password:
            candidate = User(
                email=data.get("email", ""),
                first_name=data.get("first_name", ""),
                last_name=data.get("last_name", ""),
            )
            try:
                validate_password(password, candidate)
            except forms.ValidationError as error:
                self.add_error("password", error)
        return data
