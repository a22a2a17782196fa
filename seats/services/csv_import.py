"""Inviting users from a CSV file (SPEC §3, issue 5 item 3): one importer for the
portal and the admin.

The file: UTF-8 with or without BOM, comma or semicolon (whichever the header row uses
more), a header row naming the columns email (required), first_name, last_name and
language (English or German headers). Every row is checked before anything is written;
`csv_invitations_check` returns all row errors with their line numbers (the header is
line 1). `csv_invitations_import` imports nothing unless the file is clean, or, when the
caller explicitly asks (`only_valid=True`), the valid rows only. The invitations are
created by `invitations_create_many` (one seat check under the account lock, one bulk
insert). Files of more than ASYNC_ROWS rows are imported by a Django-Q2 task, which
records its progress in the cache under the upload's id (`csv_import_progress`).
"""

from __future__ import annotations

import csv
import io
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_q.tasks import async_task

from catalog.uploads import csv_text
from seats.exceptions import SeatError
from seats.models import SeatAccount
from seats.services.invitations import invitation_rows_check, invitations_create_many
from subscriptions.models import User, normalize_email

logger = logging.getLogger(__name__)

ASYNC_ROWS = 500  # more rows than this: imported by a task, with progress
CHUNK_ROWS = 2500  # rows per invitations_create_many call (one progress step each)
PROGRESS_TTL = 24 * 3600
FIELDS = ("email", "first_name", "last_name", "language")
HEADERS = {
    "email": "email", "e_mail": "email", "mail": "email", "email_address": "email",
    "e_mail_address": "email", "e_mail_adresse": "email", "email_adresse": "email",
    "first_name": "first_name", "firstname": "first_name", "given_name": "first_name",
    "vorname": "first_name",
    "last_name": "last_name", "lastname": "last_name", "surname": "last_name",
    "family_name": "last_name", "nachname": "last_name",
    "language": "language", "lang": "language", "sprache": "language",
}  # fmt: skip
LANGUAGES = {
    "en": "en", "english": "en", "englisch": "en",
    "de": "de", "german": "de", "deutsch": "de",
}  # fmt: skip
NAME_MAX = 150


class CsvNotClean(SeatError):
    """The file has row errors and the caller did not choose to import the valid rows."""

    default_message = gettext_lazy("The file has errors; nothing was imported.")

    def __init__(self, result: CsvResult) -> None:
        self.result = result
        super().__init__()


@dataclass(frozen=True)
class CsvRow:
    line: int
    email: str
    first_name: str
    last_name: str
    language: str

    def as_dict(self) -> dict[str, str]:
        return {f: getattr(self, f) for f in FIELDS}


@dataclass
class CsvResult:
    """`rows`: the valid rows (those that fit in the free seats); `errors`: (line,
    field, message) for every refused row, in line order; `total`: data rows read."""

    rows: list[CsvRow] = field(default_factory=list)
    errors: list[tuple[int, str, str]] = field(default_factory=list)
    total: int = 0

    @property
    def valid_count(self) -> int:
        return len(self.rows)

    @property
    def clean(self) -> bool:
        return not self.errors


# --- reading ---------------------------------------------------------------------------


def _text(file) -> str:
    """The upload's text, through the one gate for uploads (size, rows, binary files,
    encoding: catalog.uploads), before anything parses it."""
    data = file if isinstance(file, bytes | str) else file.read()
    if isinstance(data, str):
        return data.removeprefix("\ufeff")
    return csv_text(data)


def _header_key(name: str) -> str:
    return "_".join(name.strip().lower().replace("-", "_").replace(" ", "_").split("_"))


def _read(text: str) -> tuple[csv.reader, dict[str, int]]:
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = next(reader, None)
    if not header:
        raise ValidationError(_("The file is empty."))
    columns: dict[str, int] = {}
    for index, name in enumerate(header):
        key = HEADERS.get(_header_key(name))
        if key is not None and key not in columns:
            columns[key] = index
    if "email" not in columns:
        raise ValidationError(
            _("The first line must name the columns: email, first_name, last_name, language.")
        )
    return reader, columns


# --- checking --------------------------------------------------------------------------


def _field_errors(values: dict[str, str], line: int) -> list[tuple[int, str, str]]:
    """What only a file can get wrong: the language and over-long names. The rules on
    the addresses and seats are `invitation_rows_check`'s, shared with every other way
    of inviting."""
    errors = []
    language = values["language"].strip().lower()
    if language and language not in LANGUAGES:
        message = _("Unknown language '%(value)s': use en or de.")
        errors.append((line, "language", message % {"value": values["language"].strip()}))
    for name in ("first_name", "last_name"):
        if len(values[name].strip()) > NAME_MAX:
            errors.append((line, name, _("At most %(max)d characters.") % {"max": NAME_MAX}))
    return errors


def _parse(text: str, default_language: str, result: CsvResult) -> list[CsvRow]:
    reader, columns = _read(text)
    rows = []
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue
        result.total += 1
        line = reader.line_num
        values = {
            f: cells[columns[f]] if f in columns and columns[f] < len(cells) else "" for f in FIELDS
        }
        errors = _field_errors(values, line)
        if errors:
            result.errors.extend(errors)
            continue
        language = LANGUAGES.get(values["language"].strip().lower(), default_language)
        rows.append(
            CsvRow(
                line=line,
                email=normalize_email(values["email"]),
                first_name=values["first_name"].strip(),
                last_name=values["last_name"].strip(),
                language=language,
            )
        )
    return rows


