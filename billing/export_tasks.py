"""Large finance exports as Django-Q2 tasks (more rows than `sync_export_rows()`).

The admin queues `export_run` with a job id, the resource's name, the export's query
and the format, and sends the user to the job's page, which polls until the file is
ready and then offers the download. The job's state (owner, progress, file) lives in
the shared cache (file-based or Redis, shared by web and workers, like the seat CSV
import's progress) for a day; the file goes to default storage under
`finance-exports/<job id>/` and is only ever handed out by the staff view that checks
the job's owner (billing.admin.exports), never by a storage URL.

The task is given the queryset's `Query` (Django supports pickling a query: "Pickling
QuerySets" in the docs), not a list of ids: the export follows exactly the admin's
filters and search at the moment it was asked for, however many rows that is, without
rebuilding the changelist in a worker. It is safe to run twice: a finished job is left
alone.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db.models.sql import Query
from django.utils import timezone
from django_q.tasks import async_task

from billing.exports import RESOURCES, export_format

JOB_TTL = 24 * 60 * 60


class JobStatus:
    QUEUED = "queued"
    RUNNING = "running"
    READY = "ready"
    FAILED = "failed"


def _key(job_id: str) -> str:
    return f"billing:finance-export:{job_id}"


def export_job_get(job_id: str) -> dict[str, Any] | None:
    return cache.get(_key(job_id))


def _job_update(job_id: str, **values: Any) -> dict[str, Any]:
    job = {**(export_job_get(job_id) or {}), **values}
    cache.set(_key(job_id), job, JOB_TTL)
    return job


def export_filename(resource: str, fmt: str) -> str:
    name = RESOURCES[resource]._meta.model._meta.model_name
    if resource == "CreditNoteResource":
        name = "creditnote"
    elif resource == "PaymentStateResource":
        name = "payments"
    return f"{name}-{timezone.localdate():%Y-%m-%d}.{export_format(fmt).get_extension()}"


def export_queue(
    *,
    user_id: int,
    resource: str,
    query: Query,
    fmt: str,
    total: int,
    export_fields: list[str] | None = None,
) -> str:
    """Record a job for the user and queue the export; returns the job id."""
    job_id = uuid.uuid4().hex
    _job_update(
        job_id,
        user_id=user_id,
        status=JobStatus.QUEUED,
        resource=resource,
        filename=export_filename(resource, fmt),
        rows=0,
        total=total,
        path="",
        error="",
    )
    async_task(
        "billing.export_tasks.export_run",
        job_id,
        resource,
        query,
        fmt,
        export_fields,
        task_name=f"finance-export-{job_id}",
    )
    return job_id


def export_run(
    job_id: str, resource: str, query: Query, fmt: str, export_fields: list[str] | None = None
) -> None:
    """Write the export to default storage and mark the job ready (or failed)."""
    job = export_job_get(job_id)
    if job is None or job["status"] == JobStatus.READY:
        return
    _job_update(job_id, status=JobStatus.RUNNING)
    resource_class = RESOURCES[resource]
    queryset = resource_class._meta.model._default_manager.all()
    queryset.query = query
    file_format = export_format(fmt)
    exporter = resource_class()
    exporter.progress = lambda rows: _job_update(job_id, rows=rows)
    try:
        dataset = exporter.export(
            queryset=queryset,
            export_fields=export_fields,
            force_native_type=file_format.is_binary(),
        )
        data = file_format.export_data(dataset)
        if isinstance(data, str):
            data = ("\ufeff" + data).encode("utf-8")  # the BOM: Excel reads UTF-8 CSV
        path = default_storage.save(
            f"finance-exports/{job_id}/{job['filename']}", ContentFile(data)
        )
    except Exception as error:
        _job_update(job_id, status=JobStatus.FAILED, error=str(error))
        raise
    _job_update(job_id, status=JobStatus.READY, rows=len(dataset), path=path)
