"""The dashboard's filter form (GET): period in months, currency, product, tag."""

from __future__ import annotations

import re
from datetime import date, datetime

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from catalog.models import Product, ReportingTag

from .selectors.filters import Filters
from .table import months_between

MONTH = re.compile(r"^(\d{4})-(\d{2})$")
MAX_MONTHS = 36  # the longest period one page draws (bars stay readable)
DEFAULT_MONTHS = 12


class MonthField(forms.CharField):
    """A month as the browser's `<input type="month">` sends it: YYYY-MM."""

    widget = forms.TextInput(attrs={"type": "month", "placeholder": "YYYY-MM"})

    def to_python(self, value):
        value = super().to_python(value)
        if not value:
            return None
        match = MONTH.match(value.strip())
        if not match or not 1 <= int(match[2]) <= 12 or int(match[1]) < 1900:
            raise forms.ValidationError(_("Enter a month as YYYY-MM, e.g. 2027-01."))
        return date(int(match[1]), int(match[2]), 1)


class DashboardFilterForm(forms.Form):
    first_month = MonthField(label=gettext_lazy("From month"), required=False)
    last_month = MonthField(label=gettext_lazy("Until month (inclusive)"), required=False)
    currency = forms.ChoiceField(label=gettext_lazy("Currency"), required=False)
    product = forms.ModelChoiceField(
        label=gettext_lazy("Product"),
        queryset=Product.objects.order_by("name"),
        required=False,
        empty_label=gettext_lazy("All products"),
    )
    tag = forms.ModelChoiceField(
        label=gettext_lazy("Reporting tag"),
        queryset=ReportingTag.objects.order_by("name"),
        required=False,
        empty_label=gettext_lazy("All tags"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["currency"].choices = [(c, c) for c in settings.KONTOR_CURRENCIES]

    def clean(self):
        data = super().clean()
        first, last = data.get("first_month"), data.get("last_month")
        if first and last:
            if last < first:
                self.add_error("last_month", _("The last month is before the first."))
            elif len(months_between(first, last)) > MAX_MONTHS:
                self.add_error(
                    "last_month",
                    _("Choose at most %(count)s months.") % {"count": MAX_MONTHS},
                )
        return data

    def filters(self, now: datetime) -> Filters:
        """The filters of a valid form; empty fields take the defaults (the last twelve
        months up to the current one, the default currency)."""
        data = self.cleaned_data
        this_month = timezone.localtime(now).date().replace(day=1)
        last = data.get("last_month") or this_month
        first = data.get("first_month") or default_first(last)
        product, tag = data.get("product"), data.get("tag")
        return Filters(
            first_month=first,
            last_month=max(last, first),
            currency=data.get("currency") or settings.KONTOR_DEFAULT_CURRENCY,
            now=now,
            product_id=product.pk if product else None,
            tag_id=tag.pk if tag else None,
        )


def default_first(last: date) -> date:
    month = last.year * 12 + last.month - 1 - (DEFAULT_MONTHS - 1)
    return date(month // 12, month % 12 + 1, 1)


class WhatIfForm(forms.Form):
    DEFAULT = 10  # users added when the field is empty or wrong

    more_users = forms.IntegerField(
        label=gettext_lazy("More users"), min_value=0, max_value=100_000, initial=10
    )
