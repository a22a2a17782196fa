"""Bundles (the smallest thing a customer can buy) and plans (what customers subscribe
to), with the rules over their rows (SPEC §1)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from .base import (
    CatalogModel,
    PaymentMethod,
    Status,
    ValidityMixin,
    check_parts_active,
    validity_constraint,
)
from .products import Discount, Product
from .terms import Term


class Bundle(ValidityMixin, CatalogModel):
    """The smallest thing a customer can buy on its own: products (required or optional)
    and discounts. Bought as part of a plan or as an add-on."""

    term = models.ForeignKey(
        Term,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="bundles",
        verbose_name=_("term"),
    )
    products = models.ManyToManyField(
        Product, through="BundleItem", related_name="bundles", verbose_name=_("products")
    )
    discounts = models.ManyToManyField(
        Discount, blank=True, related_name="bundles", verbose_name=_("discounts")
    )

    class Meta(CatalogModel.Meta):
        verbose_name = _("bundle")
        verbose_name_plural = _("bundles")
        constraints = [validity_constraint("bundle")]

    def clean(self) -> None:
        super().clean()
        errors: dict = {}
        self.check_validity(errors)
        self.check_active_parts(errors, "term")
        if errors:
            raise ValidationError(errors)

    def validate_contents(self) -> None:
        validate_bundle_contents(
            products=[item.product for item in self.items.select_related("product")],
            discounts=list(self.discounts.all()),
            active=self.status == Status.ACTIVE,
        )


class BundleItem(models.Model):
    """A product in a bundle. Optional products are chosen (or not) by the buyer."""

    bundle = models.ForeignKey(Bundle, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, related_name="bundle_items", verbose_name=_("product")
    )
    required = models.BooleanField(
        _("required"),
        default=True,
        help_text=_("Required products are always included; optional ones the buyer chooses."),
    )

    class Meta:
        verbose_name = _("bundle item")
        verbose_name_plural = _("bundle items")
        ordering = ["-required", "product__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["bundle", "product"],
                name="bundle_item_product_once",
                violation_error_message=_("This product is already in the bundle."),
            )
        ]

    def __str__(self) -> str:
        kind = _("required") if self.required else _("optional")
        return f"{self.product.name} ({kind})"


class Plan(ValidityMixin, CatalogModel):
    """The top object a customer subscribes to: one or more bundles, plus add-ons."""

    term = models.ForeignKey(
        Term,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="plans",
        verbose_name=_("term"),
    )
    bundles = models.ManyToManyField(
        Bundle, through="PlanBundle", related_name="plans", verbose_name=_("bundles")
    )
    compatible_bundles = models.ManyToManyField(
        Bundle,
        blank=True,
        related_name="compatible_plans",
        verbose_name=_("compatible add-on bundles"),
    )
    compatible_bundles_only = models.BooleanField(
        _("compatible bundles only"),
        default=False,
        help_text=_("When on, only the compatible bundles listed can be added to this plan."),
    )
    payment_methods = models.JSONField(
        _("supported payment methods"),
        default=list,
        blank=True,
        help_text=_("Empty means every payment method the merchant accepts."),
    )

    class Meta(CatalogModel.Meta):
        verbose_name = _("plan")
        verbose_name_plural = _("plans")
        constraints = [validity_constraint("plan")]

    def clean(self) -> None:
        super().clean()
        errors: dict = {}
        self.check_validity(errors)
        self.check_active_parts(errors, "term")
        valid = set(PaymentMethod.values)
        if not isinstance(self.payment_methods, list) or not set(self.payment_methods) <= valid:
            errors["payment_methods"] = _("Choose payment methods from: %(choices)s.") % {
                "choices": ", ".join(PaymentMethod.values)
            }
        else:
            self.payment_methods = [m for m in PaymentMethod.values if m in self.payment_methods]
        if errors:
            raise ValidationError(errors)

    def validate_contents(self) -> None:
        validate_plan_bundles(
            bundles=[row.bundle for row in self.plan_bundles.select_related("bundle")],
            compatible=list(self.compatible_bundles.all()),
            active=self.status == Status.ACTIVE,
        )

    def supports(self, payment_method: str) -> bool:
        return not self.payment_methods or payment_method in self.payment_methods

    @property
    def is_sellable(self) -> bool:
        return self.status == Status.ACTIVE


class PlanBundle(models.Model):
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="plan_bundles")
    bundle = models.ForeignKey(
        Bundle, on_delete=models.PROTECT, related_name="plan_bundles", verbose_name=_("bundle")
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("plan bundle")
        verbose_name_plural = _("plan bundles")
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "bundle"],
                name="plan_bundle_once",
                violation_error_message=_("This bundle is already in the plan."),
            )
        ]

    def __str__(self) -> str:
        return str(self.bundle)


def validate_bundle_contents(
    *, products: list[Product], discounts: list[Discount], active: bool = False
) -> None:
    """A bundle holds at least one product or discount, each product once; an active
    bundle only active ones."""
    if not products and not discounts:
        raise ValidationError(
            _("A bundle needs at least one product or discount."), code="empty_bundle"
        )
    ids = [p.pk for p in products]
    if len(set(ids)) != len(ids):
        raise ValidationError(_("A product appears twice in the bundle."), code="product_twice")
    if active:
        check_parts_active([*products, *discounts])


def validate_plan_bundles(
    *, bundles: list[Bundle], compatible: list[Bundle], active: bool = False
) -> None:
    """A plan has at least one bundle; an included bundle is not also an add-on; an active
    plan includes only active bundles (archived add-ons are simply no longer offered)."""
    if not bundles:
        raise ValidationError(_("A plan needs at least one bundle."), code="no_bundles")
    ids = [b.pk for b in bundles]
    if len(set(ids)) != len(ids):
        raise ValidationError(_("A bundle appears twice in the plan."), code="bundle_twice")
    both = sorted(b.code for b in bundles if b in set(compatible))
    if both:
        raise ValidationError(
            _("%(codes)s is already in the plan, so it cannot also be an add-on."),
            params={"codes": ", ".join(both)},
            code="bundle_and_addon",
        )
    if active:
        check_parts_active(bundles)
