"""Offers: what is sold, at which price and interval (SPEC §1)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models, transaction
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .base import (
    CatalogModel,
    PeriodUnit,
    ValidityMixin,
    amount_field,
    check_amount_precision,
    currency_field,
    validity_constraint,
)
from .bundles import Plan
from .products import Product
from .terms import Term


class Offer(ValidityMixin, CatalogModel):
    """A price for a product or plan. Multi-user when `user_count` > 0.

    What was sold is never changed afterwards: a subscription keeps the price, terms and
    user count it was bought with, so editing an offer affects only future purchases.
    The user count may rise but never fall, as the seeds demand.
    """

    class Kind(models.TextChoices):
        SINGLE_PRODUCT = "single_product", _("Single product")
        SIMPLE_SUBSCRIPTION = "simple_subscription", _("Simple time-based subscription")
        COMPLEX_SUBSCRIPTION = "complex_subscription", _("Complex time-based subscription")

    kind = models.CharField(_("type"), max_length=24, choices=Kind.choices)
    product = models.ForeignKey(
        Product,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="offers",
        verbose_name=_("product"),
        help_text=_("For single products and simple time-based subscriptions."),
    )
    plan = models.ForeignKey(
        Plan,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="offers",
        verbose_name=_("plan"),
        help_text=_("For complex time-based subscriptions."),
    )
    term = models.ForeignKey(
        Term,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="offers",
        verbose_name=_("term"),
        help_text=_("Overrides the plan's term when set."),
    )
    price_amount = amount_field(_("price"))
    currency = currency_field()
    billing_interval_count = models.PositiveSmallIntegerField(
        _("billing interval"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text=_(
            "Bill every N of the unit below; empty for a single product (one-time purchase)."
        ),
    )
    billing_interval_unit = models.CharField(
        _("billing interval unit"), max_length=10, choices=PeriodUnit.choices, blank=True
    )
    user_count = models.PositiveIntegerField(
        _("user count"),
        default=0,
        help_text=_(
            "Additional users besides the main user: for 5 accesses in total, enter 4. 0 = a "
            "single-user offer. Can be raised after saving, never lowered."
        ),
    )
    invitation_url = models.URLField(
        _("invitation URL"),
        blank=True,
        help_text=_(
            "Landing page outside Kontor where invitees redeem their code; the invitation "
            "e-mail links to it with the code as a parameter. Empty: Kontor's /join/ page."
        ),
    )

    class Meta(CatalogModel.Meta):
        verbose_name = _("offer")
        verbose_name_plural = _("offers")
        # In a CHECK, a comparison with NULL is unknown and passes: every compared column
        # that may be NULL is also required to be NOT NULL.
        constraints = [
            validity_constraint("offer"),
            models.CheckConstraint(
                condition=Q(
                    kind="single_product",
                    product__isnull=False,
                    plan__isnull=True,
                    billing_interval_count__isnull=True,
                    billing_interval_unit="",
                )
                | Q(
                    kind="simple_subscription",
                    product__isnull=False,
                    plan__isnull=True,
                    billing_interval_count__isnull=False,
                    billing_interval_count__gte=1,
                )
                & ~Q(billing_interval_unit="")
                | Q(
                    kind="complex_subscription",
                    product__isnull=True,
                    plan__isnull=False,
                    billing_interval_count__isnull=False,
                    billing_interval_count__gte=1,
                )
                & ~Q(billing_interval_unit=""),
                name="offer_kind_shape",
                violation_error_message=_(
                    "Single products need a product and no interval; simple subscriptions a "
                    "product and an interval; complex subscriptions a plan and an interval."
                ),
            ),
            models.CheckConstraint(
                condition=Q(user_count__gt=0) | Q(invitation_url=""),
                name="offer_invitation_url_only_multi_user",
                violation_error_message=_("Only multi-user offers have an invitation URL."),
            ),
        ]

    @property
    def is_multi_user(self) -> bool:
        return self.user_count > 0

    @property
    def is_recurring(self) -> bool:
        return self.kind != self.Kind.SINGLE_PRODUCT

    @property
    def effective_term(self) -> Term | None:
        return self.term or (self.plan.term if self.plan_id else None)

    def clean(self) -> None:
        super().clean()
        errors: dict = {}
        self.check_validity(errors)
        self._check_shape(errors)
        self._check_user_count(errors)
        self._check_term_basis(errors)
        check_amount_precision(errors, "price_amount", self.price_amount, self.currency)
        self.check_active_parts(errors, "product", "plan", "term")
        self._check_code_not_taken_by_corporate_offer(errors)
        if errors:
            raise ValidationError(errors)

    def _check_shape(self, errors: dict) -> None:
        needs_plan = self.kind == self.Kind.COMPLEX_SUBSCRIPTION
        if needs_plan:
            if not self.plan_id:
                errors["plan"] = _("A complex time-based subscription sells a plan.")
            if self.product_id:
                errors["product"] = _("A complex subscription sells a plan, not a product.")
        elif self.kind:
            if not self.product_id:
                errors["product"] = _("Choose the product this offer sells.")
            if self.plan_id:
                errors["plan"] = _("Only complex time-based subscriptions sell a plan.")
        if self.kind == self.Kind.SINGLE_PRODUCT:
            if self.billing_interval_count or self.billing_interval_unit:
                errors["billing_interval_count"] = _(
                    "A single product is a one-time purchase; leave the interval empty."
                )
        elif self.kind:
            if not self.billing_interval_count:
                errors["billing_interval_count"] = _("A subscription needs a billing interval.")
            if not self.billing_interval_unit:
                errors["billing_interval_unit"] = _("Choose the billing interval's unit.")

    def _check_term_basis(self, errors: dict) -> None:
        # A one-time purchase has no billing interval, so a commitment counted in billing
        # cycles has no end date (the purchase would fail); only calendar terms fit.
        term = self.term if self.term_id else None
        if (
            self.kind == self.Kind.SINGLE_PRODUCT
            and term is not None
            and term.commitment_basis == term.Basis.BILLING_CYCLES
        ):
            errors["term"] = _("A one-time purchase has no billing cycles; use a calendar term.")

    def _check_user_count(self, errors: dict) -> None:
        stored = self._current_user_count()
        if stored is not None and self.user_count < stored:
            errors["user_count"] = _(
                "The user count can be raised but never lowered (it was %(stored)d): "
                "customers may have bought it. Create a new offer instead."
            ) % {"stored": stored}
        if self.invitation_url and not self.is_multi_user:
            errors["invitation_url"] = _(
                "Only multi-user offers (user count above 0) have an invitation URL."
            )

    def _current_user_count(self) -> int | None:
        """The count in the database now, not as loaded: two staff editing one offer
        must not lower it between them. Inside a transaction (the admin saves in one)
        the row stays locked until the save commits."""
        if self.pk is None:
            return None
        rows = Offer.objects.filter(pk=self.pk)
        if transaction.get_connection().in_atomic_block:
            rows = rows.select_for_update()
        return rows.values_list("user_count", flat=True).first()

    def _check_code_not_taken_by_corporate_offer(self, errors: dict) -> None:
        # Offer and corporate offer codes share one namespace (checkout URLs, the API).
        from .corporate import CorporateOffer

        if self.code and CorporateOffer.objects.filter(code=self.code).exists():
            errors["code"] = _("A corporate offer with this code exists; offer codes are shared.")
