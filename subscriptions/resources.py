"""Bulk import of subscriptions (django-import-export): a CSV of people
(email, first_name, last_name, language) onto one offer chosen on the import form.

Each row matches or creates the person's customer account by e-mail
(`customer_for_email`) and buys the offer for it through `subscription_purchase`, the
same service as the portal and the admin (free offers need no payment method; paid ones
are paid by invoice). A person who already has a running subscription to the offer is
skipped, so importing a file twice creates nothing the second time.

Every row is checked in the dry run (import-export's confirm step runs the whole import
in a transaction it rolls back), so staff see each row error with its row number before
anything is written; a confirmed import with any error is rolled back whole.

Row by row, not import-export's bulk mode: each row runs the purchase service (locks,
items, an event), which bulk_create would bypass. Correctness first; the diff preview is
kept because it is what staff check in the dry run.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _
from import_export import fields, resources

from catalog.models import Offer
from subscriptions.exceptions import PurchaseRefused
from subscriptions.models import Subscription, normalize_email
from subscriptions.services.customers import customer_for_email
from subscriptions.services.purchase import INVOICE, subscription_purchase

COLUMNS = ("email", "first_name", "last_name", "language")
RUNNING = (Subscription.Status.ACTIVE, Subscription.Status.CANCELLED)


class SubscriptionImportResource(resources.ModelResource):
    # What the dry run's preview shows per row (set on the row's instance below).
    email = fields.Field(column_name="email", attribute="_email", readonly=True)
    customer = fields.Field(column_name="customer", attribute="customer__name", readonly=True)
    account = fields.Field(column_name="account", attribute="_account", readonly=True)
    offer_code = fields.Field(column_name="offer", attribute="offer__code", readonly=True)

    class Meta:
        model = Subscription
        fields = ("email", "customer", "account", "offer_code")
        import_id_fields = ()
        use_transactions = True
        report_skipped = True

    def __init__(self, offer: Offer | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.offer = offer
        self._first_row: dict[str, int] = {}

    def get_user_visible_fields(self) -> list[fields.Field]:
        # The import page lists these as the file's columns (the declared fields above
        # are the preview's).
        return [fields.Field(column_name=column) for column in COLUMNS]

    def get_instance(self, instance_loader, row):
        return None  # every row is a purchase; existing ones are skipped in skip_row

    def before_import(self, dataset, **kwargs) -> None:
        if self.offer is None:
            raise ValidationError(_("Choose the offer to import onto."))
        missing = [c for c in ("email",) if c not in (dataset.headers or [])]
        if missing:
            raise ValidationError(
                _("The file needs an %(column)s column (also read: %(columns)s).")
                % {"column": "email", "columns": ", ".join(c for c in COLUMNS if c != "email")}
            )
        self._first_row = {}

    def import_instance(self, instance: Subscription, row, **kwargs) -> None:
        """Check the row's values; every problem of the row is reported at once."""
        errors: dict[str, str] = {}
        email = normalize_email(str(row.get("email") or ""))
        try:
            validate_email(email)
        except ValidationError:
            errors["email"] = _("%(value)s is not a valid e-mail address.") % {
                "value": row.get("email") or _("(empty)")
            }
        else:
            first = self._first_row.setdefault(email, kwargs["row_number"])
            if first != kwargs["row_number"]:
                errors["email"] = _(
                    "%(email)s appears more than once in the file (first in row %(row)d)."
                ) % {
                    "email": email,
                    "row": first,
                }
        language = str(row.get("language") or "").strip().lower() or settings.LANGUAGE_CODE
        if language not in dict(settings.LANGUAGES):
            errors["language"] = _("Unknown language %(value)s: use one of %(codes)s.") % {
                "value": row.get("language"),
                "codes": ", ".join(dict(settings.LANGUAGES)),
            }
        instance._email = email
        if errors:
            raise ValidationError(errors)
        instance._person = {
            "email": email,
            "first_name": str(row.get("first_name") or "").strip(),
            "last_name": str(row.get("last_name") or "").strip(),
            "language": language,
        }

    def skip_row(self, instance, original, row, import_validation_errors=None) -> bool:
        if import_validation_errors:
            return False
        email = instance._person["email"]
        return (
            Subscription.objects.filter(
                offer=self.offer, status__in=RUNNING, customer__users__email__iexact=email
            ).exists()
            or Subscription.objects.filter(
                offer=self.offer, status__in=RUNNING, customer__email__iexact=email
            ).exists()
        )

    def save_instance(self, instance: Subscription, is_create, row, **kwargs) -> None:
        customer, created = customer_for_email(**instance._person)
        try:
            subscription = subscription_purchase(
                customer=customer,
                offer=self.offer,
                payment_method=INVOICE if self.offer.price_amount else None,
                actor=kwargs.get("user"),
            )
        except PurchaseRefused as refusal:
            raise ValidationError({refusal.field or "offer": str(refusal)}) from refusal
        # The row's result shows the subscription the service made (import-export
        # reports on the instance it handed in).
        instance.__dict__.update(subscription.__dict__)
        instance._account = _("new account") if created else _("existing account")
