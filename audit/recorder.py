"""Entries for changes made with `queryset.update()`, which sends no model signals.

django-auditlog records `.save()` and `.delete()` through signals. A service that
changes rows with one UPDATE (releasing billing holds, disabling codes, voiding an
invoice, revoking an API key) calls `record_bulk_change` in the same transaction, so
staff's admin actions are in the log with the same actor as any other change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from auditlog.cid import get_cid
from auditlog.context import auditlog_disabled, auditlog_value
from auditlog.models import LogEntry
from auditlog.registry import auditlog
from django.contrib.contenttypes.models import ContentType
from django.db.models import Model

from .registry import excluded_fields

REPR_LENGTH = 200  # LogEntry.object_repr is a TextField; keep list pages light


def record_bulk_change(
    *,
    model: type[Model],
    pks: Iterable[Any],
    changes: Mapping[str, tuple[Any, Any]],
    operation: str,
) -> int:
    """One UPDATE entry per row in `pks` with `changes` ({field: (before, after)});
    `operation` names the service (shown in the entry). Returns how many entries."""
    pks = list(pks)
    if not pks or not auditlog.contains(model) or auditlog_disabled.get():
        return 0
    hidden = excluded_fields(model)
    shown = {name: _json(pair) for name, pair in changes.items() if name not in hidden}
    context = auditlog_value.get({})
    actor = context.get("actor")
    content_type = ContentType.objects.get_for_model(model)
    rows = model._default_manager.in_bulk(pks)
    entries = [
        LogEntry(
            content_type=content_type,
            object_pk=str(pk),
            object_id=pk if isinstance(pk, int) else None,
            object_repr=str(rows.get(pk, pk))[:REPR_LENGTH],
            action=LogEntry.Action.UPDATE,
            changes=shown,
            additional_data={"operation": operation},
            actor=actor,
            actor_email=getattr(actor, "email", None),
            remote_addr=context.get("remote_addr"),
            cid=get_cid(),
        )
        for pk in pks
    ]
    LogEntry.objects.bulk_create(entries)
    return len(entries)


def _json(pair: tuple[Any, Any]) -> list[Any]:
    """Values as django-auditlog's signal path stores them (times as naive UTC strings,
    decimals as strings, related rows by key), so both kinds of entry read alike."""
    return [_plain(value) for value in pair]


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return str(value.astimezone(UTC).replace(tzinfo=None))
    if isinstance(value, Model):
        return value.pk
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)
