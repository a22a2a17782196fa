"""Billing runs: one record per run (the daily schedule, `manage.py run_billing`, staff),
with what it found due, what it invoiced and what went wrong, for the admin."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _


class BillingRun(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Done with errors")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    run_date = models.DateField(_("billing date"))
    status = models.CharField(
        _("status"), max_length=8, choices=Status.choices, default=Status.RUNNING
    )
    trigger = models.CharField(_("started by"), max_length=16, blank=True)
    started_at = models.DateTimeField(_("started"))
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    subscriptions_due = models.PositiveIntegerField(_("subscriptions due"), default=0)
    chunks_total = models.PositiveIntegerField(_("chunks"), default=0)
    chunks_done = models.PositiveIntegerField(_("chunks done"), default=0)
    invoices_created = models.PositiveIntegerField(_("invoices created"), default=0)
    errors = models.JSONField(_("errors"), default=list, blank=True)
    # The first subscription id of each chunk counted in: a chunk task the broker hands
    # out again after a crash (it committed, its acknowledgement was lost) is not
    # counted twice, which would finish the run while another chunk is still under way.
    chunks_recorded = models.JSONField(
        _("chunks recorded"), default=list, blank=True, editable=False
    )

    class Meta:
        verbose_name = _("billing run")
        verbose_name_plural = _("billing runs")
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"{self.run_date} ({self.get_status_display()})"
