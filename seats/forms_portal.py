"""Forms of the main user's seat pages. They validate input; the services change state."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from catalog.uploads import MAX_BYTES
from seats.models import LogEntry, UserSubscription
from seats.selectors import STATE_PENDING

STATE_CHOICES = [
    ("", _("All")),
    (UserSubscription.State.ACTIVE, _("Active")),
    (UserSubscription.State.CANCELLED, _("Cancelled")),
    (UserSubscription.State.ENDED, _("Ended")),
    (STATE_PENDING, _("Invited (pending)")),
]
CANCEL_AT_PERIOD_END = "period_end"
CANCEL_NOW = "now"
CANCEL_MODES = [
    (CANCEL_AT_PERIOD_END, _("At the end of the period")),
    (CANCEL_NOW, _("Now")),
]


class SeatFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    state = forms.ChoiceField(label=_("State"), choices=STATE_CHOICES, required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["q"].widget.attrs.update({"placeholder": _("E-mail or name"), "type": "search"})

    def filters(self) -> dict:
        if not self.is_valid():
            return {"search": "", "state": ""}
        return {"search": self.cleaned_data["q"], "state": self.cleaned_data["state"]}


class InviteForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address"))
    first_name = forms.CharField(label=_("First name"), max_length=150, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False)
    language = forms.ChoiceField(
        label=_("Language of the e-mail"), choices=settings.LANGUAGES, initial="en"
    )

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()


class UploadForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_("Columns: email, first_name, last_name, language. UTF-8, comma or semicolon."),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_BYTES:  # before reading it; the gate checks the rest
            raise forms.ValidationError(
                _("The file is larger than 10 MB; split it and upload the parts.")
            )
        return upload


class CancelForm(forms.Form):
    mode = forms.ChoiceField(choices=CANCEL_MODES)


class LogFilterForm(forms.Form):
    user = forms.CharField(label=_("User"), required=False, max_length=200)
    product = forms.ModelChoiceField(
        label=_("Product"), queryset=None, required=False, empty_label=_("All products")
    )
    action = forms.ChoiceField(
        label=_("What"), choices=[("", _("All")), *LogEntry.Action.choices], required=False
    )
    since = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=_("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, products, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = products

    def filters(self) -> dict:
        if not self.is_valid():
            return {}
        data = self.cleaned_data
        return {
            "user_search": data["user"],
            "product": data["product"],
            "action": data["action"],
            "since": data["since"],
            "until": data["until"],
        }
