"""Finance exports in the admin (billing.exports has the resources and the decisions).

- `FinanceExportMixin`: import-export's ExportMixin (export only, no import) for the
  billing admins, CSV and XLSX, following the changelist's filters and search. Exports
  above `sync_export_rows()` rows are queued as a task (billing.export_tasks) and the
  user is sent to the job's page instead of waiting for the response.
- The **Finance exports** page (`admin:billing_finance_exports`, linked from the invoice
  and billing run lists): the six exports, including the subscription log and coupon
  redemptions, whose admins belong to the seats and subscriptions apps, with a date
  range and a status. Each export needs the view permission of what it exports.
- The job page polls (a meta refresh, no script: the CSP stays strict) until the file is
  ready; only the user who asked for an export can see its job or download its file.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from import_export.admin import ExportMixin

from billing.export_tasks import JobStatus, export_filename, export_job_get, export_queue
from billing.exports import (
    EXPORT_FORMATS,
    FINANCE_EXPORTS,
    FinanceExport,
    export_format,
    sync_export_rows,
)
from billing.models import Invoice


class FinanceExportMixin(ExportMixin):
    import_export_change_list_template = "admin/billing/change_list_export.html"
    export_formats = EXPORT_FORMATS
    to_encoding = "utf-8-sig"  # a BOM, so Excel reads the CSV as UTF-8

    def has_export_permission(self, request: HttpRequest) -> bool:
        # Whoever may read the list may take it away as a file.
        return self.has_view_permission(request)

    def _do_file_export(self, file_format, request, queryset, export_form=None):
        """ExportMixin's last step: small exports are answered at once, large ones are
        queued (the task gets the same query, so the same rows)."""
        resource_class = self.choose_export_resource_class(export_form, request)
        queryset = resource_class().filter_export(queryset)
        total = queryset.count()
        if total <= sync_export_rows():
            return super()._do_file_export(file_format, request, queryset, export_form)
        job_id = export_queue(
            user_id=request.user.pk,
            resource=resource_class.__name__,
            query=queryset.query,
            fmt=file_format.get_extension(),
            total=total,
            export_fields=self.get_export_resource_fields_from_form(export_form),
        )
        return redirect("admin:billing_export_job", job_id)

    def get_export_filename(self, request, queryset, file_format):
        resource = self.get_export_resource_classes(request)[0].__name__
        form_resource = request.POST.get("resource")
        if form_resource and form_resource.isdigit():
            classes = self.get_export_resource_classes(request)
            resource = classes[min(int(form_resource), len(classes) - 1)].__name__
        return export_filename(resource, file_format.get_extension())


# --- the Finance exports page ------------------------------------------------------


class FinanceExportForm(forms.Form):
    export = forms.ChoiceField(label=gettext_lazy("Export"))
    format = forms.ChoiceField(
        label=gettext_lazy("Format"), choices=[("csv", "CSV"), ("xlsx", "XLSX (Excel)")]
    )
    date_from = forms.DateField(
        label=gettext_lazy("From"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    date_until = forms.DateField(
        label=gettext_lazy("Until (inclusive)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    status = forms.ChoiceField(
        label=gettext_lazy("Invoice status"),
        required=False,
        choices=[("", gettext_lazy("Any")), *Invoice.Status.choices],
        help_text=gettext_lazy("Applies to invoices, lines, credit notes and payments."),
    )

    def __init__(self, *args, exports: list[FinanceExport], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["export"].choices = [(export.key, export.label) for export in exports]

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_until")
        if start and end and end < start:
            self.add_error("date_until", _("The end is before the start."))
        return data


def allowed_exports(user) -> list[FinanceExport]:
    return [export for export in FINANCE_EXPORTS.values() if user.has_perm(export.permission)]


def filtered_queryset(export: FinanceExport, data: dict):
    """The export's rows for the page's filters (dates in the merchant's time zone)."""
    queryset = export.queryset()
    if data.get("date_from"):
        queryset = queryset.filter(**{f"{export.date_field}__date__gte": data["date_from"]})
    if data.get("date_until"):
        queryset = queryset.filter(**{f"{export.date_field}__date__lte": data["date_until"]})
    if data.get("status") and export.status_field:
        queryset = queryset.filter(**{export.status_field: data["status"]})
    return export.resource().filter_export(queryset).order_by(*export.model._meta.ordering)


def finance_exports_view(request: HttpRequest) -> HttpResponse:
    exports = allowed_exports(request.user)
    if not exports:
        raise PermissionDenied
    form = FinanceExportForm(request.POST or None, exports=exports)
    if request.method == "POST" and form.is_valid():
        export = FINANCE_EXPORTS[form.cleaned_data["export"]]
        fmt = form.cleaned_data["format"]
        queryset = filtered_queryset(export, form.cleaned_data)
        total = queryset.count()
        resource = export.resource.__name__
        if total > sync_export_rows():
            job_id = export_queue(
                user_id=request.user.pk,
                resource=resource,
                query=queryset.query,
                fmt=fmt,
                total=total,
            )
            return redirect("admin:billing_export_job", job_id)
        return export_response(export, queryset, fmt)
    context = {
        **request.admin_site.each_context(request),
        "title": _("Finance exports"),
        "form": form,
        "exports": exports,
        "opts": Invoice._meta,
        "sync_rows": sync_export_rows(),
    }
    return TemplateResponse(request, "admin/billing/finance_exports.html", context)


def export_response(export: FinanceExport, queryset, fmt: str) -> HttpResponse:
    file_format = export_format(fmt)
    dataset = export.resource().export(queryset=queryset, force_native_type=file_format.is_binary())
    data = file_format.export_data(dataset)
    if isinstance(data, str):
        data = data.encode("utf-8-sig")
    response = HttpResponse(data, content_type=file_format.get_content_type())
    filename = export_filename(export.resource.__name__, fmt)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _own_job(request: HttpRequest, job_id: str) -> dict:
    job = export_job_get(job_id)
    if job is None or job.get("user_id") != request.user.pk:
        raise Http404  # someone else's export is not even shown to exist
    return job


def export_job_view(request: HttpRequest, job_id: str) -> HttpResponse:
    job = _own_job(request, job_id)
    context = {
        **request.admin_site.each_context(request),
        "title": _("Export %(file)s") % {"file": job["filename"]},
        "job": job,
        "job_id": job_id,
        "ready": job["status"] == JobStatus.READY,
        "failed": job["status"] == JobStatus.FAILED,
        "opts": Invoice._meta,
    }
    return TemplateResponse(request, "admin/billing/export_job.html", context)


def export_download_view(request: HttpRequest, job_id: str) -> FileResponse:
    job = _own_job(request, job_id)
    if job["status"] != JobStatus.READY or not default_storage.exists(job["path"]):
        raise Http404
    return FileResponse(
        default_storage.open(job["path"], "rb"), as_attachment=True, filename=job["filename"]
    )


def urls(model_admin) -> list:
    """The pages above, mounted under the invoice admin (staff only, admin site)."""

    def wrap(view):
        def with_site(request, *args, **kwargs):
            request.admin_site = model_admin.admin_site
            return view(request, *args, **kwargs)

        return model_admin.admin_site.admin_view(with_site)

    return [
        path("finance-exports/", wrap(finance_exports_view), name="billing_finance_exports"),
        path(
            "finance-exports/<str:job_id>/",
            wrap(export_job_view),
            name="billing_export_job",
        ),
        path(
            "finance-exports/<str:job_id>/download/",
            wrap(export_download_view),
            name="billing_export_download",
        ),
    ]
