"""Payments: money received for invoices, charge attempts at the payment gateway, the
dunning of an invoice whose charge failed, the merchant's dunning policy, and imported
bank statements (SPEC §4 "Failed payments"; see billing/services/collection.py).

The database is the record of the work that is due: a charge that must happen is a
*pending* `PaymentAttempt` with the time it is due (`scheduled_for`), written in the
same transaction as the invoice (first collection) or the failure (the next retry). A
sweep executes what is due, so a lost task only delays a charge, and the attempt's
idempotency key makes sure a charge repeated after a crash is never taken twice.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from catalog.models.base import amount_field


class Payment(models.Model):
    """Money received for an invoice: a successful charge, a bank transfer matched from
    a statement, or what staff recorded. The invoice's amount paid is their sum."""

    class Method(models.TextChoices):
        CARD = "card", _("Card")
        SEPA_DEBIT = "sepa_debit", _("SEPA direct debit")
        BANK_TRANSFER = "bank_transfer", _("Bank transfer")
        OTHER = "other", _("Other")

    class Source(models.TextChoices):
        GATEWAY = "gateway", _("Payment provider")
        BANK_STATEMENT = "bank_statement", _("Bank statement")
        STAFF = "staff", _("Recorded by staff")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    invoice = models.ForeignKey(
        "billing.Invoice",
        on_delete=models.PROTECT,
        related_name="payments",
        verbose_name=_("invoice"),
    )
    customer = models.ForeignKey(
        "subscriptions.Customer",
        on_delete=models.PROTECT,
        related_name="payments",
        verbose_name=_("customer"),
    )
    amount = amount_field(_("amount"))
    currency = models.CharField(_("currency"), max_length=3)
    method = models.CharField(_("paid by"), max_length=16, choices=Method.choices)
    source = models.CharField(_("recorded from"), max_length=16, choices=Source.choices)
    reference = models.CharField(_("reference"), max_length=140, blank=True)
    payer = models.CharField(_("payer"), max_length=140, blank=True)
    received_at = models.DateTimeField(_("received"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-received_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive")
        ]
        indexes = [models.Index(fields=["customer", "-received_at"], name="payment_customer")]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} ({self.get_method_display()})"


class PaymentAttempt(models.Model):
    """One charge of an invoice at the gateway: the first collection (number 1), a
    scheduled retry, or a retry staff started. Pending until it is executed; the
    idempotency key is fixed when the attempt is created, so executing it twice (a task
    run twice, a worker killed mid-charge) asks the gateway twice with the same key and
    is charged once."""

    class Trigger(models.TextChoices):
        ISSUE = "issue", _("Invoice issued")
        RETRY = "retry", _("Scheduled retry")
        MANUAL = "manual", _("Retry by staff")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SUCCEEDED = "succeeded", _("Succeeded")
        DECLINED = "declined", _("Declined")
        FAILED_TEMPORARILY = "failed_temporarily", _("Failed temporarily")
        SKIPPED = "skipped", _("Not needed")

    FAILED = (Status.DECLINED, Status.FAILED_TEMPORARILY)

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    invoice = models.ForeignKey(
        "billing.Invoice",
        on_delete=models.PROTECT,
        related_name="payment_attempts",
        verbose_name=_("invoice"),
    )
    customer = models.ForeignKey(
        "subscriptions.Customer",
        on_delete=models.PROTECT,
        related_name="payment_attempts",
        verbose_name=_("customer"),
    )
    payment_method = models.ForeignKey(
        "subscriptions.PaymentMethod",
        on_delete=models.PROTECT,
        related_name="attempts",
        verbose_name=_("payment method"),
    )
    number = models.PositiveSmallIntegerField(_("attempt"))
    trigger = models.CharField(_("why"), max_length=8, choices=Trigger.choices)
    idempotency_key = models.CharField(_("idempotency key"), max_length=100, unique=True)
    amount = amount_field(_("amount"))
    currency = models.CharField(_("currency"), max_length=3)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PENDING
    )
    scheduled_for = models.DateTimeField(_("due"))
    # Set (and committed) before the gateway is asked, so a second worker knows the
    # charge may be under way and a replay uses the same payment method.
    sent_at = models.DateTimeField(_("sent to the gateway"), null=True, blank=True)
    attempted_at = models.DateTimeField(_("answered"), null=True, blank=True)
    gateway_reference = models.CharField(_("gateway reference"), max_length=100, blank=True)
    error_code = models.CharField(_("error code"), max_length=64, blank=True)
    message = models.CharField(_("message"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("payment attempt")
        verbose_name_plural = _("payment attempts")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "number"], name="attempt_number_unique"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="attempt_amount_positive"),
        ]
        indexes = [
            models.Index(
                fields=["scheduled_for"],
                condition=Q(status="pending"),
                name="attempt_pending_due",
            ),
            models.Index(fields=["customer", "-created_at"], name="attempt_customer"),
        ]

    def __str__(self) -> str:
        return _("Attempt %(number)s") % {"number": self.number}


class FinalAction(models.TextChoices):
    """What happens to a regular subscription when the last retry failed."""

    KEEP = "keep", _("Keep the subscription running")
    PAUSE = "pause", _("Pause access until the invoice is paid")
    CANCEL = "cancel", _("End the subscription")
    # Corporate subscriptions, always (SPEC §4): never cancelled because a payment failed.
    SWITCH_TO_INVOICE = "switch", _("Switch to invoice payment")


def validate_retry_days(value: str) -> None:
    try:
        days = parse_retry_days(value)
    except ValueError as error:
        raise ValidationError(str(error)) from None
    if not days:
        raise ValidationError(_("Give at least one day."))


