"""Forms for portal logins and for staff managing users in the admin."""

from django import forms
from django.contrib.auth.forms import (
    AdminUserCreationForm,
    AuthenticationForm,
    PasswordResetForm,
    UserChangeForm,
)
from django.db import transaction
from django.template import loader
from django.utils.translation import gettext_lazy as _
from django_q.tasks import async_task

from security.throttle import Kind, guard, record_failure

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

    def clean(self):
        """Throttled (security.throttle): each wrong password counts against the address
        and the client; over a limit even the right one is refused with 429."""
        account = self.cleaned_data.get("username") or self.data.get("username", "")
        with guard(kind=Kind.LOGIN, request=self.request, account=account) as attempt:
            cleaned = super().clean()
            attempt.success()
        return cleaned


class EmailPasswordResetForm(PasswordResetForm):
    """Django's reset form with Kontor's label. The message is rendered here, in the
    request's language, and sent from a task: no e-mail provider is called inside a web
    request (and the answer takes as long whether or not the address has an account)."""

    email = forms.EmailField(
        label=_("E-mail address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )

    def save(self, *args, request=None, **kwargs):
        """Every request counts against the address and the client (the answer must not
        tell whether the address has an account, so none is a "success"); over a limit
        Throttled (429) is raised before any message is made."""
        record_failure(
            kind=Kind.PASSWORD_RESET, request=request, account=self.cleaned_data["email"]
        )
        return super().save(*args, request=request, **kwargs)

    def send_mail(
        self,
        subject_template_name,
        email_template_name,
        context,
        from_email,
        to_email,
        html_email_template_name=None,
    ) -> None:
        subject = "".join(loader.render_to_string(subject_template_name, context).splitlines())
        body = loader.render_to_string(email_template_name, context)
        html = (
            loader.render_to_string(html_email_template_name, context)
            if html_email_template_name
            else None
        )
        transaction.on_commit(
            lambda: async_task(
                "subscriptions.tasks.send_email", subject, body, from_email, to_email, html
            )
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
