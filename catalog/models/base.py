"""What every catalog model shares: status, validity, money fields, deletion guard."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from catalog.money import decimal_places, has_valid_precision


class Status(models.TextChoices):
    """Draft → active → archived (→ active again). Nothing returns to draft once active:
    a draft has never been sold, so only drafts may be deleted (see `CatalogModel.delete`)."""

    DRAFT = "draft", _("Draft")
    ACTIVE = "active", _("Active")
    ARCHIVED = "archived", _("Archived")


class PeriodUnit(models.TextChoices):
    DAY = "day", _("days")
    WEEK = "week", _("weeks")
    MONTH = "month", _("months")
    YEAR = "year", _("years")


def describe_period(count: int, unit: str) -> str:
    """ "1 month", "3 months", "2 Wochen": a count with its unit, singular or plural."""
    forms = {
        PeriodUnit.DAY: ngettext("%(n)d day", "%(n)d days", count),
        PeriodUnit.WEEK: ngettext("%(n)d week", "%(n)d weeks", count),
        PeriodUnit.MONTH: ngettext("%(n)d month", "%(n)d months", count),
        PeriodUnit.YEAR: ngettext("%(n)d year", "%(n)d years", count),
    }
    return forms[PeriodUnit(unit)] % {"n": count}


# Terms count their commitment in days, months or years (SPEC §1); no weeks.
TERM_UNITS = [c for c in PeriodUnit.choices if c[0] != PeriodUnit.WEEK]


class PaymentMethod(models.TextChoices):
    CARD = "card", _("Card")
    SEPA_DIRECT_DEBIT = "sepa_debit", _("SEPA direct debit")
    INVOICE = "invoice", _("Invoice / bank transfer")


def validate_currency(value: str) -> None:
    if value not in settings.KONTOR_CURRENCIES:
        raise ValidationError(
            _("%(value)s is not one of the merchant's currencies (%(allowed)s)."),
            params={"value": value, "allowed": ", ".join(settings.KONTOR_CURRENCIES)},
            code="currency",
        )


def default_currency() -> str:
    # A callable, so that the setting is read at run time and never frozen into migrations.
    return settings.KONTOR_DEFAULT_CURRENCY


def currency_field() -> models.CharField:
    return models.CharField(
        _("currency"),
        max_length=3,
        default=default_currency,
        validators=[validate_currency],
    )


def amount_field(verbose_name: str, **kwargs) -> models.DecimalField:
    kwargs.setdefault("validators", [MinValueValidator(Decimal(0))])
    return models.DecimalField(verbose_name, max_digits=12, decimal_places=2, **kwargs)


def check_amount_precision(errors: dict, field: str, amount: Decimal | None, currency: str) -> None:
    """Refuse 1.005 EUR: an amount must be representable in the currency's minor unit."""
    if isinstance(amount, int):
        # The fields' `default=0` is an int; it stays one when a form refused the input.
        amount = Decimal(amount)
    # Anything else that is not a Decimal failed its field's own validation, which says so.
    if isinstance(amount, Decimal) and currency and not has_valid_precision(amount, currency):
        errors.setdefault(field, []).append(
            ValidationError(
                ngettext(
                    "%(currency)s amounts have at most %(digits)d decimal place.",
                    "%(currency)s amounts have at most %(digits)d decimal places.",
                    decimal_places(currency),
                ),
                params={"currency": currency, "digits": decimal_places(currency)},
                code="precision",
            )
        )


