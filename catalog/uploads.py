"""The one gate every uploaded spreadsheet passes before it is parsed.

Imports take CSV text (the seats' invitation upload, the bank statement) and, where
django-import-export reads the file, XLSX too (the subscription import). What no import
should ever parse is refused here, with a message the uploader can act on, before a
parser sees a byte and before anything is written:

- more than 10 MB, or more than 50,000 rows;
- a binary file with a .csv name (NUL bytes, or the signature of a zip, PDF, image …);
- CSV text that is not UTF-8 (the message says how to save it as "CSV UTF-8"), unless
  the caller accepts Windows-1252 (bank exports);
- an XLSX that is no workbook, or a zip bomb: a workbook whose parts unpack to more
  than 100 MB, or any part more than 100 times smaller packed than unpacked.
"""

from __future__ import annotations

import io
import re
import zipfile

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

MAX_BYTES = 10 * 2**20
MAX_ROWS = 50_000
MAX_UNPACKED = 100 * 2**20
MAX_RATIO = 100
ZIP = b"PK\x03\x04"
BINARY_SIGNATURES = (ZIP, b"%PDF", b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"\xd0\xcf\x11\xe0")
DIMENSION = re.compile(rb'<(?:\w+:)?dimension ref="[A-Z]+\d+:[A-Z]+(\d+)"')


def csv_text(data: bytes, *, fallback_encoding: str | None = None) -> str:
    """The text of an uploaded CSV, or ValidationError saying why it is refused."""
    _check_size(data)
    if data.startswith(BINARY_SIGNATURES) or b"\x00" in data:
        raise ValidationError(_("This is not a CSV text file; export the sheet as CSV."))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        if fallback_encoding is None:
            raise ValidationError(
                _("The file is not UTF-8 text; save it as 'CSV UTF-8' and upload it again.")
            ) from None
        text = data.decode(fallback_encoding, errors="replace")
    _check_rows(text.count("\n") + (0 if text.endswith("\n") else 1) - 1)
    return text


def check_spreadsheet(data: bytes, filename: str) -> None:
    """For an import that reads CSV or XLSX (django-import-export): refuse what must not
    be parsed. XLSX is recognised by its content, not its name."""
    if data.startswith(ZIP):
        check_xlsx(data)
    elif filename.lower().endswith((".xlsx", ".xls", ".ods")):
        raise ValidationError(_("This file is not an Excel workbook (.xlsx)."))
    else:
        csv_text(data)


def check_xlsx(data: bytes) -> None:
    _check_size(data)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        parts = archive.infolist()
    except zipfile.BadZipFile:
        raise ValidationError(_("This file is not an Excel workbook (.xlsx).")) from None
    names = {part.filename for part in parts}
    if "xl/workbook.xml" not in names:
        raise ValidationError(_("This file is not an Excel workbook (.xlsx)."))
    unpacked = sum(part.file_size for part in parts)
    packed_too_well = any(
        part.file_size > MAX_RATIO * max(part.compress_size, 1) and part.file_size > 2**20
        for part in parts
    )
    if unpacked > MAX_UNPACKED or packed_too_well:
        raise ValidationError(
            _("This workbook unpacks to far more data than a sheet of users holds; refused.")
        )
    for name in sorted(n for n in names if n.startswith("xl/worksheets/sheet")):
        with archive.open(name) as sheet:
            found = DIMENSION.search(sheet.read(4096))
        if found:
            _check_rows(int(found.group(1)) - 1)


def _check_size(data: bytes) -> None:
    if len(data) > MAX_BYTES:
        raise ValidationError(_("The file is larger than 10 MB; split it and upload the parts."))


def _check_rows(rows: int) -> None:
    if rows > MAX_ROWS:
        raise ValidationError(
            _("The file has more than 50,000 rows; split it and upload the parts.")
        )
