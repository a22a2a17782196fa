"""Forms of the activation pages: e-mail domains, IP ranges, user settings and the
landing page's registration. They validate input; the services decide and save."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth import password_validation
from django.utils.translation import gettext_lazy as _

from seats.services.settings import MAX_VALIDITY_DAYS, MIN_VALIDITY_DAYS


class DomainForm(forms.Form):
    domain = forms.CharField(
        label=_("E-mail domain"),
        max_length=253,
        help_text=_("For example example.com: people with an address @example.com can activate."),
    )


class IPRangeForm(forms.Form):
    cidr = forms.CharField(
        label=_("Network (CIDR)"),
        max_length=49,
        help_text=_("IPv4 or IPv6, e.g. 203.0.113.0/24 or 2001:db8::/48."),
    )


class SettingsForm(forms.Form):
    invitation_validity_days = forms.IntegerField(
        label=_("Invitations stay valid (days)"),
        min_value=MIN_VALIDITY_DAYS,
        max_value=MAX_VALIDITY_DAYS,
    )
    users_may_cancel = forms.BooleanField(
        label=_("Users may cancel their own access"), required=False
    )


class DomainRegistrationForm(forms.Form):
    email = forms.EmailField(label=_("Your work e-mail address"))
    first_name = forms.CharField(label=_("First name"), max_length=150)
    last_name = forms.CharField(label=_("Last name"), max_length=150)
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("If you already have an account, its password stays as it is."),
    )
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES, initial="en")

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        password_validation.validate_password(password)
        return password


class CsvUploadForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_("Columns: email, first_name, last_name, language; comma or semicolon."),
    )
    only_valid = forms.BooleanField(
        label=_("Import only the valid rows and skip the rows with errors"), required=False
    )