class CatalogModel(models.Model):
    """Code, name, status and timestamps; guards status changes and deletion."""

    code = models.SlugField(
        _("code"),
        max_length=64,
        unique=True,
        help_text=_("Unique, used by the API and in URLs: letters, digits, - and _."),
    )
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        abstract = True
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        # What was just written is what is stored now: without this, an object created in
        # code (not loaded) could be lowered, sent back to draft or deleted after saving.
        self._remember_stored(kwargs.get("update_fields"))

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        # Remember what was stored, so clean() can refuse changes that may not happen
        # (back to draft, a user count that falls).
        instance._stored = dict(zip(field_names, values, strict=True))
        return instance

    def refresh_from_db(self, using=None, fields=None, from_queryset=None):
        super().refresh_from_db(using=using, fields=fields, from_queryset=from_queryset)
        self._remember_stored(fields)

    def _remember_stored(self, fields=None) -> None:
        stored = getattr(self, "_stored", {})
        deferred = self.get_deferred_fields()
        for field in self._meta.concrete_fields:
            if field.attname in deferred:
                continue
            if fields is None or field.name in fields or field.attname in fields:
                stored[field.attname] = getattr(self, field.attname)
        self._stored = stored

    def check_active_parts(self, errors: dict, *fields: str) -> None:
        """While active, the parts these foreign keys name must be active too."""
        if self.status != Status.ACTIVE:
            return
        for field in fields:
            part = getattr(self, field) if getattr(self, f"{field}_id") else None
            if part is not None and part.status != Status.ACTIVE:
                message = (
                    _("%(part)s is a draft; activate it first.")
                    if part.status == Status.DRAFT
                    else _("%(part)s is archived; activate it first.")
                )
                errors.setdefault(field, []).append(
                    ValidationError(message, params={"part": part}, code="inactive_part")
                )

    def validate_contents(self) -> None:
        """Rules over the saved related rows (items, tiers, contracts), checked when the
        item is activated through `catalog_item_set_status`. Nothing to check by default."""

    def stored_value(self, field: str):
        """The value loaded from (or last saved to) the database; None for a new object."""
        return getattr(self, "_stored", {}).get(field)

    def clean(self) -> None:
        super().clean()
        # Codes are compared case-insensitively (URLs, the API): store them lower-case,
        # so the unique index also refuses "TB-DIGITAL" beside "tb-digital".
        self.code = (self.code or "").lower()
        stored_status = self.stored_value("status")
        if stored_status and stored_status != Status.DRAFT and self.status == Status.DRAFT:
            raise ValidationError(
                {
                    "status": _(
                        "Once active, it cannot return to draft: it may have been sold. "
                        "Archive it instead."
                    )
                },
                code="status_back_to_draft",
            )

    @property
    def is_deletable(self) -> bool:
        return self.pk is not None and self.stored_value("status") in (None, Status.DRAFT)

    def delete(self, *args, **kwargs):
        if not self.is_deletable:
            raise ValidationError(
                _("%(object)s has left draft and may have been sold: archive it instead."),
                params={"object": self},
                code="not_deletable",
            )
        return super().delete(*args, **kwargs)


class ValidityMixin(models.Model):
    """When something can be bought: [valid_from, valid_until), open-ended when empty."""

    valid_from = models.DateTimeField(_("valid from"))
    valid_until = models.DateTimeField(
        _("valid until"),
        null=True,
        blank=True,
        help_text=_("The first moment it can no longer be bought; empty means open-ended."),
    )

    class Meta:
        abstract = True

    def check_validity(self, errors: dict) -> None:
        if self.valid_from and self.valid_until and self.valid_until <= self.valid_from:
            errors.setdefault("valid_until", []).append(
                ValidationError(_("Valid until must be after valid from."), code="validity")
            )

    def is_valid_at(self, moment) -> bool:
        return self.valid_from <= moment and (self.valid_until is None or moment < self.valid_until)


def validity_constraint(model_name: str) -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=models.Q(valid_until__isnull=True)
        | models.Q(valid_until__gt=models.F("valid_from")),
        name=f"{model_name}_valid_from_before_valid_until",
        violation_error_message=_("Valid until must be after valid from."),
    )


def check_parts_active(parts, *, field: str | None = None) -> None:
    """Something active may only be built from active parts: an active bundle sells only
    active products, an active plan only active bundles, and so on."""
    inactive = [part for part in parts if part.status != Status.ACTIVE]
    if inactive:
        error = ValidationError(
            _("Activate these first: %(parts)s."),
            params={"parts": ", ".join(str(part) for part in inactive)},
            code="inactive_part",
        )
        raise ValidationError({field: error}) if field else error