def csv_invitations_check(*, account: SeatAccount, file, now: datetime | None = None) -> CsvResult:
    """Read and check every row; nothing is written. Errors are (line, field, message)
    in line order; a file that cannot be read at all gives one error on line 0 (field
    "file"). Rows beyond the free seats are errors too ("over the maximum")."""
    result = CsvResult()
    try:
        rows = _parse(_text(file), account.subscription.customer.language or "en", result)
    except ValidationError as error:
        result.errors.append((0, "file", error.messages[0]))
        return result
    refused = dict(
        invitation_rows_check(account=account, rows=[r.as_dict() for r in rows], now=now)
    )
    for index, row in enumerate(rows):
        if index in refused:
            result.errors.append((row.line, "email", refused[index]))
        else:
            result.rows.append(row)
    result.errors.sort(key=lambda error: error[0])
    if result.total == 0:
        result.errors.append((0, "file", _("The file has no rows below the header.")))
    return result


# --- importing -------------------------------------------------------------------------


def csv_invitations_import(
    *,
    account: SeatAccount,
    file,
    actor: User | None,
    only_valid: bool = False,
    upload_id: str | None = None,
    now: datetime | None = None,
) -> int:
    """Check the file, then invite its rows in one transaction; how many were invited.
    Raises CsvNotClean (nothing imported) when a row has an error, unless `only_valid`;
    SeatsFull when seats were taken meanwhile (nothing imported). With `upload_id`,
    progress is recorded for `csv_import_progress`."""
    now = now or timezone.now()
    result = csv_invitations_check(account=account, file=file, now=now)
    if result.errors and not (only_valid and result.rows):
        raise CsvNotClean(result)
    total = len(result.rows)
    _progress(upload_id, state="running", processed=0, total=total)
    with transaction.atomic():
        for start in range(0, total, CHUNK_ROWS):
            chunk = result.rows[start : start + CHUNK_ROWS]
            invitations_create_many(
                account=account, rows=[r.as_dict() for r in chunk], actor=actor, now=now
            )
            _progress(upload_id, state="running", processed=start + len(chunk), total=total)
    _progress(upload_id, state="done", processed=total, total=total)
    return total


@dataclass(frozen=True)
class CsvUpload:
    """What the upload page shows: the id to poll and, for an inline import, the count."""

    upload_id: str
    queued: bool
    imported: int | None


def csv_invitations_import_start(
    *, account: SeatAccount, file, actor: User | None, only_valid: bool = False
) -> CsvUpload:
    """The pages' entry point: check the file (CsvNotClean as above), then import it at
    once, or for more than ASYNC_ROWS rows queue a task and return its upload id."""
    text = _text(file) if not isinstance(file, str) else file
    result = csv_invitations_check(account=account, file=text)
    if result.errors and not (only_valid and result.rows):
        raise CsvNotClean(result)
    upload_id = uuid.uuid4().hex
    if len(result.rows) <= ASYNC_ROWS:
        count = csv_invitations_import(
            account=account, file=text, actor=actor, only_valid=only_valid, upload_id=upload_id
        )
        return CsvUpload(upload_id=upload_id, queued=False, imported=count)
    _progress(upload_id, state="queued", processed=0, total=len(result.rows))
    actor_id = actor.pk if actor is not None else None
    transaction.on_commit(
        lambda: async_task(
            "seats.services.csv_import.csv_import_task",
            account.pk,
            text,
            actor_id,
            only_valid,
            upload_id,
        )
    )
    return CsvUpload(upload_id=upload_id, queued=True, imported=None)


def csv_import_task(
    account_id: int, text: str, actor_id: int | None, only_valid: bool, upload_id: str
) -> int:
    """Django-Q2 task: import a large file. Run twice, the second run finds the rows
    invited and imports nothing (they are pending invitations now)."""
    progress = csv_import_progress(upload_id)
    if progress and progress["state"] == "done":
        return progress["processed"]
    account = SeatAccount.objects.select_related("subscription__customer").get(pk=account_id)
    actor = User.objects.filter(pk=actor_id).first() if actor_id else None
    try:
        return csv_invitations_import(
            account=account, file=text, actor=actor, only_valid=only_valid, upload_id=upload_id
        )
    except SeatError as error:
        _progress(upload_id, state="failed", processed=0, total=0, error=str(error))
        logger.info("CSV import %s on account %s refused: %s", upload_id, account_id, error)
        return 0


def _progress(upload_id: str | None, **values) -> None:
    if upload_id:
        cache.set(f"seats:csv-import:{upload_id}", {"error": "", **values}, PROGRESS_TTL)


def csv_import_progress(upload_id: str) -> dict | None:
    """{"state": queued|running|done|failed, "processed", "total", "error"} or None.
    Needs a cache shared by web and worker processes (CACHES) to be seen across them."""
    return cache.get(f"seats:csv-import:{upload_id}")
