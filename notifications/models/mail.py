"""Mail templates staff edit, and the log of every message."""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from notifications.events import MailType
from notifications.rendering import template_errors

LANGUAGES = [("en", _("English")), ("de", _("German"))]


class MailTemplate(models.Model):
    """One type in one language. Inactive templates send nothing: the merchant opts in."""

    type = models.CharField(_("type"), max_length=32, choices=MailType.choices)
    language = models.CharField(_("language"), max_length=8, choices=LANGUAGES)
    subject = models.CharField(_("subject"), max_length=200)
    body_text = models.TextField(_("text body"))
    body_html = models.TextField(
        _("HTML body"), blank=True, help_text=_("Optional; without it the text is sent alone.")
    )
    active = models.BooleanField(
        _("active"), default=False, help_text=_("Only active templates send e-mails.")
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("mail template")
        verbose_name_plural = _("mail templates")
        ordering = ["type", "language"]
        constraints = [
            models.UniqueConstraint(
                fields=["type", "language"],
                name="mail_template_one_per_type_and_language",
                violation_error_message=_(
                    "There is already a template of this type in this language."
                ),
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_type_display()} ({self.language})"

    def clean(self) -> None:
        """Every part must parse and render with the type's sample values, so a template
        that would fail when sending is refused on save, with the message on its field."""
        super().clean()
        if self.type in MailType.values:
            errors = template_errors(self, self.language)
            if errors:
                raise ValidationError(errors)


class MailMessage(models.Model):
    """One e-mail an event asked for, and what became of it."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        SKIPPED = "skipped", _("Skipped (no active template)")

    event = models.ForeignKey(
        "notifications.Event",
        on_delete=models.PROTECT,
        related_name="mail_messages",
        verbose_name=_("event"),
    )
    # Index in event.mails: with the event, what makes creating it idempotent.
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    template_type = models.CharField(_("template"), max_length=32, choices=MailType.choices)
    language = models.CharField(_("language"), max_length=8, choices=LANGUAGES)
    to_email = models.EmailField(_("recipient"))
    context = models.JSONField(_("context"), default=dict)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(
        _("next attempt"), null=True, blank=True, default=timezone.now
    )
    provider_message_id = models.CharField(_("provider message id"), max_length=255, blank=True)
    error = models.TextField(_("error"), blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    # The latest event the ESP reported through anymail's tracking webhooks.
    tracking_status = models.CharField(_("delivery report"), max_length=32, blank=True)
    tracking_at = models.DateTimeField(_("reported at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("e-mail")
        verbose_name_plural = _("e-mails")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "position"], name="mail_once_per_event_position"
            )
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="queued"),
                name="mail_due",
            ),
            models.Index(fields=["provider_message_id"], name="mail_provider_id"),
        ]

    def __str__(self) -> str:
        return f"{self.get_template_type_display()} → {self.to_email}"
