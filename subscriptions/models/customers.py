"""Customer accounts: a person or a company, and the portal users that belong to it."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from catalog.models.base import currency_field


class Customer(models.Model):
    """Who buys and is billed. Portal users belong to one account (`User.customer`);
    the main user is the purchaser or corporate admin."""

    class Kind(models.TextChoices):
        PERSON = "person", _("Person")
        COMPANY = "company", _("Company")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.PERSON)
    name = models.CharField(
        _("name"), max_length=200, help_text=_("The person's full name or the company name.")
    )
    email = models.EmailField(_("billing e-mail"), blank=True)
    vat_id = models.CharField(_("VAT id"), max_length=32, blank=True)
    address_line1 = models.CharField(_("address"), max_length=200, blank=True)
    address_line2 = models.CharField(_("address (line 2)"), max_length=200, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    country = models.CharField(
        _("country"), max_length=2, blank=True, help_text=_("ISO 3166 code, e.g. DE.")
    )
    # BT-10 of an e-invoice: what the buyer's finance team needs to route the invoice
    # (a public customer's Leitweg-ID, a purchase-order or cost-centre reference).
    buyer_reference = models.CharField(
        _("buyer reference / Leitweg-ID"),
        max_length=100,
        blank=True,
        default="",
        db_default="",  # rows inserted by hand-written SQL (bench, imports) get ""
        help_text=_(
            "Printed into the e-invoice (XRechnung, ZUGFeRD): a public customer's "
            "Leitweg-ID or the reference your finance team asks for."
        ),
    )
    language = models.CharField(
        _("language"), max_length=8, choices=settings.LANGUAGES, default="en"
    )
    currency = currency_field()
    main_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="main_of_customers",
        verbose_name=_("main user"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["name"]
        indexes = [models.Index(fields=["email"], name="customer_email")]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        self.country = (self.country or "").upper()
        if self.vat_id and self.kind != self.Kind.COMPANY:
            raise ValidationError({"vat_id": _("Only companies have a VAT id.")})


class Activity(models.Model):
    """The customer's history for staff: what happened, to which subscription, by whom.
    Append-only."""

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="activities", verbose_name=_("customer")
    )
    subscription = models.ForeignKey(
        "subscriptions.Subscription",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="activities",
        verbose_name=_("subscription"),
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    verb = models.CharField(_("what"), max_length=64)
    message = models.TextField(_("details"), blank=True)
    created_at = models.DateTimeField(_("when"), auto_now_add=True)

    class Meta:
        verbose_name = _("activity")
        verbose_name_plural = _("activity history")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.verb}"
