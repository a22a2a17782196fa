"""Sections that apps above this one add to the customer and subscription pages.

Billing shows invoices, payments and dunning there. It registers a renderer here
(`CUSTOMER_PANELS.append(render)`), so these pages show its data without this app
importing billing (see the import rules in ARCHITECTURE.md). A renderer takes the
customer or subscription and returns `(title, html)`; html must be safe (format_html).
"""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import Model
from django.utils.html import format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

Panel = Callable[[Model], tuple[str, SafeString]]

CUSTOMER_PANELS: list[Panel] = []
SUBSCRIPTION_PANELS: list[Panel] = []


def render_panels(panels: list[Panel], obj: Model) -> str:
    if obj is None or obj.pk is None:
        return "—"
    sections = [render(obj) for render in panels]
    return format_html_join("", "<h3>{}</h3>{}", sections) or _("Nothing to show yet.")