def parse_retry_days(value: str) -> list[int]:
    """ "3, 7, 14" → [3, 7, 14]: increasing whole days from 1 to 60, at most 6."""
    parts = [part.strip() for part in value.replace(";", ",").split(",") if part.strip()]
    if not all(part.isdigit() for part in parts):
        raise ValueError(_("Write whole days separated by commas, e.g. 3, 7, 14."))
    days = [int(part) for part in parts]
    if any(not 1 <= day <= 60 for day in days):
        raise ValueError(_("Each day must be between 1 and 60."))
    if days != sorted(set(days)):
        raise ValueError(_("Give each day once, in increasing order."))
    if len(days) > 6:
        raise ValueError(_("At most 6 retries."))
    return days


class DunningPolicy(models.Model):
    """The merchant's dunning settings for regular (non-corporate) subscriptions: one
    row, edited in the admin. A running dunning keeps the days it started with."""

    retry_days = models.CharField(
        _("retry on days"),
        max_length=40,
        default="3, 7, 14",
        validators=[validate_retry_days],
        help_text=_("Days after the failed payment on which the charge is tried again."),
    )
    remind_customer = models.BooleanField(
        _("e-mail the customer after each failed attempt"),
        default=True,
        help_text=_("With the next attempt's date and a link to change the payment method."),
    )
    final_action = models.CharField(
        _("when the last retry fails"),
        max_length=8,
        choices=[c for c in FinalAction.choices if c[0] != FinalAction.SWITCH_TO_INVOICE],
        default=FinalAction.PAUSE,
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("dunning policy")
        verbose_name_plural = _("dunning policy")

    def __str__(self) -> str:
        return str(_("Dunning policy"))

    @property
    def days(self) -> list[int]:
        return parse_retry_days(self.retry_days)


class Dunning(models.Model):
    """The collection of one invoice after its charge failed: which schedule, which
    retry is next, and how it ended. Created by the first failure."""

    class Schedule(models.TextChoices):
        CORPORATE = "corporate", _("Corporate schedule")
        POLICY = "policy", _("Dunning policy")

    class Status(models.TextChoices):
        RETRYING = "retrying", _("Retrying")
        RECOVERED = "recovered", _("Paid")
        EXHAUSTED = "exhausted", _("Retries exhausted")
        STOPPED = "stopped", _("Stopped")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    invoice = models.OneToOneField(
        "billing.Invoice",
        on_delete=models.PROTECT,
        related_name="dunning",
        verbose_name=_("invoice"),
    )
    customer = models.ForeignKey(
        "subscriptions.Customer",
        on_delete=models.PROTECT,
        related_name="dunnings",
        verbose_name=_("customer"),
    )
    subscription = models.ForeignKey(
        "subscriptions.Subscription",
        on_delete=models.PROTECT,
        related_name="dunnings",
        verbose_name=_("subscription"),
    )
    schedule = models.CharField(_("schedule"), max_length=10, choices=Schedule.choices)
    retry_days = models.JSONField(_("retry on days"), default=list)
    final_action = models.CharField(_("at the end"), max_length=8, choices=FinalAction.choices)
    remind_customer = models.BooleanField(_("reminders"), default=False)
    failed_at = models.DateTimeField(_("first failure"))
    retries_done = models.PositiveSmallIntegerField(_("retries so far"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.RETRYING
    )
    last_error = models.CharField(_("last error"), max_length=300, blank=True)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("dunning")
        verbose_name_plural = _("dunning")
        ordering = ["-failed_at", "-id"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="retrying"),
                name="dunning_retrying_next",
            )
        ]

    def __str__(self) -> str:
        return _("Dunning of %(invoice)s") % {"invoice": self.invoice}

    @property
    def retries_total(self) -> int:
        return len(self.retry_days)


class BankStatement(models.Model):
    """An imported bank statement (CSV); its lines are matched to open invoices."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    filename = models.CharField(_("file"), max_length=200)
    imported_at = models.DateTimeField(_("imported"))
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("imported by"),
    )

    class Meta:
        verbose_name = _("bank statement")
        verbose_name_plural = _("bank statements")
        ordering = ["-imported_at", "-id"]

    def __str__(self) -> str:
        return self.filename


class BankStatementLine(models.Model):
    class Status(models.TextChoices):
        MATCHED = "matched", _("Paid in full")
        PARTIAL = "partial", _("Part payment")
        REVIEW = "review", _("To review")
        ASSIGNED = "assigned", _("Assigned by staff")
        IGNORED = "ignored", _("Ignored")
        DUPLICATE = "duplicate", _("Imported before")

    statement = models.ForeignKey(
        BankStatement, on_delete=models.CASCADE, related_name="lines", verbose_name=_("statement")
    )
    row = models.PositiveIntegerField(_("row"))
    booked_on = models.DateField(_("date"))
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    reference = models.CharField(_("reference"), max_length=300, blank=True)
    payer = models.CharField(_("payer"), max_length=140, blank=True)
    # The same booking in a later statement (banks' exports overlap) is recognised by
    # this and not paid twice.
    fingerprint = models.CharField(_("fingerprint"), max_length=64)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    invoice = models.ForeignKey(
        "billing.Invoice",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="bank_lines",
        verbose_name=_("invoice"),
    )
    payment = models.OneToOneField(
        Payment,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="bank_line",
        verbose_name=_("payment"),
    )
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("bank statement line")
        verbose_name_plural = _("bank statement lines")
        ordering = ["statement", "row"]
        constraints = [
            models.UniqueConstraint(
                fields=["fingerprint"],
                condition=~Q(status="duplicate"),
                name="bank_line_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.booked_on} {self.amount} {self.reference}"
