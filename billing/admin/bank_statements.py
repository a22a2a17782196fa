"""Bank statements in the merchant backend: import a CSV, see how each line was matched,
and work through the lines under review (assign to an invoice, or ignore).

Importing and reviewing need `billing.change_invoice` (Finance, Administrator); the
matching rules are in `billing.services.bank_statements`.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import Http404, HttpRequest
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billing.exceptions import InvoiceError
from billing.models import BankStatement, BankStatementLine
from billing.services.bank_statements import (
    StatementRefused,
    bank_line_assign,
    bank_line_ignore,
    bank_statement_import,
)

from .invoices import CHANGE_INVOICE, ReadOnlyAdmin

S = BankStatementLine.Status


class StatementUploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Bank statement (CSV)"),
        help_text=gettext_lazy(
            "Columns date, amount, reference and payer (or the German names of your bank's "
            "export). Lines naming an open invoice's number are paid onto it."
        ),
    )


class AssignForm(forms.Form):
    invoice_number = forms.CharField(label=gettext_lazy("Invoice number"), max_length=32)


class IgnoreForm(forms.Form):
    note = forms.CharField(label=gettext_lazy("Why"), max_length=300, required=False)


class LineInline(admin.TabularInline):
    model = BankStatementLine
    fields = (
        "row",
        "booked_on",
        "amount",
        "reference",
        "payer",
        "status",
        "invoice",
        "note",
        "review_link",
    )
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="")
    def review_link(self, line) -> str:
        return review_link(line)


def review_link(line: BankStatementLine) -> str:
    if line.status != S.REVIEW:
        return ""
    url = reverse("admin:billing_bankstatementline_review", args=[line.pk])
    return format_html('<a href="{}">{}</a>', url, _("Assign or ignore"))


@admin.register(BankStatement)
class BankStatementAdmin(ReadOnlyAdmin):
    list_display = ("filename", "imported_at", "imported_by", "lines", "paid", "to_review")
    list_select_related = ("imported_by",)
    inlines = [LineInline]
    fields = ("filename", "imported_at", "imported_by")
    readonly_fields = fields
    change_list_template = "admin/billing/bankstatement/change_list.html"

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                line_count=Count("lines"),
                paid_count=Count("lines", filter=Q(lines__status__in=[S.MATCHED, S.PARTIAL])),
                review_count=Count("lines", filter=Q(lines__status=S.REVIEW)),
            )
        )

    @admin.display(description=gettext_lazy("lines"))
    def lines(self, statement) -> int:
        return statement.line_count

    @admin.display(description=gettext_lazy("paid onto invoices"))
    def paid(self, statement) -> int:
        return statement.paid_count

    @admin.display(description=gettext_lazy("to review"))
    def to_review(self, statement) -> str:
        if not statement.review_count:
            return "0"
        url = reverse("admin:billing_bankstatementline_changelist")
        return format_html(
            '<a href="{}?statement__id__exact={}&status__exact=review">{}</a>',
            url,
            statement.pk,
            statement.review_count,
        )

    def get_urls(self):
        view = self.admin_site.admin_view(self.import_view)
        return [path("import/", view, name="billing_bankstatement_import"), *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        extra = {"can_import": request.user.has_perm(CHANGE_INVOICE), **(extra_context or {})}
        return super().changelist_view(request, extra)

    def import_view(self, request: HttpRequest):
        if not request.user.has_perm(CHANGE_INVOICE):
            raise PermissionDenied
        form = StatementUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                statement = bank_statement_import(
                    content=upload.read(), filename=upload.name, actor=request.user
                )
            except StatementRefused as refused:
                for error in refused.errors:
                    form.add_error("file", error)
            else:
                messages.success(request, _summary(statement))
                return redirect("admin:billing_bankstatement_change", statement.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "form": form,
            "title": _("Import bank statement"),
        }
        return TemplateResponse(request, "admin/billing/bankstatement/import.html", context)


def _summary(statement: BankStatement) -> str:
    counts = dict(
        statement.lines.values_list("status").annotate(n=Count("pk")).values_list("status", "n")
    )
    return _(
        "Imported %(file)s: %(matched)s paid in full, %(partial)s part payments, "
        "%(review)s to review, %(other)s ignored or imported before."
    ) % {
        "file": statement.filename,
        "matched": counts.get(S.MATCHED, 0),
        "partial": counts.get(S.PARTIAL, 0),
        "review": counts.get(S.REVIEW, 0),
        "other": counts.get(S.IGNORED, 0) + counts.get(S.DUPLICATE, 0),
    }


@admin.register(BankStatementLine)
class BankStatementLineAdmin(ReadOnlyAdmin):
    """The review list: lines the import could not pay onto an invoice."""

    list_display = (
        "booked_on",
        "amount",
        "reference",
        "payer",
        "status",
        "invoice",
        "note",
        "review",
    )
    list_filter = ("status", "statement")
    list_select_related = ("invoice", "statement")
    search_fields = ("reference", "payer", "invoice__number")
    search_help_text = gettext_lazy("Reference, payer or invoice number.")

    @admin.display(description="")
    def review(self, line) -> str:
        return review_link(line)

    def get_urls(self):
        view = self.admin_site.admin_view(self.review_view)
        return [
            path("<path:object_id>/review/", view, name="billing_bankstatementline_review"),
            *super().get_urls(),
        ]

    def review_view(self, request: HttpRequest, object_id: str):
        # Settling a line pays an invoice, and the page shows the line: both permissions.
        if not (request.user.has_perm(CHANGE_INVOICE) and self.has_view_permission(request)):
            raise PermissionDenied
        line = self.get_object(request, unquote(object_id))
        if line is None:
            raise Http404
        assign = AssignForm(request.POST if "assign" in request.POST else None)
        ignore = IgnoreForm(request.POST if "ignore" in request.POST else None)
        form = assign if "assign" in request.POST else ignore
        if request.method == "POST" and form.is_valid():
            try:
                if form is assign:
                    bank_line_assign(
                        line=line,
                        invoice_number=form.cleaned_data["invoice_number"],
                        actor=request.user,
                    )
                else:
                    bank_line_ignore(line=line, note=form.cleaned_data["note"], actor=request.user)
            except InvoiceError as refusal:
                form.add_error(None, str(refusal))
            else:
                messages.success(request, _("The line was settled."))
                return redirect(
                    reverse("admin:billing_bankstatementline_changelist") + "?status__exact=review"
                )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": line,
            "assign_form": assign,
            "ignore_form": ignore,
            "title": _("Review bank statement line"),
        }
        return TemplateResponse(request, "admin/billing/bankstatementline/review.html", context)
