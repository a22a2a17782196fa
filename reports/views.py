"""Admin pages of reports: the dashboard (the admin's index), its CSV downloads and the
corporate account page. Views parse, call selectors, render; the figures are selectors
(reports.selectors) and the charts pure functions (reports.charts)."""

from __future__ import annotations

from dataclasses import replace
from uuid import UUID

from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, gettext, gettext_lazy, to_locale

from catalog.money import format_money
from subscriptions.models import Subscription

from . import charts
from .csv import csv_response
from .dashboard import CHARTS_BY_KEY, Chart, charts_for
from .forms import DashboardFilterForm, WhatIfForm
from .selectors import corporate as corporate_selectors
from .table import Table

CORPORATE_PERMISSIONS = ("subscriptions.view_subscription", "billing.view_invoice")


def _locale() -> str:
    return to_locale(get_language() or "en")


def chart_context(chart: Chart, table: Table) -> dict:
    """What the template needs for one chart: the SVG, headers, formatted cells."""
    locale = _locale()

    def fmt(row):
        return [
            charts.format_cell(v, c, currency=table.currency, locale=locale)
            for v, c in zip(row, table.columns, strict=True)
        ]

    svg = charts.render(
        table,
        kind=chart.kind,
        series=chart.series,
        title=str(chart.title),
        chart_id=f"chart-{chart.key}",
        locale=locale,
    )
    return {
        "chart": chart,
        "svg": mark_safe(svg),  # noqa: S308 - ElementTree escaped every text in it
        "headers": [(c.label, c.kind in ("money", "count")) for c in table.columns],
        "rows": [fmt(row) for row in table.rows],
        "totals": [fmt(row) for row in table.totals],
    }


def dashboard(request: HttpRequest, site) -> TemplateResponse:
    """The first page staff see: the charts their role may read, filtered by the GET
    form (bad filters get the form's messages and no charts)."""
    form = DashboardFilterForm(request.GET or None)
    allowed = charts_for(request.user)
    sections = []
    # The figures are PostgreSQL queries (width_bucket, intervals, zones); the SQLite
    # demo shows the page with a note instead of failing.
    reports_available = connection.vendor == "postgresql"
    if allowed and reports_available and (form.is_valid() or not request.GET):
        if not request.GET:
            form = DashboardFilterForm({})
            form.is_valid()
        filters = form.filters(timezone.now())
        sections = [chart_context(chart, chart.selector(filters)) for chart in allowed]
    context = {
        **site.each_context(request),
        "title": site.index_title,
        "form": form,
        "sections": sections,
        "allowed": allowed,
        "reports_available": reports_available,
        "query": request.GET.urlencode(),
    }
    request.current_app = site.name
    return TemplateResponse(request, "admin/reports/dashboard.html", context)


def dashboard_csv(request: HttpRequest, key: str) -> HttpResponse:
    """One chart's table as CSV, for the same filters (and permission) as the page."""
    chart = CHARTS_BY_KEY.get(key)
    if chart is None or connection.vendor != "postgresql":
        raise Http404
    if not request.user.has_perm(chart.permission):
        raise PermissionDenied
    form = DashboardFilterForm(request.GET)
    if not form.is_valid():
        return HttpResponse(
            " ".join(str(e) for errors in form.errors.values() for e in errors),
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    filters = form.filters(timezone.now())
    name = f"{chart.key}-{filters.first_month:%Y-%m}-{filters.last_month:%Y-%m}"
    return csv_response(chart.selector(filters), name)


USERS_CHART = Chart(
    key="users", title=gettext_lazy("Users per period"), help="", permission="",
    selector=None, kind="lines", series=(),
)  # fmt: skip
INVOICES_CHART = Chart(
    key="invoices", title=gettext_lazy("Invoices per period (net)"), help="", permission="",
    selector=None, kind="bars", series=("net",),
)  # fmt: skip


def corporate_account(request: HttpRequest, public_id: UUID, site) -> HttpResponse:
    """Customer support's page of a corporate subscription: users per period, invoices
    and their tiers, and what N more users would cost in the current period."""
    if not all(request.user.has_perm(p) for p in CORPORATE_PERMISSIONS):
        raise PermissionDenied
    try:
        subscription = corporate_selectors.corporate_subscription_for_staff(public_id=public_id)
    except Subscription.DoesNotExist:
        raise Http404(gettext("No such corporate subscription.")) from None
    now = timezone.now()
    report = corporate_selectors.corporate_report(subscription=subscription, now=now)
    if request.GET.get("csv") in ("users", "invoices"):
        table = report.users if request.GET["csv"] == "users" else report.invoices
        return csv_response(table, f"{subscription.customer.name}-{request.GET['csv']}")
    form = WhatIfForm(request.GET if "more_users" in request.GET else None)
    more = form.cleaned_data["more_users"] if form.is_valid() else WhatIfForm.DEFAULT
    what_if = corporate_selectors.what_if(report=report, more_users=more, now=now)
    context = {
        **site.each_context(request),
        **_corporate_context(report, what_if),
        "what_if_form": form,
        "more_users": more,
    }
    request.current_app = site.name
    return TemplateResponse(request, "admin/reports/corporate_account.html", context)


def _corporate_context(report, what_if) -> dict:
    name = report.subscription.customer.name
    users_chart = replace(USERS_CHART, series=tuple(c.key for c in report.users.columns[1:]))
    return {
        "title": gettext("Corporate account: %(name)s") % {"name": name},
        "subscription": report.subscription,
        "users": chart_context(users_chart, report.users) if report.contracts else None,
        "invoices": chart_context(INVOICES_CHART, report.invoices),
        "what_if": what_if,
        **_what_if_labels(what_if, report.subscription.currency),
    }


def _what_if_labels(what_if, currency: str) -> dict:
    if what_if is None:
        return {}
    locale = _locale()

    def money(amount):
        return "\N{EN DASH}" if amount is None else format_money(amount, currency, locale)

    lines = [
        {
            "product": line.contract.product.name,
            "users": line.users,
            "more": line.more,
            "tier": line.tier,
            "amount": money(line.amount),
        }
        for line in what_if.lines
    ]
    return {
        "what_if_total": money(what_if.total),
        "what_if_now": money(what_if.total_now),
        "what_if_lines": lines,
    }
