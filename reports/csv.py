"""Report tables as CSV downloads, with the exports' formula guard
(`catalog.spreadsheets.csv_cell`): amounts stay plain numbers (12.50), months ISO
(2027-01), text that a spreadsheet could run as a formula gets a leading apostrophe."""

from __future__ import annotations

import csv
from datetime import date

from django.http import HttpResponse
from django.utils.text import slugify

from catalog.spreadsheets import csv_cell

from .table import Table


def cell(value, kind: str) -> str:
    if kind == "month" and isinstance(value, date):
        return value.strftime("%Y-%m")
    if isinstance(value, date):
        return value.isoformat()
    if kind in ("money", "count") and value is not None:
        return str(value)  # a number (a negative change is not a formula)
    return csv_cell(value)


def csv_response(table: Table, name: str) -> HttpResponse:
    """The table (rows, then totals) as a UTF-8 CSV attachment (with a BOM for Excel)."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{slugify(name)}.csv"'
    response.write("\ufeff")
    writer = csv.writer(response)
    kinds = [column.kind for column in table.columns]
    writer.writerow([csv_cell(column.label) for column in table.columns])
    for row in [*table.rows, *table.totals]:
        writer.writerow([cell(value, kind) for value, kind in zip(row, kinds, strict=True)])
    return response
