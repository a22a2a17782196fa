"""Post admin forms the way a browser does: open the page, take what it shows, change a
few fields, submit.

Starting from the rendered form (rather than hand-written dicts) keeps the tests valid
when fields are added, and posts the inline formsets' management forms with the
prefixes the admin really uses.
"""

from __future__ import annotations

from django import forms
from django.contrib.admin.widgets import RelatedFieldWidgetWrapper
from django.urls import reverse


def admin_url(model: str, view: str = "add", *args) -> str:
    return reverse(f"admin:catalog_{model}_{view}", args=args)


def _value(value) -> str:
    if value is None:
        return ""
    return str(value.pk if hasattr(value, "pk") else value)


def form_data(form: forms.BaseForm) -> dict:
    """What a browser would submit for an untouched form."""
    data: dict = {}
    for bound in form:
        widget = bound.field.widget
        while isinstance(widget, RelatedFieldWidgetWrapper):
            widget = widget.widget
        value = bound.value()
        if isinstance(widget, forms.MultiWidget):
            parts = value if isinstance(value, list | tuple) else widget.decompress(value)
            for suffix, sub, part in zip(widget.widgets_names, widget.widgets, parts, strict=True):
                data[bound.html_name + suffix] = "" if part is None else sub.format_value(part)
        elif isinstance(widget, forms.CheckboxInput):
            if widget.check_test(value):
                data[bound.html_name] = "on"
        elif isinstance(widget, forms.SelectMultiple | forms.CheckboxSelectMultiple):
            data[bound.html_name] = [_value(v) for v in value or []]
        else:
            data[bound.html_name] = _value(value)
    return data


def page_data(response) -> dict:
    """The main form and every inline's saved rows and management form."""
    assert response.status_code == 200, response.status_code
    data = form_data(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        initial = formset.initial_form_count()
        data.update(
            {
                f"{formset.prefix}-TOTAL_FORMS": str(initial),
                f"{formset.prefix}-INITIAL_FORMS": str(initial),
                f"{formset.prefix}-MIN_NUM_FORMS": "0",
                f"{formset.prefix}-MAX_NUM_FORMS": "1000",
            }
        )
        for form in formset.initial_forms:
            data.update(form_data(form))
    return data


def open_form(client, model: str, obj=None) -> dict:
    """GET the add page (or the change page of `obj`) and return its data to post."""
    if obj is None:
        return page_data(client.get(admin_url(model)))
    return page_data(client.get(admin_url(model, "change", obj.pk)))


def add_rows(data: dict, prefix: str, *rows: dict) -> dict:
    """Append new inline rows (as if "Add another" had been clicked)."""
    total = int(data[f"{prefix}-TOTAL_FORMS"])
    for offset, row in enumerate(rows):
        for field, value in row.items():
            data[f"{prefix}-{total + offset}-{field}"] = _value(value)
    data[f"{prefix}-TOTAL_FORMS"] = str(total + len(rows))
    return data


def delete_row(data: dict, prefix: str, index: int) -> dict:
    data[f"{prefix}-{index}-DELETE"] = "on"
    return data


def split_datetime(name: str, value: str) -> dict:
    """The admin's date and time inputs for a datetime field: "2026-03-01 08:00"."""
    day, _, time = value.partition(" ")
    return {f"{name}_0": day, f"{name}_1": time or "00:00"}


def form_errors(response) -> dict[str, list[str]]:
    """The main form's errors, field → messages ("__all__" for the form as a whole)."""
    assert response.status_code == 200, f"expected the form again, got {response.status_code}"
    return {
        field: list(messages)
        for field, messages in response.context["adminform"].form.errors.items()
    }


def inline_errors(response, prefix: str) -> list[str]:
    """The messages shown above an inline (its formset's non-form errors)."""
    for inline in response.context["inline_admin_formsets"]:
        if inline.formset.prefix == prefix:
            return list(inline.formset.non_form_errors())
    raise AssertionError(f"no inline with prefix {prefix!r}")


def inline_row_errors(response, prefix: str) -> list[dict]:
    for inline in response.context["inline_admin_formsets"]:
        if inline.formset.prefix == prefix:
            return [dict(errors) for errors in inline.formset.errors]
    raise AssertionError(f"no inline with prefix {prefix!r}")


def row_counts(*models) -> tuple[int, ...]:
    """How many rows each model has: compare before and after to show nothing was saved."""
    return tuple(model.objects.count() for model in models)
