"""Forms for portal logins and for staff managing users in the admin."""

from django import forms
from django.contrib.auth.forms import (
    AdminUserCreationForm,
    AuthenticationForm,
    PasswordResetForm,
    UserChangeForm,
)
from django.utils.translation import gettext_lazy as _

from .models import User, normalize_email


class EmailAuthenticationForm(AuthenticationForm):
    """Django's login form, asking for the e-mail address (matched case-insensitively)."""

    username = forms.EmailField(
        label=_("E-mail address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _(
            "Please enter a correct e-mail address and password. "
            "Note that the password is case-sensitive."
        ),
    }


class EmailPasswordResetForm(PasswordResetForm):
    """Django's reset form with Kontor's label; matching and sending are Django's."""

    email = forms.EmailField(
        label=_("E-mail address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )


class UserAddForm(AdminUserCreationForm):
    """The admin's "add user" form: an e-mail address and a password."""

    class Meta:
        model = User
        fields = ("email",)

    def clean_email(self) -> str:
        email = normalize_email(self.cleaned_data["email"])
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError(
                _("A user with this e-mail address already exists."), code="unique"
            )
        return email


class UserEditForm(UserChangeForm):
    class Meta:
        model = User
        fields = ("email",)

    def clean_email(self) -> str:
        email = normalize_email(self.cleaned_data["email"])
        others = User.objects.exclude(pk=self.instance.pk)
        if others.filter(email__iexact=email).exists():
            raise forms.ValidationError(
                _("A user with this e-mail address already exists."), code="unique"
            )
        return email
