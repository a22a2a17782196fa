"""Which models the audit log records, and which of their fields it never shows.

Models are named by label so this bottom app imports none of Kontor's apps. Every
field whose name says it holds a secret (password, secret, token, hash, key, OTP, card
data, signature, session) is left out of every entry, on these models and on any
field added later under such a name; the explicit `exclude_fields` add noise-only
fields (a login's `last_login`, an API call's `last_used_at`). Fields naming an IBAN
are kept but masked to their last four characters.
"""

from __future__ import annotations

import re
from typing import Any

from auditlog.registry import auditlog
from django.apps import apps
from django.db.models import Model

# Customers, subscriptions, seats, invoices, coupons, and the settings staff edit.
AUDITED: dict[str, dict[str, Any]] = {
    "subscriptions.Customer": {},
    "subscriptions.User": {"exclude_fields": ["last_login"]},
    "subscriptions.Subscription": {},
    "subscriptions.SubscriptionItem": {},
    "subscriptions.Charge": {},
    "subscriptions.PaymentMethod": {},
    "seats.SeatAccount": {},
    "seats.UserSubscription": {},
    "seats.Invitation": {},
    "seats.EmailDomain": {},
    "seats.IPRange": {},
    "billing.Invoice": {},
    "billing.Payment": {},
    "billing.BillingHold": {},
    "billing.DunningPolicy": {},
    "billing.NumberSeries": {},
    "coupons.Campaign": {},
    "coupons.Code": {},
    "notifications.MailTemplate": {},
    "notifications.CallbackEndpoint": {},
    "api.ApiKey": {"exclude_fields": ["last_used_at"]},
    "catalog.Product": {},
    "catalog.Discount": {},
    "catalog.Term": {},
    "catalog.Bundle": {},
    "catalog.BundleItem": {},
    "catalog.Plan": {},
    "catalog.PlanBundle": {},
    "catalog.Offer": {},
    "catalog.CorporateContract": {},
    "catalog.ContractTier": {},
    "catalog.CorporateOffer": {},
    "catalog.CorporateOfferContract": {},
}

# A name part that marks a secret; `secret_rotated_at` (a time) is not one.
SECRET_NAME = re.compile(
    r"(^|_)(password|secret|token|hash|hashed|key|otp|totp|card|pan|cvc|cvv|signature"
    r"|session)(_|$)"
)
TIME_SUFFIX = ("_at", "_on", "_date")
MASKED_NAME = re.compile(r"iban")
MASK_CALLABLE = "audit.masking.mask_all_but_last_four"


def is_secret_field(name: str) -> bool:
    return bool(SECRET_NAME.search(name)) and not name.endswith(TIME_SUFFIX)


def secret_fields(model: type[Model]) -> list[str]:
    return [field.name for field in model._meta.concrete_fields if is_secret_field(field.name)]


def masked_fields(model: type[Model]) -> list[str]:
    return [field.name for field in model._meta.concrete_fields if MASKED_NAME.search(field.name)]


def excluded_fields(model: type[Model]) -> set[str]:
    """Every field no entry about `model` may carry (registry, settings and pattern)."""
    options = AUDITED.get(model._meta.label, {})
    return {
        *options.get("exclude_fields", ()),
        *secret_fields(model),
    }


def register_audited_models() -> None:
    """Register with the model's own columns only: django-auditlog otherwise reads every
    relation of a new object, and reading a missing reverse one-to-one (a subscription's
    `seat_account`) caches "none" on the instance the caller still holds."""
    for label in AUDITED:
        model = apps.get_model(label)
        excluded = excluded_fields(model)
        auditlog.register(
            model,
            include_fields=[f.name for f in model._meta.concrete_fields if f.name not in excluded],
            exclude_fields=sorted(excluded),
            mask_fields=masked_fields(model),
            mask_callable=MASK_CALLABLE,
        )
